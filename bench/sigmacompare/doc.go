// Package sigmacompare benchmarks our Sigma engine (appliance/sigma)
// against two other Go Sigma engines on the same SigmaHQ Windows rules and
// the same test events: github.com/bradleyjkemp/sigma-go (the reference of
// ../shared/testdata/sigma) and github.com/markuskont/go-sigma-rule-engine.
// It is its own module so the product's go.mod does not carry them; it
// replaces github.com/minixdr/xdr with ../.., so after a dependency change
// of the product run `go mod tidy` here. CI does not build it.
//
//	cd bench/sigmacompare && GOMAXPROCS=1 go test -run '^$' -bench . -benchtime 3s
//
// The results are in docs/performance.md.
package sigmacompare
