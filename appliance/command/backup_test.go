package command_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/command"
)

func TestBackupCommandsRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	for _, c := range []command.Command{
		&command.SetClusterID{ID: "c-0123456789ab"},
		&command.RecordBackup{Slot: at, At: at.Add(3 * time.Second), RaftIndex: 42, File: "xdr-backup-20261122T070000Z.age", Size: 1 << 20, Duration: 3 * time.Second},
		&command.RecordBackup{Slot: at, At: at.Add(time.Second), Error: "write /backups: no space left on device"},
	} {
		data, err := command.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := command.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", c.Type(), err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, c)
		}
	}
	if command.TypeSetClusterID.String() != "SetClusterID" || command.TypeRecordBackup.String() != "RecordBackup" {
		t.Fatal("type names")
	}
}
