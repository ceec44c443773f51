package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"recauda-bridge/models"
)

// TestFailedSyncRefusesWrites: after a failed fsync of SQLite's log (the
// engine's own tests hold the rest), a write fails with ErrUnavailable and
// the cause, later writes are refused, and Ping (readiness) and SyncFailed
// (the metric) report it.
func TestFailedSyncRefusesWrites(t *testing.T) {
	ctx := context.Background()
	diskGone := errors.New("input/output error")
	st, err := Open(ctx, models.DialectSQLite, filepath.Join(t.TempDir(), "bridge.db"), Options{syncLog: func() error { return diskGone }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if st.SyncFailed() {
		t.Fatal("SyncFailed: got true before any write, want false")
	}
	claim := func(ref string) error {
		_, err := st.Claim(ctx, ClaimRequest{Offers: []Offer{{RefPayment: ref, IDNumber: "70000001", Currency: "COP", Payload: []byte("{}")}}})
		return err
	}
	if err := claim("SYNC-FAIL-1"); !errors.Is(err, ErrUnavailable) || !errors.Is(err, diskGone) {
		t.Fatalf("claim after a failed fsync: got %v, want ErrUnavailable with the cause", err)
	}
	if err := claim("SYNC-FAIL-2"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("claim after the failure: got %v, want ErrUnavailable", err)
	}
	if err := st.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping after the failure: got %v, want ErrUnavailable", err)
	}
	if !st.SyncFailed() {
		t.Fatal("SyncFailed: got false after the failure, want true")
	}
}
