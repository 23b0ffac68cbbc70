// Package backup owns the backup file format of the appliance and the jobs
// that make and check backups: a container of named parts (today one, the
// storage snapshot stream) closed by a manifest of sizes and SHA-256 sums,
// encrypted with age to X25519 recipients or a passphrase; verification
// without restoring; restore into a new data dir; and the scheduler that
// makes backups on the leader at a fixed interval.
//
// It builds on storage's snapshot stream and must not import the HTTP layer
// or the cluster package: cmd/xdr wires restore and the Raft seeding
// together.
package backup
