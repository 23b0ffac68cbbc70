package ui

import (
	"fmt"
	"strconv"
)

// listPage is one page of a list (tokens and an import's refusals, held
// whole; the rules, which the store pages): the rows [lo, hi) and the
// links around them.
type listPage struct {
	lo, hi     int
	label      string // "page 2 of 5"
	prev, next string // "" at either end
}

// pageOf cuts the page asked for (a 1-based number as typed in the query
// string; anything else is page 1, past the end is the last page) out of
// total rows, perPage at a time; link makes a page's URL.
func pageOf(total, perPage int, asked string, link func(page int) string) listPage {
	pages := max((total+perPage-1)/perPage, 1)
	n, _ := strconv.Atoi(asked)
	n = min(max(n, 1), pages)
	p := listPage{lo: (n - 1) * perPage, hi: min(n*perPage, total), label: fmt.Sprintf("page %d of %d", n, pages)}
	if n > 1 {
		p.prev = link(n - 1)
	}
	if n < pages {
		p.next = link(n + 1)
	}
	return p
}
