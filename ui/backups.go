package ui

import (
	"context"
	"io"
	"net/http"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/ui/pages"
)

// Backups is what the backup endpoints and page need of the node.
type Backups interface {
	// WriteBackup streams an unencrypted backup container of the current
	// state; the CLI encrypts it as it arrives.
	WriteBackup(ctx context.Context, w io.Writer) error
	// Status is the schedule and the record of scheduled backups.
	Status(ctx context.Context) (pages.BackupStatus, error)
}

// adminBackup streams a backup to `xdr backup create`. Once bytes are out
// the status cannot change, so a failure then aborts the response: the
// client sees a broken stream, never a clean end.
func (s *Server) adminBackup(w http.ResponseWriter, r *http.Request) {
	if s.d.Backups == nil {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EUNAVAILABLE, "backups are not available on this node"))
		return
	}
	sw := &startedWriter{w: w}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := s.d.Backups.WriteBackup(r.Context(), sw); err != nil {
		s.d.Log.Error("backup over the admin socket failed", "err", err)
		if sw.started {
			panic(http.ErrAbortHandler)
		}
		writeError(w, r, s.d.Log, err)
	}
}

type startedWriter struct {
	w       io.Writer
	started bool
}

func (s *startedWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil // an empty write would still send the 200 header
	}
	s.started = true
	return s.w.Write(b)
}

func (s *Server) backupsPage(w http.ResponseWriter, r *http.Request) {
	vm := pages.BackupsVM{Chrome: chromeOf(r, "backups")}
	status := http.StatusOK
	if s.d.Backups == nil {
		vm.Error = "Backups are not available on this node."
	} else if st, err := s.d.Backups.Status(r.Context()); err != nil {
		s.d.Log.Error("backup status", "err", err)
		vm.Error, status = "The backup status could not be read: "+appliance.ErrorMessage(err), http.StatusInternalServerError
	} else {
		vm.Status = st
	}
	s.render(w, r, status, pages.Backups(vm))
}
