package detect

import (
	"time"

	"github.com/minixdr/xdr/appliance/sigma"
)

// corrHit is a correlation rule that fired.
type corrHit struct {
	Rule     *sigma.Rule
	GroupKey string
	EventIDs []string
	Time     time.Time
}

// correlator evaluates correlation rules on event time; its state is
// replicated through State.SaveCorrelationState.
type correlator interface {
	Observe(ev *sigma.Event, ts time.Time, matched []*sigma.Rule) []corrHit
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// newCorrelator returns the correlator of a rule set; nil until the sigma
// engine provides one, so correlation rules do not fire yet.
func newCorrelator(rs *sigma.RuleSet) correlator { return nil }
