package pages

import (
	"net/http"
	"strconv"
)

// navItem is one entry of the main navigation; Key matches Chrome.Current.
type navItem struct{ Key, Label, Href string }

// navItems lists the signed-in pages in nav order; add new pages here.
var navItems = []navItem{
	{Key: "dashboard", Label: "Dashboard", Href: "/dashboard"},
	{Key: "incidents", Label: "Incidents", Href: "/incidents"},
	{Key: "alerts", Label: "Alerts", Href: "/alerts"},
	{Key: "events", Label: "Events", Href: "/events"},
	{Key: "rules", Label: "Rules", Href: "/rules"},
	{Key: "attack", Label: "ATT&CK", Href: "/attack"},
	{Key: "tokens", Label: "Tokens", Href: "/tokens"},
	{Key: "cluster", Label: "Cluster", Href: "/cluster"},
	{Key: "backups", Label: "Backups", Href: "/backups"},
}

// themeOption is one button of the theme form; Value "" follows the system.
type themeOption struct{ Value, Label string }

var themes = []themeOption{{"", "Auto"}, {"light", "Light"}, {"dark", "Dark"}}

// Themes are the values the theme form may post.
var Themes = []string{"", "light", "dark"}

// searchMeta says how a search ran: "indexed search, 100 candidates read" or
// "full scan, 1,234 events read".
func searchMeta(indexed bool, scanned int) string {
	noun := "event"
	kind := "full scan"
	if indexed {
		noun, kind = "candidate", "indexed search"
	}
	if scanned != 1 {
		noun += "s"
	}
	return kind + ", " + thousands(scanned) + " " + noun + " read"
}

// Thousands formats n with comma separators: 1234567 is "1,234,567".
func Thousands(n int) string { return thousands(n) }

// thousands formats n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// timeLabel is the text of the link to an event's detail page.
func timeLabel(r EventRow) string {
	if r.Time != "" {
		return r.Time
	}
	return "Event " + r.ID
}

// errorTitle is the page's title, or the status text when it has none.
func errorTitle(vm ErrorVM) string {
	if vm.Title != "" {
		return vm.Title
	}
	if t := http.StatusText(vm.Status); t != "" {
		return t
	}
	return "Error"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// prefixed is prefix+s, or "" when s is empty.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
