package command

import "time"

// Commands of the backup feature (types 48–55 are reserved for it).
const (
	TypeSetClusterID Type = 48
	TypeRecordBackup Type = 49
)

// SetClusterID names the cluster, unless it already has a name: the first
// one committed wins, so leaders racing to set it agree.
type SetClusterID struct{ ID string }

// RecordBackup records a scheduled backup attempt, so that whichever node
// leads next knows which interval is done and whether state changed since.
type RecordBackup struct {
	// Slot is the start of the interval the attempt belongs to.
	Slot time.Time
	At   time.Time // when the attempt ended
	// Error is empty for a success; the rest describes the file then.
	Error     string        `json:",omitempty"`
	RaftIndex uint64        `json:",omitempty"` // index of the state in the backup
	File      string        `json:",omitempty"`
	Size      int64         `json:",omitempty"`
	Duration  time.Duration `json:",omitempty"`
}

func (*SetClusterID) Type() Type { return TypeSetClusterID }
func (*RecordBackup) Type() Type { return TypeRecordBackup }
