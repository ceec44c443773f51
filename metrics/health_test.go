package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type syncFailure bool

func (f *syncFailure) SyncFailed() bool { return bool(*f) }

func TestSyncCollector(t *testing.T) {
	var failed syncFailure
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewSyncCollector(&failed))
	for _, tc := range []struct {
		name   string
		failed bool
		want   string
	}{
		{"before any failure", false, "recauda_store_fsync_failed 0\n"},
		{"after a failed sync", true, "recauda_store_fsync_failed 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failed = syncFailure(tc.failed)
			want := "# HELP recauda_store_fsync_failed 1 once a sync of the SQLite log to disk failed: every write is refused and /readyz fails until the server restarts; 0 otherwise.\n" +
				"# TYPE recauda_store_fsync_failed gauge\n" + tc.want
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "recauda_store_fsync_failed"); err != nil {
				t.Fatalf("got a different exposition: %v", err)
			}
		})
	}
}

func TestReadyCollector(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ready func(context.Context) error
		want  string
	}{
		{"ready", func(context.Context) error { return nil }, "recauda_ready 1\n"},
		{"not ready", func(context.Context) error { return errors.New("database is locked") }, "recauda_ready 0\n"},
		{"too slow to answer", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, "recauda_ready 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(NewReadyCollector(tc.ready, 50*time.Millisecond))
			want := "# HELP recauda_ready 1 when the database and the ERP source answer (what GET /readyz checks), asked at scrape time; 0 otherwise.\n" +
				"# TYPE recauda_ready gauge\n" + tc.want
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "recauda_ready"); err != nil {
				t.Fatalf("got a different exposition: %v", err)
			}
		})
	}
}
