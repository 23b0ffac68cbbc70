package command_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/minixdr/xdr/appliance/command"
)

// FuzzDecode feeds arbitrary log entries to Decode. It must never panic;
// whatever it accepts must encode again, and that encoding must decode to a
// command that encodes identically (the encoding is a fixed point after one
// round, so nodes that re-encode agree byte for byte).
func FuzzDecode(f *testing.F) {
	for _, c := range commands() {
		data, err := command.Encode(c)
		if err != nil {
			f.Fatal(err)
		}
		// Small seeds: the fuzzer minimises every new interesting input, and
		// minimising kilobytes stalls it for minutes. A cut entry is a good
		// seed too.
		if len(data) > 256 {
			data = data[:256]
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{byte(command.IgnoreIfUnknown | 9), 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := command.Decode(data)
		if err != nil {
			var unknown command.ErrUnknownType
			if errors.As(err, &unknown) && len(data) > 0 && unknown.Type != command.Type(data[0]) {
				t.Fatalf("ErrUnknownType %d for an entry of type %d", unknown.Type, data[0])
			}
			return
		}
		if c.Type() != command.Type(data[0]) {
			t.Fatalf("entry of type %d decoded as %s", data[0], c.Type())
		}
		enc, err := command.Encode(c)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", c, err)
		}
		c2, err := command.Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded entry %q does not decode: %v", enc, err)
		}
		enc2, err := command.Encode(c2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n%q\n%q (%v)", enc, enc2, err)
		}
	})
}
