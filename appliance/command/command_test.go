package command_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
)

var t0 = time.Date(2024, 3, 1, 9, 30, 15, 123456789, time.UTC)

func event(i int, doc string, terms ...appliance.Term) appliance.Event {
	ts := t0.Add(time.Duration(i) * time.Millisecond)
	if terms == nil {
		terms = []appliance.Term{}
	}
	return appliance.Event{ID: appliance.NewEventID(ts, uint64(i)*0x9e3779b97f4a7c15), Timestamp: ts, Doc: json.RawMessage(doc), Terms: terms}
}

// commands has one or more instances of every command type.
func commands() map[string]command.Command {
	return map[string]command.Command{
		"IngestBatch": &command.IngestBatch{Tenant: "acme", Source: "json", BatchID: "0f1e2d3c", Events: []appliance.Event{
			event(0, `{"id":"x","message":"héllo \"quoted\"","n":1}`,
				appliance.Term{Field: "source", Value: "json"},
				appliance.Term{Field: "user.name", Value: "root"},
				appliance.Term{Field: "source.port", Value: "22"}),
			event(1, `{}`),
			event(2, `{"big":"`+strings.Repeat("x", 70000)+`"}`, appliance.Term{Field: "host.name", Value: ""}),
		}},
		"IngestBatch, idempotent part": &command.IngestBatch{Tenant: "acme", Source: "json", BatchID: "retry-key", Idempotent: true, Part: 3, Digest: 0xdeadbeefcafe,
			Events: []appliance.Event{event(5, `{"a":1}`, appliance.Term{Field: "source", Value: "json"})}},
		"IngestBatch, no events": &command.IngestBatch{Tenant: "", Source: "", BatchID: "", Events: []appliance.Event{}},
		"IngestBatch, old event": &command.IngestBatch{Tenant: "t", Source: "s", BatchID: "b", Events: []appliance.Event{{
			ID: appliance.EventID{1, 2, 3}, Timestamp: time.Unix(0, 1).UTC(), Doc: json.RawMessage(`1`), Terms: []appliance.Term{},
		}}},
		"CreateTenant": &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}},
		"CreateUser": &command.CreateUser{User: appliance.User{
			Tenant: "acme", Name: "alice", Role: appliance.RoleSOCAnalyst,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", Created: t0,
		}},
		"CreateToken": &command.CreateToken{Token: appliance.Token{
			Tenant: "acme", Name: "sensor", Scope: appliance.ScopeAPI, Role: appliance.RoleReadOnlyAnalyst,
			Hash: sha256.Sum256([]byte("secret")), Created: t0,
		}},
		"CreateSession": &command.CreateSession{Session: appliance.Session{
			Hash: sha256.Sum256([]byte("session")), Tenant: "acme", User: "alice", Created: t0, Expires: t0.Add(12 * time.Hour),
		}},
		"DeleteSession":         &command.DeleteSession{Hash: sha256.Sum256([]byte("session"))},
		"DeleteSession, before": &command.DeleteSession{Before: t0.UnixNano()},
	}
}

func TestRoundTrip(t *testing.T) {
	seen := map[command.Type]bool{}
	for name, c := range commands() {
		t.Run(name, func(t *testing.T) {
			data, err := command.Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			if command.Type(data[0]) != c.Type() {
				t.Fatalf("entry starts with type %d, want %d", data[0], c.Type())
			}
			got, err := command.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, c)
			}
			again, err := command.Encode(got)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("re-encoding differs (%v)", err)
			}
			seen[c.Type()] = true
		})
	}
	for _, typ := range []command.Type{command.TypeIngestBatch, command.TypeCreateTenant, command.TypeCreateUser,
		command.TypeCreateToken, command.TypeCreateSession, command.TypeDeleteSession} {
		if !seen[typ] {
			t.Errorf("no round trip test for %s", typ)
		}
	}
}

func TestDecodedBatchDoesNotShareTerms(t *testing.T) {
	// Decode may alias the entry's bytes for documents, but strings are
	// copies: changing the entry afterwards must not change them.
	data, _ := command.Encode(commands()["IngestBatch"])
	c, err := command.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	b := c.(*command.IngestBatch)
	for i := range data {
		data[i] = 'Z'
	}
	if b.Tenant != "acme" || b.Events[0].Terms[1].Value != "root" {
		t.Fatalf("decoded strings changed with the entry: %q %q", b.Tenant, b.Events[0].Terms[1].Value)
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[command.Type]string{
		command.TypeIngestBatch:                          "IngestBatch",
		command.TypeCreateTenant:                         "CreateTenant",
		command.TypeCreateUser:                           "CreateUser",
		command.TypeCreateToken:                          "CreateToken",
		command.TypeCreateSession:                        "CreateSession",
		command.TypeDeleteSession:                        "DeleteSession",
		command.TypeCreateUser | command.IgnoreIfUnknown: "CreateUser",
		command.Type(0x42):                               "Type(66)",
		command.Type(0x42) | command.IgnoreIfUnknown:     "Type(194)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(typ), got, want)
		}
	}
}

// withCount returns the start of an IngestBatch entry up to and including an
// event count of n: an encoded empty batch ends with its count.
func withCount(n uint64) []byte {
	empty := command.EncodeIngestBatchPlain(&command.IngestBatch{Tenant: "acme", Source: "json", BatchID: "b"})
	if empty[len(empty)-1] != 0 {
		panic("an empty batch no longer ends with its event count")
	}
	return binary.AppendUvarint(bytes.Clone(empty[:len(empty)-1]), n)
}

func TestDecodeErrors(t *testing.T) {
	batch := command.EncodeIngestBatchPlain(commands()["IngestBatch"].(*command.IngestBatch))
	compressed, _ := command.Encode(commands()["IngestBatch"])
	cases := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"empty", nil, "too short"},
		{"type only", []byte{byte(command.TypeCreateUser)}, "too short"},
		{"unknown JSON version", []byte{byte(command.TypeCreateUser), 2, '{', '}'}, "unknown version 2"},
		{"unknown batch version", append([]byte{byte(command.TypeIngestBatch), 3}, batch[2:]...), "unknown version 3"},
		{"corrupt compressed batch", append(bytes.Clone(compressed[:len(compressed)-3]), 0xff, 0xff, 0xff), "decode IngestBatch"},
		{"compression bomb", append([]byte{byte(command.TypeIngestBatch), 2}, 0xff, 0xff, 0xff, 0xff, 0x7f), "bad compressed body"},
		{"bad JSON", []byte{byte(command.TypeCreateTenant), 1, '{'}, "decode CreateTenant"},
		{"JSON of the wrong shape", []byte{byte(command.TypeCreateToken), 1, '[', ']'}, "decode CreateToken"},
		{"bad time", []byte(string([]byte{byte(command.TypeCreateTenant), 1}) + `{"Tenant":{"Created":"yesterday"}}`), "decode CreateTenant"},
		{"trailing bytes", append(bytes.Clone(batch), 0), "1 trailing bytes"},
		{"event count beyond the entry", withCount(0xffff), "exceeds entry size"},
		{"term count beyond the entry", append(append(withCount(1), make([]byte, 16)...), 0, 0, 0x7f, 0, 0), "exceeds entry size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd, err := command.Decode(c.data)
			if err == nil {
				t.Fatalf("Decode succeeded: %#v", cmd)
			}
			if cmd != nil {
				t.Fatalf("Decode returned command %#v with its error", cmd)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q does not mention %q", err, c.wantErr)
			}
		})
	}
}

func TestDecodeUnknownType(t *testing.T) {
	for _, typ := range []command.Type{0, 7, 0x7f, command.IgnoreIfUnknown | 7, command.IgnoreIfUnknown | command.TypeCreateUser} {
		_, err := command.Decode([]byte{byte(typ), 1, '{', '}'})
		var unknown command.ErrUnknownType
		if !errors.As(err, &unknown) || unknown.Type != typ {
			t.Fatalf("Decode of type %d: %v, want ErrUnknownType", typ, err)
		}
		if !strings.Contains(err.Error(), "unknown command type") {
			t.Fatalf("error text %q", err)
		}
	}
}

func TestDecodeTruncatedBatch(t *testing.T) {
	for name, c := range commands() {
		data, err := command.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.(*command.IngestBatch); !ok {
			continue
		}
		// Every proper prefix is refused, none panics.
		for n := range len(data) {
			if _, err := command.Decode(data[:n]); err == nil {
				t.Fatalf("%s: prefix of %d of %d bytes decoded", name, n, len(data))
			}
		}
	}
}

func TestDecodeCorruptBatchNeverPanics(t *testing.T) {
	data, _ := command.Encode(commands()["IngestBatch"])
	data = data[:min(len(data), 2000)] // keep it fast: the big document is not needed
	for i := 2; i < len(data); i++ {
		for _, v := range []byte{0, 1, 0x7f, 0x80, 0xff, data[i] ^ 0x55} {
			mut := bytes.Clone(data)
			mut[i] = v
			command.Decode(mut) // must not panic
		}
	}
}

func TestDecodeCorruptCountAllocatesLittle(t *testing.T) {
	// A corrupt entry claiming one event per byte must not make Decode
	// allocate far more than the entry's size before it finds out.
	const size = 1 << 20
	data := append(withCount(size), make([]byte, size)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := command.Decode(data)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("corrupt entry decoded")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*size {
		t.Fatalf("decoding a corrupt %d-byte entry allocated %d bytes", len(data), alloc)
	}
}

func TestIngestBatchIsCompressed(t *testing.T) {
	b := &command.IngestBatch{Tenant: "acme", Source: "json", BatchID: "b"}
	for i := range 200 {
		doc := fmt.Sprintf(`{"@timestamp":"2026-11-22T10:00:%02dZ","source.ip":"10.0.%d.%d","user.name":"user%d","event.action":"ssh_login","event.outcome":"failure","message":"Failed password for user%d from 10.0.%d.%d port 22 ssh2"}`, i%60, i/250, i%250, i%7, i%7, i/250, i%250)
		b.Events = append(b.Events, appliance.Event{ID: appliance.NewEventID(time.Unix(int64(i), 0), uint64(i)), Timestamp: time.Unix(int64(i), 0).UTC(), Doc: []byte(doc),
			Terms: []appliance.Term{{Field: "user.name", Value: fmt.Sprint("user", i%7)}}})
	}
	plain := command.EncodeIngestBatchPlain(b)
	enc, err := command.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) > len(plain)/2 {
		t.Fatalf("encoded batch %d bytes, plain %d: not compressed", len(enc), len(plain))
	}
	got, err := command.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatal("compressed batch does not decode to the original")
	}
	t.Logf("200 events: %d bytes plain, %d compressed", len(plain), len(enc))
}
