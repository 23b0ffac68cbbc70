package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// A join token carries what a new node needs to trust the cluster (the CA
// fingerprint, pinned when it connects) and to prove itself (an expiry and
// a MAC under a key derived from the cluster secret). Any member can check
// it without shared state, so a token made on one member works on all.
// It is valid until it expires, for any number of joins.
//
//	xdrj1_ base64url( ca-sha256[32] | expiry-unix[8] | nonce[16] | hmac[32] )
const tokenPrefix = "xdrj1_"

const tokenLen = 32 + 8 + 16 + 32

// DefaultTokenTTL is how long a join token stays valid.
const DefaultTokenTTL = time.Hour

// JoinToken is a parsed token.
type JoinToken struct {
	CAFingerprint [32]byte
	Expires       time.Time
	raw           []byte
}

// NewJoinToken makes a token valid until now+ttl.
func (p *PKI) NewJoinToken(now time.Time, ttl time.Duration) (string, error) {
	raw := make([]byte, tokenLen)
	fp := p.CAFingerprint()
	copy(raw, fp[:])
	binary.BigEndian.PutUint64(raw[32:], uint64(now.Add(ttl).Unix()))
	if _, err := rand.Read(raw[40:56]); err != nil {
		return "", err
	}
	copy(raw[56:], p.tokenMAC(raw[:56]))
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

func (p *PKI) tokenMAC(body []byte) []byte {
	m := hmac.New(sha256.New, p.derive("join token"))
	m.Write(body)
	return m.Sum(nil)
}

// ParseJoinToken reads a token's public part; it does not check the MAC,
// which only members can.
func ParseJoinToken(s string) (JoinToken, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, tokenPrefix) {
		return JoinToken{}, appliance.Errorf(appliance.EINVALID, "join token: not a join token (it starts with %q; get one with `xdr cluster token` on a member)", tokenPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s[len(tokenPrefix):])
	if err != nil || len(raw) != tokenLen {
		return JoinToken{}, appliance.Errorf(appliance.EINVALID, "join token: malformed (copy the whole last line of `xdr cluster token`)")
	}
	t := JoinToken{Expires: time.Unix(int64(binary.BigEndian.Uint64(raw[32:])), 0).UTC(), raw: raw}
	copy(t.CAFingerprint[:], raw)
	return t, nil
}

// checkJoinToken verifies a token against this cluster at time now.
func (p *PKI) checkJoinToken(s string, now time.Time) error {
	t, err := ParseJoinToken(s)
	if err != nil {
		return err
	}
	fp := p.CAFingerprint()
	if !hmac.Equal(t.raw[56:], p.tokenMAC(t.raw[:56])) || t.CAFingerprint != fp {
		return appliance.Errorf(appliance.EUNAUTHORIZED, "join token is not valid for this cluster")
	}
	if !now.Before(t.Expires) {
		return appliance.Errorf(appliance.EUNAUTHORIZED, "join token expired at %s; make a new one with `xdr cluster token`", t.Expires.Format(time.RFC3339))
	}
	return nil
}

// String shows a token's expiry, never its secret part.
func (t JoinToken) String() string {
	return fmt.Sprintf("join token for CA %x… expiring %s", t.CAFingerprint[:6], t.Expires.Format(time.RFC3339))
}
