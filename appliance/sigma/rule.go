package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rule is one parsed Sigma rule (detection or correlation).
type Rule struct {
	ID, Title, Status, Level, Description string // Level: informational|low|medium|high|critical
	// Name is the rule's optional name, by which correlation rules may
	// refer to it (as well as by ID).
	Name           string
	Author, Date   string
	Tags           []string // raw tags, e.g. "attack.t1110", "attack.credential-access"
	References     []string
	FalsePositives []string
	Logsource      Logsource
	Correlation    *Correlation // nil for a detection rule
	Source         []byte       // the YAML as given
	// Line is the first line of the rule's document in the input of
	// ParseRules (1-based), so messages can point into a multi-document file.
	Line int

	detection *detection // nil for a correlation rule
}

// Logsource is the rule's logsource section.
type Logsource struct {
	Product, Category, Service string
}

// Levels are the valid values of Rule.Level, least severe first.
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// Limits on rule input: a rule file is operator input but may come from an
// archive downloaded from the internet.
const (
	maxRuleBytes = 1 << 20 // one document
	maxDocuments = 10_000  // documents in one ParseRules call
)

// ParseError says which document of a ParseRules input failed, where and why.
type ParseError struct {
	Document int    // 1-based
	Line     int    // 1-based line in the whole input, 0 if unknown
	Field    string // the YAML path of the offending field, if known
	Reason   string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "document %d", e.Document)
	if e.Line > 0 {
		fmt.Fprintf(&b, ", line %d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ", %s", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// ParseRules parses one YAML input holding one or more Sigma rules (YAML
// documents separated by "---"). It returns every rule that parsed and, if
// any document failed, an error joining one *ParseError per failed document:
// a caller importing rules keeps the good ones and reports the others.
func ParseRules(data []byte) ([]*Rule, error) {
	var rules []*Rule
	var errs []error
	for i, doc := range splitDocuments(data) {
		if i >= maxDocuments {
			errs = append(errs, &ParseError{Document: i + 1, Line: doc.line, Reason: fmt.Sprintf("more than %d documents in one input", maxDocuments)})
			break
		}
		if len(bytes.TrimSpace(stripComments(doc.text))) == 0 {
			continue // an empty document, e.g. after a trailing "---"
		}
		r, err := parseDocument(doc.text, doc.line)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				pe = &ParseError{Reason: err.Error()}
			}
			pe.Document = i + 1
			errs = append(errs, pe)
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

type document struct {
	text []byte
	line int // first line of text in the input, 1-based
}

// splitDocuments cuts data at document markers ("---" alone on a line), so
// every rule keeps its own YAML as Source and errors name their document.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine, line := 0, 1, 1
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		l := bytes.TrimRight(data[pos:next], " \t\r\n")
		if bytes.Equal(l, []byte("---")) || bytes.HasPrefix(l, []byte("--- ")) || bytes.HasPrefix(l, []byte("---\t")) {
			docs = append(docs, document{data[start:pos], startLine})
			start, startLine = next, line+1
		}
		pos = next
		line++
	}
	return append(docs, document{data[start:], startLine})
}

// stripComments drops comment-only lines, to tell an empty document apart.
func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("...")) {
			out = append(out, t...)
		}
	}
	return out
}

// parseDocument parses one rule; line is the document's first line in the
// whole input, so positions in errors are positions in the input.
func parseDocument(text []byte, line int) (*Rule, error) {
	if len(text) > maxRuleBytes {
		return nil, &ParseError{Line: line, Reason: fmt.Sprintf("rule is %d bytes, over the limit of %d", len(text), maxRuleBytes)}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(text))
	if err := dec.Decode(&root); err != nil {
		return nil, &ParseError{Line: line, Reason: "invalid YAML: " + yamlReason(err, line)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &ParseError{Line: line, Reason: "more than one YAML document (separate rules with a line holding only ---)"}
	}
	p := &nodeParser{base: line - 1}
	r := &Rule{Source: bytes.Clone(text), Line: line}
	if err := p.rule(&root, r); err != nil {
		return nil, err
	}
	return r, nil
}

// yamlReason rewrites the decoder's "line N" to the line in the whole input.
func yamlReason(err error, base int) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var n int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &n); scanErr == nil {
		_, rest, _ := strings.Cut(msg, ":")
		return fmt.Sprintf("line %d:%s", n+base-1, rest)
	}
	return msg
}

// nodeParser reads the rule's YAML tree, reporting positions in the input.
type nodeParser struct {
	base int // lines before the document
}

func (p *nodeParser) errorf(n *yaml.Node, field, format string, args ...any) error {
	line := 0
	if n != nil && n.Line > 0 {
		line = n.Line + p.base
	}
	return &ParseError{Line: line, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func (p *nodeParser) rule(root *yaml.Node, r *Rule) error {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "", "a rule must be a YAML mapping, not %s", kindName(n))
	}
	var detNode, corrNode *yaml.Node
	scalars := map[string]*string{"title": &r.Title, "id": &r.ID, "name": &r.Name, "status": &r.Status,
		"level": &r.Level, "description": &r.Description, "author": &r.Author, "date": &r.Date}
	lists := map[string]*[]string{"tags": &r.Tags, "references": &r.References, "falsepositives": &r.FalsePositives}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		key := k.Value
		if seen[key] {
			return p.errorf(k, key, "duplicate key")
		}
		seen[key] = true
		var err error
		switch {
		case scalars[key] != nil:
			*scalars[key], err = p.scalar(v, key)
		case lists[key] != nil:
			*lists[key], err = p.strings(v, key)
		}
		switch key {
		case "logsource":
			err = p.logsource(v, &r.Logsource)
		case "detection":
			detNode = v
		case "correlation":
			corrNode = v
		case "action":
			// Sigma 1 rule collections ("action: global") merge documents;
			// SigmaHQ no longer ships them and their meaning depends on
			// document order, so they are refused rather than guessed.
			s, _ := p.scalar(v, key)
			return p.errorf(v, key, "rule collections (action: %s) are not supported; write one complete rule per document", s)
		}
		if err != nil {
			return err
		}
	}
	if r.Title == "" {
		return p.errorf(n, "title", "missing title")
	}
	r.Level = strings.ToLower(r.Level)
	if r.Level != "" && levelRank(r.Level) < 0 {
		return p.errorf(n, "level", "unknown level %q (want one of %s)", r.Level, strings.Join(Levels, ", "))
	}
	switch {
	case detNode != nil && corrNode != nil:
		return p.errorf(corrNode, "correlation", "a rule has either detection or correlation, not both")
	case detNode != nil:
		det, err := p.detection(detNode)
		if err != nil {
			return err
		}
		r.detection = det
	case corrNode != nil:
		c, err := p.correlation(corrNode)
		if err != nil {
			return err
		}
		r.Correlation = c
	default:
		return p.errorf(n, "detection", "missing detection (or correlation)")
	}
	return nil
}

func (p *nodeParser) logsource(v *yaml.Node, ls *Logsource) error {
	if v.Kind != yaml.MappingNode {
		return p.errorf(v, "logsource", "want a mapping, got %s", kindName(v))
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], resolveAlias(v.Content[i+1])
		var dst *string
		switch k.Value {
		case "product":
			dst = &ls.Product
		case "category":
			dst = &ls.Category
		case "service":
			dst = &ls.Service
		default:
			continue // definition and vendor extensions
		}
		s, err := p.scalar(val, "logsource."+k.Value)
		if err != nil {
			return err
		}
		*dst = strings.ToLower(s)
	}
	return nil
}

func (p *nodeParser) scalar(v *yaml.Node, field string) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", p.errorf(v, field, "want a single value, got %s", kindName(v))
	}
	if v.Tag == "!!null" {
		return "", nil
	}
	return v.Value, nil
}

func (p *nodeParser) strings(v *yaml.Node, field string) ([]string, error) {
	if v.Kind == yaml.ScalarNode {
		if v.Tag == "!!null" {
			return nil, nil
		}
		return []string{v.Value}, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, p.errorf(v, field, "want a list, got %s", kindName(v))
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		s, err := p.scalar(resolveAlias(e), field)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func levelRank(l string) int {
	for i, v := range Levels {
		if v == l {
			return i
		}
	}
	return -1
}

// Techniques returns the ATT&CK technique IDs of the rule's tags
// ("attack.t1059.001" → "T1059.001"), upper-cased, in tag order, once each.
func (r *Rule) Techniques() []string {
	var out []string
	for _, t := range r.Tags {
		rest, ok := cutPrefixFold(t, "attack.")
		if !ok || len(rest) < 2 || (rest[0] != 't' && rest[0] != 'T') || !isDigits(strings.ReplaceAll(rest[1:], ".", "")) {
			continue
		}
		out = appendOnce(out, strings.ToUpper(rest))
	}
	return out
}

// Tactics returns the ATT&CK tactics of the rule's tags
// ("attack.credential-access" → "credential-access"), lower-cased, once each.
// Group (gNNNN) and software (sNNNN) tags are neither techniques nor tactics.
func (r *Rule) Tactics() []string {
	var out []string
	for _, t := range r.Tags {
		rest, ok := cutPrefixFold(t, "attack.")
		if !ok || rest == "" {
			continue
		}
		if len(rest) > 1 && strings.ContainsRune("tgsTGS", rune(rest[0])) && isDigits(strings.ReplaceAll(rest[1:], ".", "")) {
			continue
		}
		out = appendOnce(out, strings.ReplaceAll(strings.ToLower(rest), "_", "-"))
	}
	return out
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func appendOnce(list []string, s string) []string {
	for _, e := range list {
		if e == s {
			return list
		}
	}
	return append(list, s)
}

// label names the rule in messages: its id and title.
func (r *Rule) label() string {
	if r.ID == "" {
		return fmt.Sprintf("rule %q", r.Title)
	}
	return fmt.Sprintf("rule %s (%q)", r.ID, r.Title)
}
