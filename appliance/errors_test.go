package appliance_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/minixdr/xdr/appliance"
)

func TestErrorCodeAndMessage(t *testing.T) {
	domain := appliance.Errorf(appliance.ENOTFOUND, "tenant %q does not exist", "acme")
	cases := []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
	}{
		{"nil", nil, "", "internal error"},
		{"domain error", domain, appliance.ENOTFOUND, `tenant "acme" does not exist`},
		{"wrapped once", fmt.Errorf("look up: %w", domain), appliance.ENOTFOUND, `tenant "acme" does not exist`},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", domain)), appliance.ENOTFOUND, `tenant "acme" does not exist`},
		{"joined", errors.Join(io.EOF, domain), appliance.ENOTFOUND, `tenant "acme" does not exist`},
		{"plain error is internal", errors.New("open /var/lib/xdr/state.db: permission denied"), appliance.EINTERNAL, "internal error"},
		{"wrapped plain error is internal", fmt.Errorf("apply: %w", io.ErrUnexpectedEOF), appliance.EINTERNAL, "internal error"},
		{"context error is internal", context.Canceled, appliance.EINTERNAL, "internal error"},
		{"not leader", appliance.ErrNotLeader, appliance.EUNAVAILABLE, "this node is not the cluster leader"},
		{"explicit internal domain error keeps its message", &appliance.Error{Code: appliance.EINTERNAL, Message: "raft stopped"}, appliance.EINTERNAL, "raft stopped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := appliance.ErrorCode(c.err); got != c.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, c.wantCode)
			}
			if c.err == nil {
				return // ErrorMessage(nil) is not part of the contract beyond not panicking
			}
			if got := appliance.ErrorMessage(c.err); got != c.wantMessage {
				t.Errorf("ErrorMessage = %q, want %q", got, c.wantMessage)
			}
		})
	}
}

func TestInternalErrorDetailsNeverLeak(t *testing.T) {
	secret := "password=hunter2 at /etc/xdr/secret.key"
	err := fmt.Errorf("apply entry 12: %w", errors.New(secret))
	if msg := appliance.ErrorMessage(err); msg != "internal error" {
		t.Fatalf("ErrorMessage of an internal error = %q, want the generic text", msg)
	}
}

func TestErrorf(t *testing.T) {
	err := appliance.Errorf(appliance.ETOOLARGE, "line %d is longer than %d bytes", 3, 50)
	if err.Code != appliance.ETOOLARGE {
		t.Fatalf("Code = %q", err.Code)
	}
	if err.Error() != "line 3 is longer than 50 bytes" || err.Message != err.Error() {
		t.Fatalf("Error() = %q, Message = %q", err.Error(), err.Message)
	}
	// Only the message is formatted: a code is never interpolated.
	if e := appliance.Errorf(appliance.EINVALID, "100%% sure"); e.Error() != "100% sure" {
		t.Fatalf("Error() = %q", e.Error())
	}
}

func TestErrNotLeaderIsDetectable(t *testing.T) {
	wrapped := fmt.Errorf("propose: %w", appliance.ErrNotLeader)
	if !errors.Is(wrapped, appliance.ErrNotLeader) {
		t.Fatal("errors.Is does not find ErrNotLeader through a wrap")
	}
	other := appliance.Errorf(appliance.EUNAVAILABLE, "this node is not the cluster leader")
	if errors.Is(other, appliance.ErrNotLeader) {
		t.Fatal("a different error value with the same text is ErrNotLeader")
	}
}

func TestErrorCodesAreDistinct(t *testing.T) {
	codes := []string{appliance.EINVALID, appliance.ENOTFOUND, appliance.ECONFLICT, appliance.EUNAUTHORIZED,
		appliance.EFORBIDDEN, appliance.ETOOLARGE, appliance.EBUSY, appliance.EUNAVAILABLE, appliance.EINTERNAL}
	seen := map[string]bool{}
	for _, c := range codes {
		if c == "" || seen[c] {
			t.Fatalf("error code %q is empty or repeated", c)
		}
		seen[c] = true
	}
}
