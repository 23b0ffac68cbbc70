package intel_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance/intel"

	"github.com/minixdr/xdr/internal/shareddata"
)

// sample reads a file of ../shared/data/intel (from the repository root).
func sample(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(shareddata.Path(t, "data", "intel", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The counts are those of the READMEs of ../shared/data/intel: every
// indicator of the required types is imported, except the values the
// READMEs call malformed, which are reported.
func TestImportSamples(t *testing.T) {
	type counts = map[intel.Type]int
	for _, tc := range []struct {
		path      string
		all       bool
		format    string
		read      int
		byType    counts
		malformed int
		problem   string // part of the first problem's reason
		skipped   map[string]int
	}{
		// 12 indicators: 4 CIDR ranges, 3 domains, 3 MD5s; 2 x509 AND compounds.
		{path: "stix/apt1.json", format: "stix", read: 12,
			byType:  counts{intel.TypeIP: 4, intel.TypeDomain: 3, intel.TypeMD5: 3},
			skipped: map[string]int{"stix: x509-certificate:issuer": 2}},
		// 25 indicators; 25 domain and 40 IPv4 comparisons in all (19 of them
		// OR compounds, split into one indicator per comparison), 2 file
		// names; one domain is malformed as published.
		{path: "stix/poisonivy.json", format: "stix", read: 25,
			byType:    counts{intel.TypeDomain: 24, intel.TypeIP: 40, intel.TypeFileName: 2},
			malformed: 1, problem: `"domain autuo.xicp.net" is not a domain name`},
		{path: "stix/indicators-for-C2-with-COA.json", format: "stix", read: 2,
			byType: counts{intel.TypeIP: 1, intel.TypeSHA256: 1}},
		{path: "stix/indicator-for-malicious-url.json", format: "stix", read: 1,
			byType: counts{intel.TypeURL: 1}},
		// 370 attributes, 258 with to_ids: ip-dst 8, hostname 9 + domain 3,
		// url 14 (3 not URLs), md5 31 + filename|md5 44, sha256 40 +
		// filename|sha256 44, sha1 57, filename 4; email-attachment, imphash,
		// pehash and ssdeep are not observed.
		{path: "misp/asert-four-element-sword.event.json", format: "misp", read: 370,
			byType: counts{intel.TypeIP: 8, intel.TypeDomain: 12, intel.TypeURL: 11, intel.TypeMD5: 75,
				intel.TypeSHA256: 84, intel.TypeSHA1: 57, intel.TypeFileName: 4},
			malformed: 3, problem: `"107.183.86" is not a URL`,
			skipped: map[string]int{"misp: to_ids false (import with --all to match these too)": 112,
				"misp: type email-attachment": 1, "misp: type imphash": 1, "misp: type pehash": 1, "misp: type ssdeep": 1}},
		// All 319 attributes have to_ids false: nothing by default.
		{path: "misp/eset-invisimole.response.json", format: "misp", read: 319, byType: counts{},
			skipped: map[string]int{"misp: to_ids false (import with --all to match these too)": 319}},
		{path: "misp/eset-invisimole.response.json", all: true, format: "misp", read: 319,
			byType: counts{intel.TypeIP: 6, intel.TypeDomain: 13, intel.TypeSHA1: 89, intel.TypeFileName: 10},
			skipped: map[string]int{"misp: filename with a path": 19, "misp: type mutex": 4, "misp: type other": 63,
				"misp: type regkey": 5, "misp: type regkey|value": 94, "misp: type text": 16}},
		{path: "lists/ipsum-min5.tsv", format: "list", read: 1413, byType: counts{intel.TypeIP: 1413}},
		{path: "lists/eset-stantinko-cryptominer.sha256", format: "list", read: 1053, byType: counts{intel.TypeSHA256: 1053}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r, err := intel.Import(sample(t, tc.path), intel.Options{All: tc.all})
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != tc.format || r.Read != tc.read || r.Malformed != tc.malformed {
				t.Errorf("format %s read %d malformed %d; want %s %d %d (problems %v)", r.Format, r.Read, r.Malformed, tc.format, tc.read, tc.malformed, r.Problems)
			}
			if !reflect.DeepEqual(r.ByType, tc.byType) {
				t.Errorf("by type %v, want %v", r.ByType, tc.byType)
			}
			sum := 0
			for _, n := range tc.byType {
				sum += n
			}
			if r.Imported != sum || len(r.Indicators) != sum {
				t.Errorf("imported %d (%d indicators), want %d", r.Imported, len(r.Indicators), sum)
			}
			if tc.skipped == nil {
				tc.skipped = map[string]int{}
			}
			if r.Skipped == nil {
				r.Skipped = map[string]int{}
			}
			if !reflect.DeepEqual(r.Skipped, tc.skipped) {
				t.Errorf("skipped %v, want %v", r.Skipped, tc.skipped)
			}
			if tc.problem != "" && (len(r.Problems) == 0 || !strings.Contains(r.Problems[0].Reason, tc.problem) || r.Problems[0].Where == "") {
				t.Errorf("problems %v, want one about %s", r.Problems, tc.problem)
			}
			ids := map[string]bool{}
			for _, in := range r.Indicators {
				if in.ID == "" || in.Source != tc.format {
					t.Fatalf("indicator without ID or source: %+v", in)
				}
				ids[in.ID] = true
			}
			if len(ids) != len(r.Indicators) {
				t.Errorf("%d distinct IDs for %d indicators", len(ids), len(r.Indicators))
			}
		})
	}
}

func TestImportIsDeterministic(t *testing.T) {
	a, err := intel.Import(sample(t, "stix/poisonivy.json"), intel.Options{Source: "pivy"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := intel.Import(sample(t, "stix/poisonivy.json"), intel.Options{Source: "pivy"})
	if !reflect.DeepEqual(a.Indicators, b.Indicators) {
		t.Fatal("two imports of the same file differ")
	}
	if a.Indicators[0].Source != "pivy" || a.Indicators[0].Name == "" {
		t.Errorf("context lost: %+v", a.Indicators[0])
	}
}
