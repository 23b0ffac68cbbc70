package sigma

import (
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// The correlator's state as MarshalBinary writes it (version 2): the magic
// "XSC\x02", the watermark, then every group in key order: the correlation
// rule's id (or title, so a state survives a reordered rule set), the group
// key, the window start and the observations (time, rule position, event
// id, counted value). Integers are varints, strings length-prefixed. The
// first version was JSON; UnmarshalBinary still reads it.

var stateMagic = []byte("XSC\x02")

// MarshalBinary serialises the correlator's state, deterministically.
func (c *Correlator) MarshalBinary() ([]byte, error) {
	keys := make([]string, 0, len(c.groups))
	size := 32
	for k, g := range c.groups {
		keys = append(keys, k)
		size += len(k) + 48 + len(g.Obs)*40
	}
	sort.Strings(keys)
	b := make([]byte, 0, size)
	b = append(b, stateMagic...)
	b = binary.AppendVarint(b, c.watermark)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		g := c.groups[k]
		b = appendString(b, ruleRef(c.defs[g.Def].rule))
		b = appendString(b, g.Key)
		b = binary.AppendVarint(b, g.Start)
		b = binary.AppendUvarint(b, uint64(len(g.Obs)))
		for _, o := range g.Obs {
			b = binary.AppendVarint(b, o.T)
			b = binary.AppendUvarint(b, uint64(o.Rule))
			b = appendString(b, o.ID)
			b = appendString(b, o.Value)
		}
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// UnmarshalBinary restores a state from MarshalBinary. Groups of
// correlation rules the rule set no longer has are dropped.
func (c *Correlator) UnmarshalBinary(data []byte) error {
	groups, watermark, err := decodeState(data)
	if err != nil {
		return fmt.Errorf("correlator state: %w", err)
	}
	byRef := map[string]int{}
	for i, d := range c.defs {
		byRef[ruleRef(d.rule)] = i
	}
	c.groups = map[string]*corrGroup{}
	c.closing, c.expiring = nil, nil
	c.watermark = watermark
	defer c.countObservations()
	for _, sg := range groups {
		di, ok := byRef[sg.Rule]
		if !ok {
			continue
		}
		g := sg.corrGroup
		g.Def = di
		for i := range g.Obs {
			if g.Obs[i].Rule < 0 || g.Obs[i].Rule >= len(c.defs[di].rule.Correlation.Rules) {
				return fmt.Errorf("correlator state: group %q of %s: rule position %d out of range", g.Key, sg.Rule, g.Obs[i].Rule)
			}
		}
		gk := strconv.Itoa(di) + "\x00" + g.Key
		c.groups[gk] = &g
		span := int64(c.defs[di].rule.Correlation.Timespan)
		switch {
		case len(g.Obs) == 0:
		case c.defs[di].atEnd:
			heap.Push(&c.closing, closeItem{end: g.Start + span, key: gk})
		default:
			c.queueExpiry(gk, &g, span)
		}
	}
	return nil
}

// stateGroup is one group as stored, with its correlation rule's name.
type stateGroup struct {
	Rule string
	corrGroup
}

func decodeState(data []byte) ([]stateGroup, int64, error) {
	if len(data) > 0 && data[0] == '{' {
		return decodeStateJSON(data)
	}
	if len(data) < len(stateMagic) || string(data[:len(stateMagic)]) != string(stateMagic) {
		return nil, 0, errors.New("not a correlator state (bad magic)")
	}
	d := stateDecoder{b: data[len(stateMagic):]}
	watermark := d.varint()
	n := d.count(8)
	groups := make([]stateGroup, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var g stateGroup
		g.Rule = d.string()
		g.Key = d.string()
		g.Start = d.varint()
		nobs := d.count(4)
		g.Obs = make([]corrObs, 0, nobs)
		for j := 0; j < nobs && d.err == nil; j++ {
			o := corrObs{T: d.varint(), Rule: int(d.count(0))}
			o.ID = d.string()
			o.Value = d.string()
			g.Obs = append(g.Obs, o)
		}
		groups = append(groups, g)
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes after the state", len(d.b))
	}
	return groups, watermark, d.err
}

// decodeStateJSON reads the first version of the state.
func decodeStateJSON(data []byte) ([]stateGroup, int64, error) {
	var st struct {
		Version   int `json:"version"`
		Watermark int64
		Groups    []struct {
			Rule  string
			Key   string `json:"k"`
			Start int64  `json:"s"`
			Obs   []struct {
				T     int64  `json:"t"`
				Rule  int    `json:"r"`
				ID    string `json:"i"`
				Value string `json:"v"`
			} `json:"o"`
		}
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, 0, err
	}
	if st.Version != 1 {
		return nil, 0, fmt.Errorf("unknown version %d", st.Version)
	}
	var groups []stateGroup
	for _, g := range st.Groups {
		sg := stateGroup{Rule: g.Rule, corrGroup: corrGroup{Key: g.Key, Start: g.Start}}
		for _, o := range g.Obs {
			sg.Obs = append(sg.Obs, corrObs{T: o.T, Rule: o.Rule, ID: o.ID, Value: o.Value})
		}
		groups = append(groups, sg)
	}
	return groups, st.Watermark, nil
}

// stateDecoder reads varints and strings, keeping the first error.
type stateDecoder struct {
	b   []byte
	err error
}

func (d *stateDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("truncated or malformed %s", what)
	}
	d.b = nil
}

func (d *stateDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads an unsigned count of items of at least minSize bytes each,
// refusing counts the remaining input cannot hold.
func (d *stateDecoder) count(minSize int) int {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("count")
		return 0
	}
	d.b = d.b[n:]
	if v > uint64(len(d.b)+1)*8 || (minSize > 0 && v > uint64(len(d.b)/minSize+1)) || v > 1<<31 {
		d.fail("count")
		return 0
	}
	return int(v)
}

func (d *stateDecoder) string() string {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(len(d.b)-n) {
		d.fail("string")
		return ""
	}
	s := string(d.b[n : n+int(v)])
	d.b = d.b[n+int(v):]
	return s
}

// Observations is how many observations the correlator holds: the size of
// its state, which the pipeline weighs against the length of its replay
// log to decide when saving the state whole is worth it.
func (c *Correlator) Observations() int { return c.nobs }

// countObservations recounts nobs from the groups (after a restore).
func (c *Correlator) countObservations() {
	c.nobs = 0
	for _, g := range c.groups {
		c.nobs += len(g.Obs)
	}
}
