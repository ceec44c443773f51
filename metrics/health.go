package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SyncFailure is the ability of a store to say that making a write durable
// failed. *store.Store has it.
type SyncFailure interface {
	// SyncFailed reports whether a sync to disk has failed since the store
	// opened. It must be cheap: it is called at every scrape.
	SyncFailed() bool
}

// NewSyncCollector reports recauda_store_fsync_failed: 1 once a sync of
// the database's log failed (every write is refused until a restart), 0
// otherwise, so that an alert names the cause rather than only the 503s.
func NewSyncCollector(src SyncFailure) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "recauda_store_fsync_failed",
		Help: "1 once a sync of the SQLite log to disk failed: every write is refused and /readyz fails until the server restarts; 0 otherwise.",
	}, func() float64 {
		if src.SyncFailed() {
			return 1
		}
		return 0
	})
}

// NewReadyCollector reports recauda_ready: 1 when ready (what /readyz
// asks: the database and the ERP source answer) returns nil within timeout
// at scrape time, 0 otherwise. Prometheus then sees readiness without a
// prober of its own.
func NewReadyCollector(ready func(context.Context) error, timeout time.Duration) prometheus.Collector {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &readyCollector{ready: ready, timeout: timeout,
		desc: prometheus.NewDesc("recauda_ready",
			"1 when the database and the ERP source answer (what GET /readyz checks), asked at scrape time; 0 otherwise.", nil, nil)}
}

type readyCollector struct {
	ready   func(context.Context) error
	timeout time.Duration
	desc    *prometheus.Desc
}

func (c *readyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *readyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	v := 1.0
	if c.ready(ctx) != nil {
		v = 0
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v)
}
