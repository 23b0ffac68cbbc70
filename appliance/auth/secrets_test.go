package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/minixdr/xdr/appliance/auth"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	for _, pw := range []string{"correct horse battery staple", "", "pässwörd 🔑", strings.Repeat("x", 1000), "with\x00nul"} {
		h, err := auth.HashPassword(pw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, fmt.Sprintf("$argon2id$v=%d$m=19456,t=2,p=1$", argon2.Version)) {
			t.Fatalf("hash %q is not a PHC argon2id string with the configured parameters", h)
		}
		if strings.Contains(h, pw) && pw != "" {
			t.Fatalf("hash %q contains the password", h)
		}
		ok, err := auth.VerifyPassword(h, pw)
		if err != nil || !ok {
			t.Fatalf("VerifyPassword(hash of %q) = %v, %v", pw, ok, err)
		}
		for _, wrong := range []string{pw + "x", strings.ToUpper(pw) + "X", "x" + pw, pw[:len(pw)/2] + "!"} {
			if ok, err := auth.VerifyPassword(h, wrong); err != nil || ok {
				t.Fatalf("VerifyPassword(hash of %q, %q) = %v, %v; want false, nil", pw, wrong, ok, err)
			}
		}
	}
}

func TestHashPasswordSalts(t *testing.T) {
	a, _ := auth.HashPassword("same")
	b, _ := auth.HashPassword("same")
	if a == b {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

// phc builds an argon2id PHC string for given parameters.
func phc(password, salt string, time, mem uint32, threads uint8, keyLen uint32) string {
	b64 := base64.RawStdEncoding
	key := argon2.IDKey([]byte(password), []byte(salt), time, mem, threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, mem, time, threads,
		b64.EncodeToString([]byte(salt)), b64.EncodeToString(key))
}

func TestVerifyPasswordUsesTheHashParameters(t *testing.T) {
	// A hash made with other (older, cheaper) parameters still verifies.
	h := phc("s3cret", "0123456789abcdef", 1, 64, 2, 16)
	if ok, err := auth.VerifyPassword(h, "s3cret"); err != nil || !ok {
		t.Fatalf("VerifyPassword = %v, %v", ok, err)
	}
	if ok, err := auth.VerifyPassword(h, "s3cret "); err != nil || ok {
		t.Fatalf("wrong password: %v, %v", ok, err)
	}
}

// verifySafely calls VerifyPassword and turns a panic into an error.
func verifySafely(h, pw string) (ok bool, err error, panicked any) {
	defer func() { panicked = recover() }()
	ok, err = auth.VerifyPassword(h, pw)
	return ok, err, nil
}

func TestVerifyPasswordRefusesMalformedHashes(t *testing.T) {
	const pw = "s3cret"
	valid := phc(pw, "0123456789abcdef", 1, 64, 1, 32)
	parts := strings.Split(valid, "$") // "", argon2id, v=19, m=..., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	cases := []struct{ name, hash string }{
		{"empty", ""},
		{"not PHC", "s3cret"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with(1, "argon2i")},
		{"argon2d", with(1, "argon2d")},
		{"upper-case algorithm", with(1, "ARGON2ID")},
		{"too few parts", strings.Join(parts[:5], "$")},
		{"too many parts", valid + "$extra"},
		{"old version", with(2, "v=16")},
		{"version not a number", with(2, "v=x")},
		{"version missing", with(2, "")},
		{"parameters not numbers", with(3, "m=a,t=b,p=c")},
		{"parameters out of order", with(3, "t=1,m=64,p=1")},
		{"memory over the cap", with(3, "m=1048577,t=1,p=1")},
		{"memory overflows uint32", with(3, "m=4294967296,t=1,p=1")},
		{"memory negative", with(3, "m=-1,t=1,p=1")},
		{"passes over the cap", with(3, "m=64,t=17,p=1")},
		{"passes huge", with(3, "m=64,t=4294967295,p=1")},
		{"zero passes", with(3, "m=64,t=0,p=1")},
		{"zero threads", with(3, "m=64,t=1,p=0")},
		{"threads overflow uint8", with(3, "m=64,t=1,p=256")},
		{"salt not base64", with(4, "!!!!")},
		{"salt with padding", with(4, parts[4]+"==")},
		{"key not base64", with(5, "*not-base64*")},
		{"key empty", with(5, "")},
		{"key over 128 bytes", with(5, base64.RawStdEncoding.EncodeToString(make([]byte, 129)))},
		{"key with padding", with(5, parts[5]+"=")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err, panicked := verifySafely(c.hash, pw)
			if panicked != nil {
				t.Fatalf("VerifyPassword(%q) panicked: %v", c.hash, panicked)
			}
			if ok {
				t.Fatalf("VerifyPassword(%q) = true", c.hash)
			}
			if err == nil {
				t.Fatalf("VerifyPassword(%q) gave no error", c.hash)
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("error %q contains the password", err)
			}
		})
	}
	// The unmodified hash is fine: the cases above fail for their change.
	if ok, err := auth.VerifyPassword(valid, pw); err != nil || !ok {
		t.Fatalf("valid hash: %v, %v", ok, err)
	}
}

func TestNewSecret(t *testing.T) {
	if auth.PrefixToken == auth.PrefixSession || strings.HasPrefix(auth.PrefixToken, auth.PrefixSession) || strings.HasPrefix(auth.PrefixSession, auth.PrefixToken) {
		t.Fatalf("prefixes %q and %q cannot be told apart", auth.PrefixToken, auth.PrefixSession)
	}
	for _, prefix := range []string{auth.PrefixToken, auth.PrefixSession} {
		seen := map[string]bool{}
		for range 1000 {
			s, h, err := auth.NewSecret(prefix)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s, prefix) {
				t.Fatalf("secret %q lacks prefix %q", s, prefix)
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, prefix))
			if err != nil || len(raw) != 32 {
				t.Fatalf("secret %q: want 32 random bytes in URL-safe base64 (%v)", s, err)
			}
			if h != sha256.Sum256([]byte(s)) || h != auth.HashSecret(s) {
				t.Fatalf("hash of %q is not its SHA-256", s)
			}
			if seen[s] {
				t.Fatalf("secret %q repeated", s)
			}
			seen[s] = true
		}
	}
}

func TestHashSecret(t *testing.T) {
	if auth.HashSecret("a") == auth.HashSecret("b") || auth.HashSecret("a") != sha256.Sum256([]byte("a")) {
		t.Fatal("HashSecret is not SHA-256")
	}
}

func TestRandomPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pw, err := auth.RandomPassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 24 {
			t.Fatalf("password %q has %d characters, want 24 (144 bits)", pw, len(pw))
		}
		if _, err := base64.RawURLEncoding.DecodeString(pw); err != nil {
			t.Fatalf("password %q is not URL-safe base64: %v", pw, err)
		}
		if seen[pw] {
			t.Fatalf("password %q repeated", pw)
		}
		seen[pw] = true
	}
}
