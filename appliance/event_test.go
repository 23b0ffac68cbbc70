package appliance_test

import (
	"bytes"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/minixdr/xdr/appliance"
)

var t0 = time.Date(2024, 3, 1, 9, 30, 15, 123456789, time.UTC)

func TestEventIDStringParseRoundTrip(t *testing.T) {
	ids := []appliance.EventID{
		{},
		appliance.NewEventID(t0, 0x0123456789abcdef),
		appliance.NewEventID(time.Unix(0, 1), 1),
		appliance.NewEventID(time.Date(2261, 12, 31, 23, 59, 59, 999999999, time.UTC), ^uint64(0)),
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for _, id := range ids {
		s := id.String()
		if len(s) != 32 || strings.ToLower(s) != s {
			t.Fatalf("String() = %q: want 32 lower-case hex digits", s)
		}
		got, err := appliance.ParseEventID(s)
		if err != nil {
			t.Fatalf("ParseEventID(%q): %v", s, err)
		}
		if got != id {
			t.Fatalf("round trip of %x gave %x", id, got)
		}
		// Upper-case hex is the same ID.
		if up, err := appliance.ParseEventID(strings.ToUpper(s)); err != nil || up != id {
			t.Fatalf("ParseEventID(upper %q) = %x, %v", s, up, err)
		}
	}
}

func TestParseEventIDErrors(t *testing.T) {
	valid := appliance.NewEventID(t0, 42).String()
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "want 32 hex digits"},
		{"short", valid[:31], "want 32 hex digits"},
		{"long", valid + "0", "want 32 hex digits"},
		{"not hex", "zz" + valid[2:], "not hex"},
		{"space", " " + valid[1:], "not hex"},
		{"32 bytes of multi-byte runes", strings.Repeat("é", 16), "not hex"},
		{"uuid with dashes", "01234567-89ab-cdef-0123-456789abcdef", "want 32 hex digits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := appliance.ParseEventID(c.in)
			if err == nil {
				t.Fatalf("ParseEventID(%q) = %x, want an error", c.in, id)
			}
			if appliance.ErrorCode(err) != appliance.EINVALID {
				t.Fatalf("code %q, want %q", appliance.ErrorCode(err), appliance.EINVALID)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestEventIDTime(t *testing.T) {
	for _, ts := range []time.Time{
		t0,
		time.Unix(0, 0).UTC(),
		time.Unix(0, 1).UTC(),
		time.Date(2261, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 3, 1, 11, 30, 15, 5, time.FixedZone("CET", 3600)),
	} {
		id := appliance.NewEventID(ts, 0xdeadbeef)
		got := id.Time()
		if !got.Equal(ts) {
			t.Errorf("NewEventID(%v).Time() = %v", ts, got)
		}
		if got.Location() != time.UTC {
			t.Errorf("Time() of %v is in %v, want UTC", ts, got.Location())
		}
	}
}

func TestNewEventIDLayout(t *testing.T) {
	id := appliance.NewEventID(time.Unix(0, 0x0102030405060708), 0x1112131415161718)
	want := appliance.EventID{1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}
	if id != want {
		t.Fatalf("NewEventID = %x, want %x (time big-endian, then hash big-endian)", id, want)
	}
}

func TestNewEventIDSortsByTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type pair struct {
		ts time.Time
		id appliance.EventID
	}
	var pairs []pair
	for range 1000 {
		// Times spread over the whole supported range, with hashes that
		// would sort the other way if they counted first.
		ts := time.Unix(0, rng.Int64N(int64(290*365*24*time.Hour)))
		pairs = append(pairs, pair{ts, appliance.NewEventID(ts, rng.Uint64())})
	}
	sort.Slice(pairs, func(i, j int) bool { return bytes.Compare(pairs[i].id[:], pairs[j].id[:]) < 0 })
	for i := 1; i < len(pairs); i++ {
		if pairs[i].ts.Before(pairs[i-1].ts) {
			t.Fatalf("ID order puts %v after %v", pairs[i-1].ts, pairs[i].ts)
		}
	}
	// The string form sorts the same way (storage and cursors rely on it).
	a, b := appliance.NewEventID(t0, ^uint64(0)), appliance.NewEventID(t0.Add(time.Nanosecond), 0)
	if !(a.String() < b.String()) {
		t.Fatalf("%s does not sort before %s", a, b)
	}
	// Same time: the hash discriminates.
	if appliance.NewEventID(t0, 1) == appliance.NewEventID(t0, 2) {
		t.Fatal("different hashes gave the same ID")
	}
}

// refIndexValue is IndexValue's definition, without the fast path.
func refIndexValue(v string) string {
	v = strings.ReplaceAll(strings.ToLower(v), "\x00", "")
	if len(v) > appliance.MaxIndexedValue {
		v = v[:appliance.MaxIndexedValue]
	}
	return v
}

func TestIndexValue(t *testing.T) {
	a200 := strings.Repeat("a", appliance.MaxIndexedValue)
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"lower ascii unchanged", "root", "root"},
		{"upper ascii", "Administrator", "administrator"},
		{"digits and punctuation", "10.0.0.1:22/TCP", "10.0.0.1:22/tcp"},
		{"NUL removed", "ro\x00ot", "root"},
		{"NUL and upper", "R\x00OOT\x00", "root"},
		{"only NULs", "\x00\x00", ""},
		{"NUL inside invalid UTF-8", "\xc3\x00\xa9", "\uFFFD\uFFFD"},
		{"non-ascii lower-cased", "ÄRGER Straße", "ärger straße"},
		{"greek", "ΣΥΣΤΗΜΑ", "συστημα"},
		{"exactly the limit", a200, a200},
		{"ascii truncated", a200 + "bbb", a200},
		{"upper truncated after lowering", strings.Repeat("A", 250), a200},
		{"NULs removed before truncation", strings.Repeat("\x00", 50) + a200 + "b", a200},
		{"long windows path", `C:\WINDOWS\System32\` + strings.Repeat("X", 300), strings.ToLower(`C:\WINDOWS\System32\` + strings.Repeat("X", 300))[:200]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := appliance.IndexValue(c.in)
			if got != c.want {
				t.Fatalf("IndexValue(%q) = %q, want %q", c.in, got, c.want)
			}
			if len(got) > appliance.MaxIndexedValue {
				t.Fatalf("IndexValue returned %d bytes", len(got))
			}
			if strings.IndexByte(got, 0) >= 0 {
				t.Fatalf("IndexValue kept a NUL: %q", got)
			}
		})
	}
}

// TestIndexValueFastPathEqualsSlowPath checks the all-lower-case-ASCII fast
// path against the definition on every ASCII byte and on random strings.
func TestIndexValueFastPathEqualsSlowPath(t *testing.T) {
	for c := 0; c < 0x80; c++ {
		for _, s := range []string{
			string(rune(c)),
			"abc" + string(rune(c)) + "xyz",
			strings.Repeat("q", appliance.MaxIndexedValue-1) + string(rune(c)) + "tail",
			strings.Repeat("q", appliance.MaxIndexedValue) + string(rune(c)),
		} {
			if got, want := appliance.IndexValue(s), refIndexValue(s); got != want {
				t.Fatalf("IndexValue(%q) = %q, want %q", s, got, want)
			}
		}
	}
	alphabet := []byte("aZz09 .\x00\x7f\t-AQ_/\\\"")
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		b := make([]byte, rng.IntN(260))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := appliance.IndexValue(string(b)), refIndexValue(string(b)); got != want {
			t.Fatalf("IndexValue(%q) = %q, want %q", b, got, want)
		}
	}
}

// TestIndexValueTruncatesAtRuneBoundary: the planner applies IndexValue to
// looked-up values and ingest to stored ones, so a stored term fed back
// through IndexValue must be unchanged, and a valid UTF-8 value must stay
// valid UTF-8 in the key.
func TestIndexValueTruncatesAtRuneBoundary(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("a", appliance.MaxIndexedValue-1) + "é",    // 2-byte rune across the cut
		strings.Repeat("a", appliance.MaxIndexedValue-2) + "€x",   // 3-byte rune across the cut
		strings.Repeat("A", appliance.MaxIndexedValue-1) + "😀",    // 4-byte rune, slow path via upper case
		strings.Repeat("ü", appliance.MaxIndexedValue/2) + "ü",    // cut exactly on a boundary
		strings.Repeat("b", appliance.MaxIndexedValue-1) + "\xff", // invalid UTF-8 at the cut
	} {
		v := appliance.IndexValue(in)
		if again := appliance.IndexValue(v); again != v {
			t.Errorf("IndexValue is not idempotent on %q...: %q then %q", in[190:], v[190:], again[190:])
		}
		if utf8.ValidString(in) && !utf8.ValidString(v) {
			t.Errorf("IndexValue(%q...) = %q... is not valid UTF-8", in[190:], v[190:])
		}
	}
}

func TestIsIndexed(t *testing.T) {
	for _, f := range appliance.IndexedFields {
		if !appliance.IsIndexed(f) {
			t.Errorf("IsIndexed(%q) = false for a listed field", f)
		}
	}
	for _, f := range []string{"", "message", "User.Name", "user", "user.name ", "original.user.name", "@timestamp", "id"} {
		if appliance.IsIndexed(f) {
			t.Errorf("IsIndexed(%q) = true", f)
		}
	}
	if !appliance.IsIndexed(appliance.FieldSource) {
		t.Error("the source field is not indexed")
	}
}

// TestToLower checks ToLower against strings.ToLower on ASCII with and
// without capitals, text that turns non-ASCII midway, and invalid UTF-8.
func TestToLower(t *testing.T) {
	cases := []string{"", "a", "A", "root", "SHA1=AB12,MD5=CD34", "C:\\WINDOWS\\System32", "ABC\x00DEF",
		"ÄRGER", "abcDEFÄrger", "ROOT\xffX", "lower\xfe", "MiXeD ΣΥΣΤΗΜΑ tail"}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aAzZ09 .\\-\x00\x7f@[`{\x80\xc3\x84\xff")
	ascii := bytes.IndexByte(alphabet, 0x80) // the alphabet's ASCII part: whole words of it take the 8-byte path
	for n := range 4000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if n%2 == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = alphabet[r.IntN(ascii)]
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := appliance.ToLower(s), strings.ToLower(s); got != want {
			t.Fatalf("ToLower(%q) = %q, want %q", s, got, want)
		}
	}
}
