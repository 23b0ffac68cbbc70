package command

// EncodeIngestBatchPlain is the uncompressed (version 1) encoding, which
// the decoder still reads: the tests corrupt it field by field.
var EncodeIngestBatchPlain = encodeIngestBatch
