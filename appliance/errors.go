package appliance

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. The HTTP layer maps them to statuses and
// logs only EINTERNAL.
const (
	EINVALID      = "invalid"      // the caller sent something malformed
	ENOTFOUND     = "not_found"    // the thing asked for does not exist (for this tenant)
	ECONFLICT     = "conflict"     // it exists already, or the state forbids the change
	EUNAUTHORIZED = "unauthorized" // missing or wrong credentials
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed
	ETOOLARGE     = "too_large"    // input over a size limit
	EBUSY         = "busy"         // back-pressure: try again later
	EUNAVAILABLE  = "unavailable"  // no leader, shutting down: try again elsewhere or later
	EINTERNAL     = "internal"     // a bug or an infrastructure failure
)

// Error is a domain error with a code and a message fit to show the caller.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL when err is not an *Error and
// "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err; internal errors are
// reduced to a generic text so no internals leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrNotLeader is returned by writes on a node that is not the Raft leader
// and cannot forward. Check it with errors.Is.
var ErrNotLeader = &Error{Code: EUNAVAILABLE, Message: "this node is not the cluster leader"}
