package backup_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/minixdr/xdr/storage/backup"
)

// FuzzCheck: the container reader is fed decrypted bytes that anyone
// holding a recipient's public key can write. Whatever the input, it must
// not panic, and it accepts a container only when every part matches the
// manifest.
func FuzzCheck(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("B\x0c{\"format\":1}M\x02{}"))
	f.Add([]byte("B\x0c{\"format\":9}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := backup.Check(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Accepted: reading it again part by part gives the same sizes.
		r, err := backup.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("accepted once, refused the second time: %v", err)
		}
		for i := 0; ; i++ {
			name, part, err := r.NextPart()
			if errors.Is(err, io.EOF) {
				if i != len(m.Parts) {
					t.Fatalf("manifest lists %d parts, read %d", len(m.Parts), i)
				}
				return
			}
			if err != nil {
				t.Fatalf("accepted once, failed the second time: %v", err)
			}
			n, _ := io.Copy(io.Discard, part)
			if name != m.Parts[i].Name || n != m.Parts[i].Size {
				t.Fatalf("part %d: %q of %d bytes, manifest says %+v", i, name, n, m.Parts[i])
			}
		}
	})
}
