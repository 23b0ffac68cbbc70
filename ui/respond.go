package ui

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/minixdr/xdr/appliance"
)

// statusOf maps a domain error code to an HTTP status.
func statusOf(code string) int {
	switch code {
	case appliance.EINVALID:
		return http.StatusBadRequest
	case appliance.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case appliance.EFORBIDDEN:
		return http.StatusForbidden
	case appliance.ENOTFOUND:
		return http.StatusNotFound
	case appliance.ECONFLICT:
		return http.StatusConflict
	case appliance.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case appliance.EBUSY:
		return http.StatusTooManyRequests
	case appliance.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// retryAfterSeconds is what back-pressure answers tell clients to wait.
const retryAfterSeconds = 1

// writeError answers with {"error": message} and the status of err's code;
// only internal errors are logged, and their details never reach the client.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := appliance.ErrorCode(err)
	status := statusOf(code)
	if status == http.StatusInternalServerError {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	writeJSON(w, status, map[string]string{"error": appliance.ErrorMessage(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
