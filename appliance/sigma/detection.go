package sigma

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// detection is a rule's parsed detection section, before compilation.
type detection struct {
	idents map[string]*searchIdent
	names  []string    // identifiers in document order
	conds  []*condExpr // the condition, or a list of them (any may match)
}

// searchIdent is one search identifier: either keywords (values searched in
// the whole event) or an OR of maps, each an AND of field specs.
type searchIdent struct {
	name     string
	keywords *fieldSpec
	maps     [][]*fieldSpec
}

// fieldSpec is "field|mod|mod: values" as written.
type fieldSpec struct {
	field  string // "" for keywords
	mods   []string
	values []rawValue
	line   int
}

// rawValue is one YAML scalar of a detection value.
type rawValue struct {
	s       string
	null    bool
	number  bool // an integer or float in YAML: compared as text, or numerically by lt/gt
	boolean bool
}

func (p *nodeParser) detection(n *yaml.Node) (*detection, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, "detection", "want a mapping, got %s", kindName(n))
	}
	d := &detection{idents: map[string]*searchIdent{}}
	var condNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		switch k.Value {
		case "condition":
			condNode = v
			continue
		case "timeframe":
			continue // Sigma 1 aggregation window: meaningless without an aggregation
		}
		if _, dup := d.idents[k.Value]; dup {
			return nil, p.errorf(k, "detection."+k.Value, "duplicate search identifier")
		}
		id, err := p.searchIdent(k.Value, v)
		if err != nil {
			return nil, err
		}
		d.idents[k.Value] = id
		d.names = append(d.names, k.Value)
	}
	if condNode == nil {
		return nil, p.errorf(n, "detection.condition", "missing condition")
	}
	conds, err := p.strings(condNode, "detection.condition")
	if err != nil {
		return nil, err
	}
	if len(conds) == 0 {
		return nil, p.errorf(condNode, "detection.condition", "empty condition")
	}
	for _, c := range conds {
		e, err := parseCondition(c)
		if err == nil {
			err = e.check(d.names)
		}
		if err != nil {
			return nil, p.errorf(condNode, "detection.condition", "%v", err)
		}
		d.conds = append(d.conds, e)
	}
	return d, nil
}

func (p *nodeParser) searchIdent(name string, v *yaml.Node) (*searchIdent, error) {
	field := "detection." + name
	id := &searchIdent{name: name}
	switch v.Kind {
	case yaml.MappingNode:
		m, err := p.fieldMap(v, field)
		if err != nil {
			return nil, err
		}
		id.maps = [][]*fieldSpec{m}
	case yaml.SequenceNode:
		// A list of maps (any may match), or a list of keywords.
		var maps int
		for _, e := range v.Content {
			if resolveAlias(e).Kind == yaml.MappingNode {
				maps++
			}
		}
		switch {
		case maps == len(v.Content) && maps > 0:
			for _, e := range v.Content {
				m, err := p.fieldMap(resolveAlias(e), field)
				if err != nil {
					return nil, err
				}
				id.maps = append(id.maps, m)
			}
		case maps == 0:
			vals, err := p.values(v, field)
			if err != nil {
				return nil, err
			}
			id.keywords = &fieldSpec{values: vals, line: v.Line + p.base}
		default:
			return nil, p.errorf(v, field, "a list must hold either maps or keywords, not both")
		}
	case yaml.ScalarNode:
		vals, err := p.values(v, field)
		if err != nil {
			return nil, err
		}
		id.keywords = &fieldSpec{values: vals, line: v.Line + p.base}
	default:
		return nil, p.errorf(v, field, "want a map, a list or a keyword, got %s", kindName(v))
	}
	return id, nil
}

func (p *nodeParser) fieldMap(v *yaml.Node, field string) ([]*fieldSpec, error) {
	var specs []*fieldSpec
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], resolveAlias(v.Content[i+1])
		path := field + "." + k.Value
		name, mods, err := splitModifiers(k.Value)
		if err != nil {
			return nil, p.errorf(k, path, "%v", err)
		}
		vals, err := p.values(val, path)
		if err != nil {
			return nil, err
		}
		fs := &fieldSpec{field: name, mods: mods, values: vals, line: k.Line + p.base}
		if err := checkModifiers(fs); err != nil {
			return nil, p.errorf(k, path, "%v", err)
		}
		specs = append(specs, fs)
	}
	if len(specs) == 0 {
		return nil, p.errorf(v, field, "empty map")
	}
	return specs, nil
}

// values reads a scalar or a list of scalars.
func (p *nodeParser) values(v *yaml.Node, field string) ([]rawValue, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		return []rawValue{scalarValue(v)}, nil
	case yaml.SequenceNode:
		out := make([]rawValue, 0, len(v.Content))
		for _, e := range v.Content {
			e = resolveAlias(e)
			if e.Kind != yaml.ScalarNode {
				return nil, p.errorf(e, field, "want a value, got %s", kindName(e))
			}
			out = append(out, scalarValue(e))
		}
		return out, nil
	}
	return nil, p.errorf(v, field, "want a value or a list of values, got %s", kindName(v))
}

func scalarValue(n *yaml.Node) rawValue {
	switch n.Tag {
	case "!!null":
		return rawValue{null: true}
	case "!!int", "!!float":
		return rawValue{s: n.Value, number: true}
	case "!!bool":
		return rawValue{s: strings.ToLower(n.Value), boolean: true}
	}
	return rawValue{s: n.Value}
}

func splitModifiers(key string) (string, []string, error) {
	parts := strings.Split(key, "|")
	for i, m := range parts[1:] {
		if m == "" {
			return "", nil, fmt.Errorf("empty modifier in %q", key)
		}
		parts[i+1] = strings.ToLower(m)
	}
	return parts[0], parts[1:], nil
}
