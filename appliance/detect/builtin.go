package detect

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"sync"

	"github.com/minixdr/xdr/appliance/sigma"
)

// rulesFS is the built-in rule pack: Sigma rules written for the sensors
// the appliance ingests (docs/detection.md "Built-in rules").
//
//go:embed rules/*.yml
var rulesFS embed.FS

// Builtin returns the built-in rules, in file name order, parsed once;
// callers must not modify them. They are part of the build, so a rule that
// does not parse is a build defect: it panics, and the package tests prove
// it does not.
var Builtin = sync.OnceValue(parseBuiltin)

func parseBuiltin() []*sigma.Rule {
	names, err := fs.Glob(rulesFS, "rules/*.yml")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	var rules []*sigma.Rule
	for _, name := range names {
		data, err := rulesFS.ReadFile(name)
		if err != nil {
			panic(err)
		}
		r, err := ParseOne(data)
		if err != nil {
			panic(fmt.Sprintf("detect: built-in rule %s: %v", name, err))
		}
		rules = append(rules, r)
	}
	return rules
}

// IsBuiltin reports whether id is a built-in rule's.
func IsBuiltin(id string) bool {
	for _, r := range Builtin() {
		if r.ID == id {
			return true
		}
	}
	return false
}
