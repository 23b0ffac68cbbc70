package intel_test

import (
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance/intel"
)

// FuzzParsePattern: any input either parses or fails with a PatternError
// whose offset lies within the input; never a panic or a hang.
func FuzzParsePattern(f *testing.F) {
	f.Add("[ipv4-addr:value = '1.2.3.4']")
	f.Add("[domain-name:value = 'a.example' OR ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := intel.ParsePattern(s)
		if err != nil {
			pe, ok := err.(*intel.PatternError)
			if !ok || pe.Offset < 0 || pe.Offset > len(s) {
				t.Fatalf("error %v (%T) out of range for %d bytes", err, err, len(s))
			}
			return
		}
		if p.Root == nil {
			t.Fatal("nil root without error")
		}
	})
}

// FuzzImport runs every importer on arbitrary bytes: an import either
// fails with an error or accounts for what it read, and every indicator it
// keeps is normalised (normalising it again changes nothing) and matchable.
func FuzzImport(f *testing.F) {
	f.Add("stix", []byte(`{"type":"bundle","objects":[{"type":"indicator","id":"i","pattern":"[url:value = 'http://a.example/x']"}]}`))
	f.Add("misp", []byte(`{"Event":{"Attribute":[{"type":"filename|md5","value":"a.exe|001dd76872d80801692ff942308c64e6","to_ids":true}]}}`))
	f.Add("csv", []byte("value,type\n10.0.0.0/8,ip\n"))
	f.Add("list", []byte("1.2.3.4\t3\nexample.com\n"))
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		r, err := intel.Import(data, intel.Options{Format: format, All: true})
		if err != nil {
			return
		}
		if r.Imported != len(r.Indicators) || len(r.Problems) > r.Malformed {
			t.Fatalf("report does not add up: %+v", r)
		}
		for _, in := range r.Indicators {
			again, err := intel.Normalise(in.Type, in.Value)
			if err != nil || again != in.Value {
				t.Fatalf("indicator %+v not normalised: %q, %v", in, again, err)
			}
		}
		m := intel.NewMatcher(r.Indicators)
		for _, in := range r.Indicators {
			if in.Group != "" || in.Type == intel.TypeURL || strings.Contains(in.Value, "/") {
				continue
			}
			field := intel.Fields[in.Type][0]
			if len(m.Match(func(f string) []string {
				if f == field {
					return []string{in.Value}
				}
				return nil
			}, in.ValidFrom)) == 0 && in.ValidAt(in.ValidFrom) {
				t.Fatalf("indicator %+v does not match its own value", in)
			}
		}
	})
}
