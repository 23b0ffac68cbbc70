// Package command defines every state change of the appliance as a typed,
// versioned Raft log entry, and its encoding.
//
// An entry is one type byte, one version byte, then the body. Type values are
// append-only: never reuse or renumber one. A type with the IgnoreIfUnknown
// bit set may be skipped by an older node that does not know it, so that a
// rolling upgrade can introduce optional commands; any other unknown type
// stops the state machine, because skipping it would make nodes diverge.
//
// The hot command, IngestBatch, has a compact binary body; the rare
// administrative commands carry JSON bodies, which are easy to evolve.
package command

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/minixdr/xdr/appliance"
)

// Type identifies a command. Append only.
type Type uint8

const (
	TypeIngestBatch   Type = 1
	TypeCreateTenant  Type = 2
	TypeCreateUser    Type = 3
	TypeCreateToken   Type = 4
	TypeCreateSession Type = 5
	TypeDeleteSession Type = 6

	// IgnoreIfUnknown marks a command an older node may skip safely.
	IgnoreIfUnknown Type = 0x80
)

func (t Type) String() string {
	switch t &^ IgnoreIfUnknown {
	case TypeIngestBatch:
		return "IngestBatch"
	case TypeCreateTenant:
		return "CreateTenant"
	case TypeCreateUser:
		return "CreateUser"
	case TypeCreateToken:
		return "CreateToken"
	case TypeCreateSession:
		return "CreateSession"
	case TypeDeleteSession:
		return "DeleteSession"
	case TypeSetClusterID:
		return "SetClusterID"
	case TypeRecordBackup:
		return "RecordBackup"
	case TypePutRules:
		return "PutRules"
	case TypeSetRuleEnabled:
		return "SetRuleEnabled"
	case TypeDeleteRule:
		return "DeleteRule"
	case TypePutIndicators:
		return "PutIndicators"
	case TypeDeleteIntel:
		return "DeleteIntel"
	case TypeUpdateIncident:
		return "UpdateIncident"
	case TypeRevokeToken:
		return "RevokeToken"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Command is implemented by every command body.
type Command interface {
	Type() Type
}

// IngestBatch stores a batch of events of one tenant and source. Event IDs
// derive from BatchID. When Idempotent (the client gave an Idempotency-Key),
// the state machine remembers (BatchID, Part) with the Digest of the input:
// a retry with the same input is applied once, a reuse of the key with other
// input is refused with ECONFLICT.
type IngestBatch struct {
	Tenant     string
	Source     string
	BatchID    string
	Idempotent bool
	Part       uint32 // which entry of a request split over several
	Digest     uint64 // hash of the input lines of this part
	Events     []appliance.Event
}

// CreateTenant creates a tenant if it does not exist.
type CreateTenant struct{ Tenant appliance.Tenant }

// CreateUser creates a user; it fails with ECONFLICT if the name is taken.
type CreateUser struct{ User appliance.User }

// CreateToken stores a new API token's hash.
type CreateToken struct{ Token appliance.Token }

// CreateSession stores a login session's hash.
type CreateSession struct{ Session appliance.Session }

// DeleteSession ends a session (logout). Expired sessions are removed by the
// same command with Before set, so expiry is deterministic on every node.
type DeleteSession struct {
	Hash   [32]byte
	Before int64 `json:",omitempty"` // when non-zero: delete all sessions expiring before this Unix time (ns)
}

func (*IngestBatch) Type() Type   { return TypeIngestBatch }
func (*CreateTenant) Type() Type  { return TypeCreateTenant }
func (*CreateUser) Type() Type    { return TypeCreateUser }
func (*CreateToken) Type() Type   { return TypeCreateToken }
func (*CreateSession) Type() Type { return TypeCreateSession }
func (*DeleteSession) Type() Type { return TypeDeleteSession }

const jsonVersion = 1

// Encode serialises a command into a log entry.
func Encode(c Command) ([]byte, error) {
	if b, ok := c.(*IngestBatch); ok {
		return encodeCompressedIngestBatch(b), nil
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", c.Type(), err)
	}
	return append([]byte{byte(c.Type()), jsonVersion}, body...), nil
}

// ErrUnknownType is returned by Decode for a type this build does not know.
// The caller skips the entry when the type has IgnoreIfUnknown set.
type ErrUnknownType struct{ Type Type }

func (e ErrUnknownType) Error() string { return fmt.Sprintf("unknown command type %d", uint8(e.Type)) }

// Decode parses a log entry. The returned command may alias data.
func Decode(data []byte) (Command, error) {
	if len(data) < 2 {
		return nil, fmt.Errorf("command entry of %d bytes is too short", len(data))
	}
	t, version, body := Type(data[0]), data[1], data[2:]
	var c Command
	switch t {
	case TypeIngestBatch:
		b, err := decodeIngestBatch(version, body)
		if err != nil {
			return nil, err // not a typed nil inside a non-nil Command
		}
		return b, nil
	case TypeCreateTenant:
		c = &CreateTenant{}
	case TypeCreateUser:
		c = &CreateUser{}
	case TypeCreateToken:
		c = &CreateToken{}
	case TypeCreateSession:
		c = &CreateSession{}
	case TypeDeleteSession:
		c = &DeleteSession{}
	case TypeSetClusterID:
		c = &SetClusterID{}
	case TypeRecordBackup:
		c = &RecordBackup{}
	case TypePutRules:
		c = &PutRules{}
	case TypeSetRuleEnabled:
		c = &SetRuleEnabled{}
	case TypeDeleteRule:
		c = &DeleteRule{}
	case TypePutIndicators:
		c = &PutIndicators{}
	case TypeDeleteIntel:
		c = &DeleteIntel{}
	case TypeUpdateIncident:
		c = &UpdateIncident{}
	case TypeRevokeToken:
		c = &RevokeToken{}
	default:
		return nil, ErrUnknownType{Type: t}
	}
	if version != jsonVersion {
		return nil, fmt.Errorf("%s: unknown version %d", t, version)
	}
	if err := json.Unmarshal(body, c); err != nil {
		return nil, fmt.Errorf("decode %s: %w", t, err)
	}
	return c, nil
}

// Proposer commits commands through the replicated log. Propose returns once
// the command is committed on a quorum and applied locally; its error is the
// command's domain error, ErrNotLeader-coded EUNAVAILABLE, or a failure to
// commit.
type Proposer interface {
	Propose(ctx context.Context, c Command) error
}
