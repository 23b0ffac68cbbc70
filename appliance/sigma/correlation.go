package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Correlation is the correlation section of a correlation rule (Sigma
// correlation rules specification).
type Correlation struct {
	Type     string   // event_count, value_count, temporal, temporal_ordered
	Rules    []string // the referenced rules, by id or name
	GroupBy  []string
	Timespan time.Duration
	// Condition: every comparison must hold (gte: 10 and lte: 20 is a
	// range). Field is the counted field of value_count.
	Condition []Comparison
	Field     string
	// Generate: the referenced rules raise their own alerts too.
	Generate bool
	// Aliases: alias name → referenced rule → that rule's field, so
	// group-by can join fields that differ between rules.
	Aliases map[string]map[string]string
}

// Comparison is one operator of a correlation condition.
type Comparison struct {
	Op    string // gt, gte, lt, lte, eq, neq
	Value int64
}

func (c Comparison) holds(n int64) bool {
	switch c.Op {
	case "gt":
		return n > c.Value
	case "gte":
		return n >= c.Value
	case "lt":
		return n < c.Value
	case "lte":
		return n <= c.Value
	case "eq":
		return n == c.Value
	}
	return n != c.Value
}

var correlationTypes = map[string]bool{"event_count": true, "value_count": true, "temporal": true, "temporal_ordered": true}

// maxTimespan bounds a correlation window, and so the state it keeps.
const maxTimespan = 30 * 24 * time.Hour

func (p *nodeParser) correlation(n *yaml.Node) (*Correlation, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, "correlation", "want a mapping, got %s", kindName(n))
	}
	c := &Correlation{}
	var condNode, tsNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		field := "correlation." + k.Value
		var err error
		switch k.Value {
		case "type":
			c.Type, err = p.scalar(v, field)
		case "rules":
			c.Rules, err = p.strings(v, field)
		case "group-by":
			c.GroupBy, err = p.strings(v, field)
		case "timespan", "timeframe":
			tsNode = v
			var s string
			if s, err = p.scalar(v, field); err == nil {
				if c.Timespan, err = parseTimespan(s); err != nil {
					return nil, p.errorf(v, field, "%v", err)
				}
			}
		case "condition":
			condNode = v
		case "generate":
			var s string
			if s, err = p.scalar(v, field); err == nil {
				c.Generate, err = strconv.ParseBool(s)
				if err != nil {
					return nil, p.errorf(v, field, "want true or false, got %q", s)
				}
			}
		case "aliases":
			c.Aliases, err = p.aliases(v)
		default:
			return nil, p.errorf(k, field, "unknown correlation key")
		}
		if err != nil {
			return nil, err
		}
	}
	if !correlationTypes[c.Type] {
		return nil, p.errorf(n, "correlation.type", "want event_count, value_count, temporal or temporal_ordered, got %q", c.Type)
	}
	if len(c.Rules) == 0 {
		return nil, p.errorf(n, "correlation.rules", "missing the rules to correlate")
	}
	if tsNode == nil {
		return nil, p.errorf(n, "correlation.timespan", "missing timespan")
	}
	if condNode != nil {
		if err := p.correlationCondition(condNode, c); err != nil {
			return nil, err
		}
	}
	switch {
	case condNode == nil && (c.Type == "temporal" || c.Type == "temporal_ordered"):
		// Default: all the referenced rules occur.
		c.Condition = []Comparison{{Op: "gte", Value: int64(len(c.Rules))}}
	case condNode == nil:
		return nil, p.errorf(n, "correlation.condition", "missing condition (e.g. gte: 10)")
	case c.Type == "value_count" && c.Field == "":
		return nil, p.errorf(condNode, "correlation.condition.field", "value_count needs the field whose distinct values are counted")
	}
	return c, nil
}

func (p *nodeParser) correlationCondition(n *yaml.Node, c *Correlation) error {
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "correlation.condition", "want a mapping such as {gte: 10}, got %s", kindName(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		field := "correlation.condition." + k.Value
		s, err := p.scalar(v, field)
		if err != nil {
			return err
		}
		switch k.Value {
		case "field":
			c.Field = s
		case "gt", "gte", "lt", "lte", "eq", "neq":
			x, err := strconv.ParseInt(s, 10, 64)
			if err != nil || x < 0 {
				return p.errorf(v, field, "want a count (a non-negative integer), got %q", s)
			}
			c.Condition = append(c.Condition, Comparison{Op: k.Value, Value: x})
		default:
			return p.errorf(k, field, "unknown condition operator (want gt, gte, lt, lte, eq, neq or field)")
		}
	}
	if len(c.Condition) == 0 {
		return p.errorf(n, "correlation.condition", "no comparison (gt, gte, lt, lte, eq, neq)")
	}
	return nil
}

func (p *nodeParser) aliases(n *yaml.Node) (map[string]map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, "correlation.aliases", "want a mapping, got %s", kindName(n))
	}
	out := map[string]map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		field := "correlation.aliases." + k.Value
		if v.Kind != yaml.MappingNode {
			return nil, p.errorf(v, field, "want a mapping of rule to field, got %s", kindName(v))
		}
		m := map[string]string{}
		for j := 0; j+1 < len(v.Content); j += 2 {
			s, err := p.scalar(resolveAlias(v.Content[j+1]), field+"."+v.Content[j].Value)
			if err != nil {
				return nil, err
			}
			m[v.Content[j].Value] = s
		}
		out[k.Value] = m
	}
	return out, nil
}

// parseTimespan reads "30s", "5m", "1h", "2d" (and "1w", "1M" months of 30
// days, "1y" 365 days, as some rules write them).
func parseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("timespan %q: want a number and a unit (s, m, h, d)", s)
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("timespan %q: want a positive number and a unit (s, m, h, d)", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour,
		'w': 7 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("timespan %q: unknown unit %q (want s, m, h or d)", s, s[len(s)-1:])
	}
	if n > int64(maxTimespan/unit) {
		return 0, fmt.Errorf("timespan %q is longer than %s", s, maxTimespan)
	}
	return time.Duration(n) * unit, nil
}

// checkCorrelations resolves the rules each correlation refers to, by id
// or name; a reference to nothing is a compile error of the correlation.
func (rs *RuleSet) checkCorrelations() []error {
	var errs []error
	keep := rs.correlations[:0]
	for _, c := range rs.correlations {
		var missing, chained []string
		for _, ref := range c.Correlation.Rules {
			switch r := rs.ruleByRef(ref); {
			case r == nil:
				missing = append(missing, ref)
			case r.Correlation != nil:
				chained = append(chained, ref)
			}
		}
		if len(chained) > 0 {
			errs = append(errs, &CompileError{c, fmt.Errorf("correlation of correlation rules (%s) is not supported", strings.Join(chained, ", "))})
			rs.dropRule(c)
			continue
		}
		if len(missing) > 0 {
			errs = append(errs, &CompileError{c, fmt.Errorf("correlation refers to unknown rules %s", strings.Join(missing, ", "))})
			rs.dropRule(c)
			continue
		}
		keep = append(keep, c)
	}
	rs.correlations = keep
	return errs
}

func (rs *RuleSet) ruleByRef(ref string) *Rule {
	for _, r := range rs.rules {
		if r.ID == ref || (r.Name != "" && r.Name == ref) {
			return r
		}
	}
	return nil
}

func (rs *RuleSet) dropRule(r *Rule) {
	for i, x := range rs.rules {
		if x == r {
			rs.rules = append(rs.rules[:i], rs.rules[i+1:]...)
			return
		}
	}
}
