package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// adminSocket is the path of a node's local admin socket.
func adminSocket(dataDir string) string { return filepath.Join(dataDir, "admin.sock") }

// adminClient talks HTTP to the node of dataDir over its Unix socket.
func adminClient(dataDir string) *http.Client {
	sock := adminSocket(dataDir)
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
}

// adminCall posts body to path on the local node and decodes the answer.
func adminCall(ctx context.Context, dataDir, path string, body, out any) error {
	if _, err := os.Stat(adminSocket(dataDir)); err != nil {
		return fmt.Errorf("no running node found for data dir %s (is `xdr serve --data-dir %s` running, and may you read it?)", dataDir, dataDir)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://xdr"+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := adminClient(dataDir).Do(req)
	if err != nil {
		return fmt.Errorf("reach node over %s: %w", adminSocket(dataDir), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return nodeError(resp.Status, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

func tokenCreate(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "tenant the token belongs to (required)")
	name := fs.String("name", "", "a name for the token (required)")
	scope := fs.String("scope", "ingest", "ingest (send events only) or api")
	dataDir := fs.String("data-dir", orDefault(getenv("XDR_DATA_DIR"), "./data"), "data dir of the local node")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("token create takes no arguments, got %q", pos[0])
	}
	if *tenant == "" || *name == "" {
		return fmt.Errorf("--tenant and --name are required")
	}
	var out struct {
		Token string `json:"token"`
	}
	body := map[string]string{"tenant": *tenant, "name": *name, "scope": *scope}
	if err := adminCall(ctx, *dataDir, "/admin/tokens", body, &out); err != nil {
		return err
	}
	fmt.Fprintln(stdout, out.Token)
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
