package eventstore

import (
	"bytes"
	"encoding/binary"

	"github.com/minixdr/xdr/appliance"
)

// Key layout. The tenant is the first component of every data key (but the
// store-wide rollup marker), so no scan for one tenant can reach another's
// keys.
//
//	'e' tenant 0x00 id(16)                        -> event document (JSON)
//	'x' tenant 0x00 field(1) value 0x00 second(8) tag(8) -> IDs (posting.go)
//	'r' tenant 0x00 field(1) level(1) bucket(8) value -> count(8) index(8) (rollup.go)
//	'R' "rollups v4"                              -> the rollups cover every event
//	'b' tenant 0x00 batchID 0x00 part(4)          -> input digest (8), for idempotent batches
//	'm' name                                      -> node-local metadata
//
// Event IDs start with the event time, so both kinds of key sort by time
// within a tenant (and within a field value), which gives newest-first order
// by reverse iteration.
const (
	prefixEvent = 'e'
	prefixIndex = 'x'
	prefixBatch = 'b'
	prefixMeta  = 'm'
)

var appliedKey = []byte{prefixMeta, 'a', 'p', 'p', 'l', 'i', 'e', 'd'}

// fieldCodes gives each indexed field a one-byte code used in index keys.
// Append only: a code, once used, keeps its meaning.
var fieldCodes = map[string]byte{
	"source":               1,
	"event.action":         2,
	"event.outcome":        3,
	"event.code":           4,
	"event.category":       5,
	"source.ip":            6,
	"source.port":          7,
	"destination.ip":       8,
	"destination.port":     9,
	"user.name":            10,
	"host.name":            11,
	"process.executable":   12,
	"process.command_line": 13,
}

func init() {
	for _, f := range appliance.IndexedFields {
		if _, ok := fieldCodes[f]; !ok {
			panic("eventstore: indexed field " + f + " has no field code")
		}
	}
}

func tenantPrefix(kind byte, tenant string) []byte {
	k := make([]byte, 0, 2+len(tenant)+32)
	k = append(k, kind)
	k = append(k, tenant...)
	return append(k, 0)
}

func eventKey(tenant string, id appliance.EventID) []byte {
	return append(tenantPrefix(prefixEvent, tenant), id[:]...)
}

// indexValuePrefix is the key prefix of every index entry of field whose
// value starts with valuePrefix; with exact it covers only that value.
func indexValuePrefix(tenant string, code byte, value string, exact bool) []byte {
	k := append(tenantPrefix(prefixIndex, tenant), code)
	k = append(k, appliance.IndexValue(value)...)
	if exact {
		k = append(k, 0)
	}
	return k
}

func idFromKey(k []byte) (id appliance.EventID) {
	copy(id[:], k[len(k)-16:])
	return id
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func batchKey(tenant, batchID string, part uint32) []byte {
	k := append(tenantPrefix(prefixBatch, tenant), batchID...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, part)
}
