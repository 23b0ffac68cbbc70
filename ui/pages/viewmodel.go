package pages

// Chrome is what every signed-in page shows around its content. With User ""
// (not signed in) the layout shows neither navigation nor logout.
type Chrome struct {
	User, Tenant, CSRF string
	Current            string // the nav item of this page: "events"
	Path               string // this page's path and query, where the theme form returns to
	Theme              string // "light", "dark", or "" to follow the system
}

// LoginVM is the sign-in form. Next is where to go after signing in; Error is
// shown above the form.
type LoginVM struct{ Error, Username, CSRF, Next, Theme string }

// EventsVM is the event search page.
type EventsVM struct {
	Chrome          Chrome
	Query, From, To string // echo the form as the user typed it
	Error           string // e.g. a query syntax error, shown by the search box
	Rows            []EventRow
	NextURL         string // the next (older) page; "" when none
	Indexed         bool   // the query used an index
	Scanned         int    // documents read to answer it
	Empty           EmptyState
	Facets          []Facet // top values of indexed fields
	FacetScope      string  // what the facets count, e.g. "in the time range"
}

// Facet is the most frequent values of one field; each links to the search
// narrowed to it.
type Facet struct {
	Field  string
	Values []TopRow
}

// EventRow is one line of the results table; build it with EventRowFromDoc.
type EventRow struct {
	ID, Time, Source, Action, Outcome, SourceIP, User, Host, Message string
	DetailURL                                                        string
}

// EmptyState is shown when a search has no rows and no error. Curl is a
// ready-to-copy example command, shown verbatim.
type EmptyState struct{ Title, Body, Curl string }

// EventDetailVM is one event; build it with EventDetailFromDoc.
type EventDetailVM struct {
	Chrome   Chrome
	ID       string
	Fields   []Field
	Original string
	BackURL  string
}

// Field is one normalised field of an event.
type Field struct{ Name, Value string }

// ErrorVM is an error page. Chrome.User may be "" when not signed in.
type ErrorVM struct {
	Chrome         Chrome
	Status         int
	Title, Message string
}
