package ui

import (
	"strconv"
	"testing"
)

func TestPageOf(t *testing.T) {
	link := func(p int) string { return "/x?page=" + strconv.Itoa(p) }
	for _, tc := range []struct {
		total, per int
		asked      string
		want       listPage
	}{
		{0, 50, "", listPage{0, 0, "page 1 of 1", "", ""}},
		{50, 50, "", listPage{0, 50, "page 1 of 1", "", ""}},
		{51, 50, "", listPage{0, 50, "page 1 of 2", "", "/x?page=2"}},
		{51, 50, "2", listPage{50, 51, "page 2 of 2", "/x?page=1", ""}},
		{120, 50, "2", listPage{50, 100, "page 2 of 3", "/x?page=1", "/x?page=3"}},
		{120, 50, "9", listPage{100, 120, "page 3 of 3", "/x?page=2", ""}},                    // past the end: the last page
		{120, 50, "-3", listPage{0, 50, "page 1 of 3", "", "/x?page=2"}},                      // below 1: the first
		{120, 50, "two", listPage{0, 50, "page 1 of 3", "", "/x?page=2"}},                     // not a number: the first
		{120, 50, "99999999999999999999", listPage{100, 120, "page 3 of 3", "/x?page=2", ""}}, // overflow: the last
	} {
		if got := pageOf(tc.total, tc.per, tc.asked, link); got != tc.want {
			t.Errorf("pageOf(%d, %d, %q) = %+v, want %+v", tc.total, tc.per, tc.asked, got, tc.want)
		}
	}
}
