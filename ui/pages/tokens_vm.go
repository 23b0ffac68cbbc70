package pages

// TokensVM is the ingest and API tokens page.
type TokensVM struct {
	Chrome   Chrome
	Tokens   []TokenRow // one page of them
	Total    string     // how many there are
	Page     string     // "page 1 of 3"
	PrevURL  string
	NextURL  string
	NewToken *NewToken // the token just created, shown this once
	Notice   string    // e.g. that a token was revoked
	Error    string    // why the last action failed
	Form     TokenForm // the create form as submitted
	Roles    []string  // the roles an api token may get
}

// TokenRow is a stored token. ID is the hex SHA-256 of its secret, which
// the revoke form posts; Short is its first characters, for people.
type TokenRow struct {
	Name, Scope, Role, Created, ID, Short string
}

// TokenForm echoes the create form.
type TokenForm struct{ Name, Scope, Role string }

// NewToken is a created token's secret and how to use it.
type NewToken struct{ Name, Secret, Scope, Curl string }
