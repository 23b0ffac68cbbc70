package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: the OWASP baseline (19 MiB, 2 passes, 1 lane), which
// keeps a login near 30 ms on the appliance's small CPUs and bounds the
// memory an attacker can make a login burn.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks password against a PHC argon2id hash, in constant
// time for the comparison. Parameters come from the hash, so hashes made
// with older parameters keep working.
func VerifyPassword(phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil {
		return false, fmt.Errorf("bad argon2 parameters %q", parts[3])
	}
	if mem > 1<<20 || iters == 0 || iters > 16 || threads == 0 { // refuse hashes that would exhaust the machine
		return false, fmt.Errorf("argon2 parameters %q out of range", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("bad argon2 salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false, fmt.Errorf("bad argon2 key")
	}
	got := argon2.IDKey([]byte(password), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Secret prefixes tell token kinds apart at a glance (and for secret
// scanners) without a lookup.
const (
	PrefixToken   = "xdrt_"
	PrefixSession = "xdrs_"
)

// NewSecret returns a random secret with prefix, and its SHA-256, which is
// all that is stored. Secrets carry 256 bits of entropy, so a fast hash is
// the right one (unlike passwords).
func NewSecret(prefix string) (string, [32]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", [32]byte{}, fmt.Errorf("token randomness: %w", err)
	}
	s := prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return s, HashSecret(s), nil
}

// HashSecret is the stored form of a token or session secret.
func HashSecret(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// RandomPassword returns a password for the initial admin.
func RandomPassword() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
