package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// thirdPartyLicenses concatenates the licence files at the root of every
// module compiled into the binary, as found in the module cache: a static
// binary carries their code, so the package carries their notices.
func thirdPartyLicenses(repo string, mods []module) ([]byte, error) {
	cmd := exec.Command("go", "list", "-m", "-json", "all")
	cmd.Dir = repo
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m all: %w", err)
	}
	type listed struct {
		Path, Version, Dir string
		Replace            *listed
	}
	dirs := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m listed
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list -m all: %w", err)
		}
		if m.Replace != nil {
			m = *m.Replace
		}
		dirs[m.Path+"@"+m.Version] = m.Dir
	}

	var b bytes.Buffer
	b.WriteString("Licences of the Go modules compiled into /usr/bin/xdr\n")
	for _, m := range mods {
		dir := dirs[m.path+"@"+m.version]
		if dir == "" {
			return nil, fmt.Errorf("module %s@%s is not in the module cache (run go mod download)", m.path, m.version)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range entries {
			up := strings.ToUpper(e.Name())
			if !e.IsDir() && (strings.HasPrefix(up, "LICENSE") || strings.HasPrefix(up, "LICENCE") || strings.HasPrefix(up, "COPYING") || strings.HasPrefix(up, "NOTICE")) {
				names = append(names, e.Name())
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("module %s@%s has no licence file at its root", m.path, m.version)
		}
		slices.Sort(names)
		for _, n := range names {
			text, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "\n%s\n%s@%s: %s\n%s\n\n%s\n", strings.Repeat("=", 78), m.path, m.version, n, strings.Repeat("=", 78), bytes.TrimSpace(text))
		}
	}
	return b.Bytes(), nil
}
