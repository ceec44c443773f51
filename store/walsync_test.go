package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openSynced opens a migrated SQLite file store whose log sync is sync,
// logging into logs when it is set.
func openSynced(t *testing.T, sync func() error, logs ...*bytes.Buffer) *Store {
	t.Helper()
	ctx := context.Background()
	var opts Options
	if len(logs) > 0 {
		opts.Logger = slog.New(slog.NewTextHandler(logs[0], nil))
	}
	st, err := Open(ctx, SQLite, filepath.Join(t.TempDir(), "bridge.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if st.committer.wal == nil {
		t.Fatal("a file database in WAL mode has no log syncer")
	}
	if sync != nil {
		st.committer.wal.sync = sync
	}
	return st
}

func claimOne(st *Store, ref string) error {
	_, err := st.Claim(context.Background(), ClaimRequest{Offers: []Offer{{RefPayment: ref, IDNumber: "70000001", Currency: "COP", Payload: []byte("{}")}}})
	return err
}

// committedRef reads ref's row through the read pool: true once its claim
// has committed, synced or not.
func committedRef(t *testing.T, st *Store, ref string) bool {
	t.Helper()
	var n int64
	if err := st.read.Raw("SELECT count(*) FROM charges WHERE ref_payment = ?", ref).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestSyncModes: the committer's connection leaves the log's sync to the
// syncer (NORMAL); every other connection keeps FULL.
func TestSyncModes(t *testing.T) {
	st := openSynced(t, nil)
	ctx := context.Background()
	var committerMode, readerMode int
	if err := st.committer.conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&committerMode); err != nil {
		t.Fatal(err)
	}
	if err := st.read.Raw("PRAGMA synchronous").Scan(&readerMode).Error; err != nil {
		t.Fatal(err)
	}
	if committerMode != 1 || readerMode != 2 {
		t.Fatalf("synchronous: committer %d, reader %d; want 1 (NORMAL) and 2 (FULL)", committerMode, readerMode)
	}
	if err := claimOne(st, "SYNC-REAL"); err != nil {
		t.Fatalf("claim with the real fsync: %v", err)
	}
}

// TestWriteAnsweredOnlyAfterSync: a committed write's caller waits for the
// fsync of the log, and batches committed while it runs share the next one.
func TestWriteAnsweredOnlyAfterSync(t *testing.T) {
	started := make(chan struct{}, 8)
	release := make(chan struct{})
	var syncs atomic.Int32
	st := openSynced(t, func() error {
		syncs.Add(1)
		started <- struct{}{}
		<-release
		return nil
	})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before Close, which waits for the syncer
	first := make(chan error, 1)
	go func() { first <- claimOne(st, "SYNC-1") }()
	<-started
	if !committedRef(t, st, "SYNC-1") {
		t.Fatal("SYNC-1 is not committed while its fsync runs")
	}
	select {
	case err := <-first:
		t.Fatalf("the claim was answered (%v) before its fsync finished", err)
	default:
	}
	// Two more claims commit, one batch each, while the first fsync runs.
	later := make(chan error, 2)
	go func() { later <- claimOne(st, "SYNC-2") }()
	for len(st.committer.wal.batches) < 1 {
		time.Sleep(time.Millisecond)
	}
	go func() { later <- claimOne(st, "SYNC-3") }()
	for len(st.committer.wal.batches) < 2 {
		time.Sleep(time.Millisecond)
	}
	unblock()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-later; err != nil {
			t.Fatal(err)
		}
	}
	if n := syncs.Load(); n != 2 {
		t.Fatalf("%d fsyncs for 3 batches, 2 of them queued during the first; want 2", n)
	}
}

// TestFailedSyncRefusesWrites: after a failed fsync the write is not
// answered as done, no later write is accepted (not even one already
// queued), the failure is logged, and Ping reports it.
func TestFailedSyncRefusesWrites(t *testing.T) {
	diskGone := errors.New("input/output error")
	var logs bytes.Buffer
	st := openSynced(t, func() error { return diskGone }, &logs)
	if st.SyncFailed() {
		t.Fatal("SyncFailed is true before any sync, want false")
	}
	err := claimOne(st, "SYNC-FAIL-1")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, diskGone) {
		t.Fatalf("claim after a failed fsync: %v; want ErrUnavailable with the cause", err)
	}
	st.committer.wal.sync = func() error { return nil } // the disk "recovers"
	if err := claimOne(st, "SYNC-FAIL-2"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("claim after the failure: %v; want it refused", err)
	}
	// A job already queued when the sync failed: the committer refuses it.
	queued := claimJob(st, time.Now().UTC(), "70000001", "SYNC-FAIL-3")
	st.committer.jobs <- queued
	if err := <-queued.done; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("queued claim after the failure: %v; want it refused", err)
	}
	for _, ref := range []string{"SYNC-FAIL-2", "SYNC-FAIL-3"} {
		if committedRef(t, st, ref) {
			t.Fatalf("%s was committed after the log failed to sync", ref)
		}
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "input/output error") {
		t.Errorf("no error logged for the failed sync:\n%s", logs.String())
	}
	if err := st.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping after the failure: %v; want ErrUnavailable", err)
	}
	if !st.SyncFailed() {
		t.Fatal("SyncFailed is false after the failure, want true")
	}
}

// TestMemoryDatabaseKeepsFullSync: with no log file there is nothing to
// sync on the side, and COMMIT keeps its own sync.
func TestMemoryDatabaseKeepsFullSync(t *testing.T) {
	st, err := Open(context.Background(), SQLite, ":memory:", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.committer.wal != nil {
		t.Fatal("an in-memory database got a log syncer")
	}
}
