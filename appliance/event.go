package appliance

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Event field names of the stored document (INTERFACE.md "Stored shapes").
const (
	FieldID        = "id"
	FieldTenant    = "tenant"
	FieldSource    = "source"
	FieldTimestamp = "@timestamp"
	FieldReceived  = "received"
	FieldOriginal  = "original"
)

// IndexedFields are the normalised fields that get a secondary index, so a
// query on them does not scan. The order is part of the storage format only
// through the names, so adding a field is safe; removing one needs a reindex.
var IndexedFields = []string{
	"source",
	"event.action",
	"event.outcome",
	"event.code",
	"event.category",
	"source.ip",
	"source.port",
	"destination.ip",
	"destination.port",
	"user.name",
	"host.name",
	"process.executable",
	"process.command_line",
}

// IsIndexed reports whether field has a secondary index.
func IsIndexed(field string) bool {
	for _, f := range IndexedFields {
		if f == field {
			return true
		}
	}
	return false
}

// MaxIndexedValue is the longest value kept in an index key; longer values are
// indexed by this prefix and checked against the document.
const MaxIndexedValue = 200

// Term is one (field, value) pair to index; Value is already normalised
// (lower-cased, truncated to MaxIndexedValue).
type Term struct {
	Field string
	Value string
}

// Event is one stored event, ready to be written: Doc is the JSON document
// returned by the API and Terms the index entries derived from it.
type Event struct {
	ID        EventID
	Timestamp time.Time
	Doc       json.RawMessage
	Terms     []Term
}

// EventID identifies an event within its tenant. Its first 8 bytes are the
// event time (Unix nanoseconds, big-endian) so that IDs sort by time and the
// storage key can be derived from the ID alone; the last 8 bytes are a hash of
// the batch and line, which makes IDs deterministic across retries and replays.
type EventID [16]byte

func (id EventID) String() string { return hex.EncodeToString(id[:]) }

// ParseEventID parses the hex form produced by String.
func ParseEventID(s string) (EventID, error) {
	var id EventID
	if len(s) != 32 {
		return id, Errorf(EINVALID, "event id %q: want 32 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, Errorf(EINVALID, "event id %q: not hex", s)
	}
	return id, nil
}

// Time returns the event time encoded in the ID.
func (id EventID) Time() time.Time {
	var ns int64
	for _, b := range id[:8] {
		ns = ns<<8 | int64(b)
	}
	return time.Unix(0, ns).UTC()
}

// NewEventID builds an ID from the event time and a discriminating hash.
func NewEventID(ts time.Time, hash uint64) EventID {
	var id EventID
	ns := uint64(ts.UnixNano())
	for i := 7; i >= 0; i-- {
		id[i] = byte(ns)
		ns >>= 8
	}
	for i := 15; i >= 8; i-- {
		id[i] = byte(hash)
		hash >>= 8
	}
	return id
}

// IndexValue normalises a value as index keys hold it: lower case, no NUL
// (the key separator), at most MaxIndexedValue bytes. Ingest applies it to
// Terms and the query planner to looked-up values, so both agree.
func IndexValue(v string) string {
	// Lowered first: a NUL removed first could join the bytes around it
	// into a character that lowering would otherwise have replaced.
	v = ToLower(v)
	if strings.IndexByte(v, 0) >= 0 {
		v = strings.ReplaceAll(v, "\x00", "")
	}
	if len(v) > MaxIndexedValue {
		n := MaxIndexedValue
		for n > 0 && !utf8.RuneStart(v[n]) { // never cut a character in two
			n--
		}
		v = v[:n]
	}
	return v
}

// AppendIndexValues appends the index values of a stored field value, as
// ingest writes its terms: a scalar's, or each element's of a (nested)
// array. Readers that count from documents use it to agree with the
// postings.
func AppendIndexValues(dst []string, v any) []string {
	if list, ok := v.([]any); ok {
		for _, e := range list {
			dst = AppendIndexValues(dst, e)
		}
		return dst
	}
	return append(dst, IndexValue(IndexText(v)))
}

// IndexText is the text form of a stored scalar, as indexes and the query
// language compare it (IndexValue then folds it).
func IndexText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		var b [32]byte
		return string(AppendFloat(b[:0], v))
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// AppendFloat writes v as strconv.FormatFloat(v, 'f', -1, 64) does, with a
// fast path for the integers most numeric fields hold (ports, codes, pids).
func AppendFloat(buf []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 && (v != 0 || !math.Signbit(v)) {
		return strconv.AppendInt(buf, int64(v), 10)
	}
	return strconv.AppendFloat(buf, v, 'f', -1, 64)
}

// ToLower is strings.ToLower, several times faster on ASCII text that has
// capitals (Windows names, hashes, hosts), which strings.ToLower builds a
// byte at a time; s itself when it has none. It reads and writes eight
// bytes at a time while the text is ASCII.
func ToLower(s string) string {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if x := load8(s, i); x&asciiHighs != 0 || asciiUpper(x) != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			break
		}
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, len(s))
	copy(b, s[:i])
	for ; i+8 <= len(s); i += 8 {
		x := load8(s, i)
		if x&asciiHighs != 0 {
			return strings.ToLower(s)
		}
		x |= asciiUpper(x) >> 2 // 0x80 >> 2 is 'a' - 'A'
		binary.LittleEndian.PutUint64(b[i:], x)
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return unsafe.String(&b[0], len(b)) // b is never written again
}

const (
	asciiOnes  = 0x0101010101010101
	asciiHighs = 0x8080808080808080
)

// load8 is s[i:i+8] as a little-endian word.
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// asciiUpper sets the high bit of each byte of x, all ASCII, that is a
// capital: adding 0x3F reaches 0x80 from 'A' up, adding 0x25 from 'Z'+1
// up, and no byte below 0x80 carries into the next.
func asciiUpper(x uint64) uint64 {
	return (x + 0x3F*asciiOnes) &^ (x + 0x25*asciiOnes) & asciiHighs
}
