package sqliteengine

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// testEngine is an engine on a fresh database file with one table, t, and
// a reader of the same file.
type testEngine struct {
	*Engine
	read *sql.DB
}

// openEngine opens a test engine on path (":memory:" or a file), logging
// into logs when it is set.
func openEngine(t *testing.T, path string, logs ...*bytes.Buffer) testEngine {
	t.Helper()
	ctx := context.Background()
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_txlock=immediate&_loc=UTC"
	pool, err := sql.Open("sqlite3", dsn)
	if err != nil {
		t.Fatal(err)
	}
	pool.SetMaxOpenConns(2)
	t.Cleanup(func() { pool.Close() })
	if _, err := pool.ExecContext(ctx, "CREATE TABLE t (k TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if len(logs) > 0 {
		log = slog.New(slog.NewTextHandler(logs[0], nil))
	}
	dbPath := path
	if path == ":memory:" {
		dbPath = ""
	}
	e, err := Open(ctx, pool, &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true, PrepareStmt: true}, Config{Path: dbPath, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close) // before the pool's close: cleanups run last first
	read, err := sql.Open("sqlite3", dsn+"&_query_only=true")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { read.Close() })
	return testEngine{Engine: e, read: read}
}

// openSynced opens a test engine on a file whose log sync is sync, logging
// into logs when it is set.
func openSynced(t *testing.T, sync func() error, logs ...*bytes.Buffer) testEngine {
	t.Helper()
	e := openEngine(t, filepath.Join(t.TempDir(), "engine.db"), logs...)
	if e.wal == nil {
		t.Fatal("a file database in WAL mode has no log syncer")
	}
	if sync != nil {
		e.wal.sync = sync
	}
	return e
}

// insert is a job that inserts k into t.
func insert(k string) *Job {
	return &Job{Run: func(tx *gorm.DB) error { return tx.Exec("INSERT INTO t (k) VALUES (?)", k).Error }}
}

func writeOne(e testEngine, k string) error {
	return e.Do(context.Background(), insert(k))
}

// committed reads k's row through the reader: true once its insert has
// committed, synced or not.
func committed(t *testing.T, e testEngine, k string) bool {
	t.Helper()
	var n int64
	if err := e.read.QueryRow("SELECT count(*) FROM t WHERE k = ?", k).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestSyncModes: the engine's connection leaves the log's sync to the
// syncer (NORMAL); every other connection keeps FULL.
func TestSyncModes(t *testing.T) {
	e := openSynced(t, nil)
	ctx := context.Background()
	var engineMode, readerMode int
	if err := e.conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&engineMode); err != nil {
		t.Fatal(err)
	}
	if err := e.read.QueryRow("PRAGMA synchronous").Scan(&readerMode); err != nil {
		t.Fatal(err)
	}
	if engineMode != 1 || readerMode != 2 {
		t.Fatalf("synchronous: engine %d, reader %d; want 1 (NORMAL) and 2 (FULL)", engineMode, readerMode)
	}
	if err := writeOne(e, "SYNC-REAL"); err != nil {
		t.Fatalf("write with the real fsync: %v", err)
	}
}

// TestWriteAnsweredOnlyAfterSync: a committed write's caller waits for the
// fsync of the log, and batches committed while it runs share the next one.
func TestWriteAnsweredOnlyAfterSync(t *testing.T) {
	started := make(chan struct{}, 8)
	release := make(chan struct{})
	var syncs atomic.Int32
	e := openSynced(t, func() error {
		syncs.Add(1)
		started <- struct{}{}
		<-release
		return nil
	})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before Close, which waits for the syncer
	first := make(chan error, 1)
	go func() { first <- writeOne(e, "SYNC-1") }()
	<-started
	if !committed(t, e, "SYNC-1") {
		t.Fatal("SYNC-1 is not committed while its fsync runs")
	}
	select {
	case err := <-first:
		t.Fatalf("the claim was answered (%v) before its fsync finished", err)
	default:
	}
	// Two more claims commit, one batch each, while the first fsync runs.
	later := make(chan error, 2)
	go func() { later <- writeOne(e, "SYNC-2") }()
	for len(e.wal.batches) < 1 {
		time.Sleep(time.Millisecond)
	}
	go func() { later <- writeOne(e, "SYNC-3") }()
	for len(e.wal.batches) < 2 {
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
// queued), the failure is logged, and Failure (the store's readiness)
// reports it.
func TestFailedSyncRefusesWrites(t *testing.T) {
	diskGone := errors.New("input/output error")
	var logs bytes.Buffer
	e := openSynced(t, func() error { return diskGone }, &logs)
	err := writeOne(e, "SYNC-FAIL-1")
	if !errors.Is(err, ErrLogSync) || !errors.Is(err, diskGone) {
		t.Fatalf("write after a failed fsync: %v; want ErrLogSync with the cause", err)
	}
	e.wal.sync = func() error { return nil } // the disk "recovers"
	if err := writeOne(e, "SYNC-FAIL-2"); !errors.Is(err, ErrLogSync) {
		t.Fatalf("write after the failure: %v; want it refused", err)
	}
	// A job already queued when the sync failed: the engine refuses it.
	queued := insert("SYNC-FAIL-3")
	queued.ctx, queued.done = context.Background(), make(chan error, 1)
	e.jobs <- queued
	if err := <-queued.done; !errors.Is(err, ErrLogSync) {
		t.Fatalf("queued write after the failure: %v; want it refused", err)
	}
	for _, ref := range []string{"SYNC-FAIL-2", "SYNC-FAIL-3"} {
		if committed(t, e, ref) {
			t.Fatalf("%s was committed after the log failed to sync", ref)
		}
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "input/output error") {
		t.Errorf("no error logged for the failed sync:\n%s", logs.String())
	}
	if err := e.Failure(); !errors.Is(err, ErrLogSync) {
		t.Fatalf("Failure after the failure: %v; want ErrLogSync", err)
	}
}

// TestMemoryDatabaseKeepsFullSync: with no log file there is nothing to
// sync on the side, and COMMIT keeps its own sync.
func TestMemoryDatabaseKeepsFullSync(t *testing.T) {
	if e := openEngine(t, ":memory:"); e.wal != nil {
		t.Fatal("an in-memory database got a log syncer")
	}
}
