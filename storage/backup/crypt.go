package backup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/minixdr/xdr/storage/sqlstore"
)

// ParseRecipients parses age X25519 public keys ("age1…").
func ParseRecipients(keys []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, k := range keys {
		r, err := age.ParseX25519Recipient(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("recipient %q: %w", k, err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("no recipient given")
	}
	return out, nil
}

// readPassphrase reads the first line of a passphrase file.
func readPassphrase(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("passphrase file: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("passphrase file %s: %w", path, err)
	}
	if line = strings.TrimRight(line, "\r\n"); line == "" {
		return "", fmt.Errorf("passphrase file %s: the first line is empty", path)
	}
	return line, nil
}

// PassphraseRecipient encrypts to the passphrase in the first line of path
// (scrypt).
func PassphraseRecipient(path string) (age.Recipient, error) {
	p, err := readPassphrase(path)
	if err != nil {
		return nil, err
	}
	return age.NewScryptRecipient(p)
}

// PassphraseIdentity decrypts with the passphrase in the first line of path.
func PassphraseIdentity(path string) ([]age.Identity, error) {
	p, err := readPassphrase(path)
	if err != nil {
		return nil, err
	}
	id, err := age.NewScryptIdentity(p)
	if err != nil {
		return nil, err
	}
	return []age.Identity{id}, nil
}

// IdentityFile reads age identities ("AGE-SECRET-KEY-1…" lines) from path.
func IdentityFile(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
	return ids, nil
}

// Source is the state a backup copies: a storage snapshot stream.
type Source interface {
	WriteSnapshot(ctx context.Context, w io.Writer) (uint64, error)
}

// Write writes src's state as an unencrypted container to w. Memory use is
// bounded by a few records whatever the size of the state.
func Write(ctx context.Context, w io.Writer, src Source, clusterID string, now time.Time) (Manifest, error) {
	cw, err := newWriter(w, Header{Format: FormatVersion, ClusterID: clusterID, Created: now.UTC()})
	if err != nil {
		return Manifest{}, err
	}
	pw, err := cw.part(PartState)
	if err != nil {
		return Manifest{}, err
	}
	idx, err := src.WriteSnapshot(ctx, ctxWriter{ctx, pw})
	if err != nil {
		return Manifest{}, fmt.Errorf("back up state: %w", err)
	}
	return cw.close(idx, sqlstore.SchemaVersion())
}

// ctxWriter stops a backup when its context ends (a node shutting down, a
// client gone): the snapshot dump itself does not watch the context.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(b)
}

// Encrypt returns a writer that encrypts to recipients into out; Close
// writes the last chunk and must succeed for the file to be complete.
func Encrypt(out io.Writer, recipients []age.Recipient) (io.WriteCloser, error) {
	w, err := age.Encrypt(out, recipients...)
	if err != nil {
		return nil, fmt.Errorf("encrypt backup: %w", err)
	}
	return w, nil
}

// Create writes an encrypted backup of src to out.
func Create(ctx context.Context, out io.Writer, recipients []age.Recipient, src Source, clusterID string, now time.Time) (Manifest, error) {
	ew, err := Encrypt(out, recipients)
	if err != nil {
		return Manifest{}, err
	}
	m, err := Write(ctx, ew, src, clusterID, now)
	if err != nil {
		return m, err
	}
	if err := ew.Close(); err != nil {
		return m, fmt.Errorf("encrypt backup: %w", err)
	}
	return m, nil
}

// Open decrypts an encrypted backup and reads its header. Errors say which
// of the usual causes it is: a key that does not fit, a file that is not an
// age file, damage or truncation (reported by the Reader as the damaged part
// is read), or an unknown format version.
func Open(r io.Reader, ids []age.Identity) (*Reader, error) {
	pr, err := age.Decrypt(r, ids...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, fmt.Errorf("the given identity or passphrase does not open this backup (%v)", err)
		}
		return nil, fmt.Errorf("not a readable age-encrypted backup: %w", err)
	}
	d := &damageReader{r: pr}
	br, err := NewReader(d)
	if err != nil {
		if d.err != nil {
			return nil, d.err
		}
		return nil, err
	}
	br.src = d
	return br, nil
}

// damageReader names what an authentication failure of the age payload
// means for the operator, and keeps it: the framing reader above turns a
// failed read inside a record into "truncated".
type damageReader struct {
	r   io.Reader
	err error
}

func (d *damageReader) Read(b []byte) (int, error) {
	n, err := d.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		d.err = &FormatError{Msg: "backup is damaged or truncated (" + err.Error() + ")"}
		err = d.err
	}
	return n, err
}

// Verify decrypts a whole backup and checks every part against the
// manifest, without restoring anything.
func Verify(r io.Reader, ids []age.Identity) (Manifest, error) {
	br, err := Open(r, ids)
	if err != nil {
		return Manifest{}, err
	}
	return br.drain()
}

// drain reads the rest of the container, checking it.
func (r *Reader) drain() (Manifest, error) {
	for {
		_, _, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			m, _ := r.Manifest()
			return m, nil
		}
		if err != nil {
			return Manifest{}, err
		}
	}
}

// Check reads a whole unencrypted container and checks every part against
// the manifest.
func Check(r io.Reader) (Manifest, error) {
	br, err := NewReader(r)
	if err != nil {
		return Manifest{}, err
	}
	return br.drain()
}
