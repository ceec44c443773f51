package guard

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"recauda-bridge/metrics"
)

// Metrics is the set of collectors every guard reports to. Build one per
// registry with NewMetrics and give it to every guard in Options.Metrics;
// each guard's series are told apart by its Options.Name (the source label).
//
// The series:
//
//	recauda_erp_calls_total{source,op,result}      counter
//	recauda_erp_call_duration_seconds{source,op}   histogram, calls that reached the source
//	recauda_erp_circuit_state{source}              gauge: 0 closed, 1 half-open, 2 open
//
// The breaker moves from open to half-open when the first lookup after its
// open timeout arrives, so the gauge stays at 2 until then.
//
// op is pending_charges, record_payment or check. For pending_charges, result
// ok, unavailable, error and circuit_open count the calls made to (or refused
// by the breaker before) the source, one per shared call; cache_hit and
// coalesced count lookups answered without a call of their own (coalesced
// whatever the shared call's outcome). A caller that gives up while waiting
// for a shared call is not counted; the call itself still is. Operations the
// source does not support are not counted.
type Metrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	state    *prometheus.GaugeVec
}

// NewMetrics builds the collectors and registers them on reg. Calling it again
// with the same reg returns collectors that share the ones already registered
// rather than failing. A nil reg builds collectors registered nowhere.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recauda_erp_calls_total",
			Help: "Calls to ERP sources through the guard, by operation and result.",
		}, []string{"source", "op", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "recauda_erp_call_duration_seconds",
			Help:    "Time taken by calls that reached the ERP source.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"source", "op"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "recauda_erp_circuit_state",
			Help: "State of the source's circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"source"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.calls, err = metrics.Register(reg, m.calls); err != nil {
		return nil, err
	}
	if m.duration, err = metrics.Register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.state, err = metrics.Register(reg, m.state); err != nil {
		return nil, err
	}
	return m, nil
}

type op int

const (
	opPendingCharges op = iota
	opRecordPayment
	opRecordReversal
	opCheck
	numOps
)

var opNames = [numOps]string{"pending_charges", "record_payment", "record_reversal", "check"}

type result int

const (
	resultOK result = iota
	resultUnavailable
	resultError
	resultCircuitOpen
	resultCacheHit
	resultCoalesced
	numResults
)

var resultNames = [numResults]string{"ok", "unavailable", "error", "circuit_open", "cache_hit", "coalesced"}

// classify maps a source's answer to a result label.
func classify(err error) result {
	switch {
	case err == nil:
		return resultOK
	case isUnavailable(err):
		return resultUnavailable
	default:
		return resultError
	}
}

// sourceMetrics holds one guard's series, resolved once so that counting on
// the lookup path costs no label hashing or allocation. A nil *sourceMetrics
// counts nothing.
type sourceMetrics struct {
	calls    [numOps][numResults]prometheus.Counter // nil where the pair cannot happen
	duration [numOps]prometheus.Observer
	state    prometheus.Gauge
}

func (m *Metrics) forSource(name string) *sourceMetrics {
	sm := &sourceMetrics{state: m.state.WithLabelValues(name)}
	for o := range numOps {
		sm.duration[o] = m.duration.WithLabelValues(name, opNames[o])
		for r := range numResults {
			if o != opPendingCharges && r > resultError {
				continue // only lookups are cached, coalesced or refused by the breaker
			}
			sm.calls[o][r] = m.calls.WithLabelValues(name, opNames[o], resultNames[r])
		}
	}
	sm.state.Set(0)
	return sm
}

func (sm *sourceMetrics) count(o op, r result) {
	if sm == nil {
		return
	}
	sm.calls[o][r].Inc()
}

func (sm *sourceMetrics) observe(o op, d time.Duration) {
	if sm == nil {
		return
	}
	sm.duration[o].Observe(d.Seconds())
}

func (sm *sourceMetrics) setState(s gobreaker.State) {
	if sm == nil {
		return
	}
	switch s {
	case gobreaker.StateClosed:
		sm.state.Set(0)
	case gobreaker.StateHalfOpen:
		sm.state.Set(1)
	case gobreaker.StateOpen:
		sm.state.Set(2)
	}
}
