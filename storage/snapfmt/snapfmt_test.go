package snapfmt_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/minixdr/xdr/storage/snapfmt"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := snapfmt.NewWriter(&buf)
	big := bytes.Repeat([]byte("x"), 300<<10) // larger than the buffers
	recs := []struct {
		kind  byte
		parts [][]byte
	}{
		{'H', [][]byte{[]byte(`{"format":1}`)}},
		{'K', [][]byte{{3}, []byte("key"), []byte("value")}},
		{'R', nil},
		{'B', [][]byte{big, big}},
		{'Z', [][]byte{{4}}},
	}
	for _, r := range recs {
		if err := w.Record(r.kind, r.parts...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rd := snapfmt.NewReader(bytes.NewReader(buf.Bytes()))
	for i, r := range recs {
		kind, payload, err := rd.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if kind != r.kind || !bytes.Equal(payload, bytes.Join(r.parts, nil)) {
			t.Fatalf("record %d: kind %q, %d bytes", i, kind, len(payload))
		}
	}
	if _, _, err := rd.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
	// Every cut inside a record is reported as truncation, never as a clean
	// end; cuts at record boundaries are clean ends (the trailer catches them).
	data := buf.Bytes()[:64]
	for cut := 1; cut < len(data); cut++ {
		rd := snapfmt.NewReader(bytes.NewReader(data[:cut]))
		var err error
		for err == nil {
			_, _, err = rd.Next()
		}
		if !errors.Is(err, snapfmt.ErrTruncated) && !errors.Is(err, io.EOF) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
}

func TestRecordLimit(t *testing.T) {
	w := snapfmt.NewWriter(io.Discard)
	half := make([]byte, snapfmt.MaxRecord/2+1)
	if err := w.Record('K', half, half); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("oversized record: %v", err)
	}
	// A reader refuses a length over the limit before allocating it.
	hdr := binary.AppendUvarint([]byte{'K'}, snapfmt.MaxRecord+1)
	if _, _, err := snapfmt.NewReader(bytes.NewReader(hdr)).Next(); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("oversized length: %v", err)
	}
	if _, _, err := snapfmt.NewReader(bytes.NewReader([]byte{'K', 0x80})).Next(); !errors.Is(err, snapfmt.ErrTruncated) {
		t.Fatalf("cut length: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	w := snapfmt.NewWriter(failWriter{})
	big := make([]byte, 512<<10)
	err := w.Record('K', big)
	if err == nil {
		err = w.Flush()
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("write to a failing writer: %v", err)
	}
}
