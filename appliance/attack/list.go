package attack

import "sort"

// Techniques returns every technique and sub-technique, by ID.
func (c *Catalogue) Techniques() []Technique {
	out := make([]Technique, 0, len(c.techniques))
	for _, t := range c.techniques {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
