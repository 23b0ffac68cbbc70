package command_test

import (
	"reflect"
	"testing"

	"github.com/minixdr/xdr/appliance/command"
)

func TestRevokeTokenRoundTrip(t *testing.T) {
	c := &command.RevokeToken{Tenant: "acme", Hash: [32]byte{1, 2, 3, 31: 0xff}}
	data, err := command.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != 56 {
		t.Fatalf("RevokeToken encodes as type %d, want 56 (type numbers are part of the log format)", data[0])
	}
	got, err := command.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, c)
	}
	if s := command.TypeRevokeToken.String(); s != "RevokeToken" {
		t.Fatalf("TypeRevokeToken.String() = %q", s)
	}
}
