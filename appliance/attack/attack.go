package attack

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

//go:embed data/enterprise-techniques.json
var techniquesJSON []byte

//go:embed data/enterprise-tactics.json
var tacticsJSON []byte

// License is MITRE's ATT&CK license text, to show wherever the data is shown.
//
//go:embed data/LICENSE.txt
var License string

// Technique is one Enterprise technique or sub-technique.
type Technique struct {
	ID        string   `json:"id"`   // "T1110" or "T1110.001"
	Name      string   `json:"name"` // "Brute Force"
	Tactics   []string `json:"tactics"`
	Parent    string   `json:"parent,omitempty"`
	Platforms []string `json:"platforms,omitempty"`
	URL       string   `json:"url"`
}

// Tactic is one of the 14 Enterprise tactics, in matrix order.
type Tactic struct {
	ID        string `json:"id"`        // "TA0006"
	Shortname string `json:"shortname"` // "credential-access", as in Sigma tags
	Name      string `json:"name"`      // "Credential Access"
	Order     int    `json:"order"`
}

// Catalogue is the parsed data.
type Catalogue struct {
	techniques map[string]*Technique
	tactics    []Tactic
	byShort    map[string]*Tactic
}

var (
	loadOnce sync.Once
	loaded   *Catalogue
)

// Enterprise returns the embedded catalogue. The embedded files are part of
// the build, so failing to parse them is a build defect: it panics, and the
// package test proves it does not.
func Enterprise() *Catalogue {
	loadOnce.Do(func() {
		c, err := parse(techniquesJSON, tacticsJSON)
		if err != nil {
			panic(fmt.Sprintf("attack: embedded data: %v", err))
		}
		loaded = c
	})
	return loaded
}

func parse(techniques, tactics []byte) (*Catalogue, error) {
	var ts []*Technique
	if err := json.Unmarshal(techniques, &ts); err != nil {
		return nil, fmt.Errorf("techniques: %w", err)
	}
	c := &Catalogue{techniques: make(map[string]*Technique, len(ts)), byShort: map[string]*Tactic{}}
	for _, t := range ts {
		c.techniques[t.ID] = t
	}
	if err := json.Unmarshal(tactics, &c.tactics); err != nil {
		return nil, fmt.Errorf("tactics: %w", err)
	}
	for i := range c.tactics {
		c.byShort[c.tactics[i].Shortname] = &c.tactics[i]
	}
	return c, nil
}

// Technique looks a technique up by ID, case-insensitively ("t1110.001").
func (c *Catalogue) Technique(id string) (Technique, bool) {
	t, ok := c.techniques[strings.ToUpper(id)]
	if !ok {
		return Technique{}, false
	}
	return *t, true
}

// Tactic looks a tactic up by shortname ("credential-access"); Sigma tags
// write it with underscores ("credential_access"), which are accepted too.
func (c *Catalogue) Tactic(shortname string) (Tactic, bool) {
	t, ok := c.byShort[strings.ReplaceAll(strings.ToLower(shortname), "_", "-")]
	if !ok {
		return Tactic{}, false
	}
	return *t, true
}

// Tactics returns the tactics in matrix order.
func (c *Catalogue) Tactics() []Tactic { return append([]Tactic(nil), c.tactics...) }

// Len is the number of techniques and sub-techniques.
func (c *Catalogue) Len() int { return len(c.techniques) }

// Ref is a technique as alerts and incidents show it: ID, name and tactics.
// A technique the catalogue does not know (an old or revoked ID in a rule's
// tags) keeps its ID with an empty name.
type Ref struct {
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	Tactics []string `json:"tactics,omitempty"`
}

// Describe resolves technique IDs to references, in the order given.
func (c *Catalogue) Describe(ids []string) []Ref {
	refs := make([]Ref, 0, len(ids))
	for _, id := range ids {
		r := Ref{ID: id}
		if t, ok := c.Technique(id); ok {
			r.Name, r.Tactics = t.Name, t.Tactics
		}
		refs = append(refs, r)
	}
	return refs
}
