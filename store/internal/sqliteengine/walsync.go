package sqliteengine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// walSyncer makes SQLite's commits durable off the engine's goroutine.
// The engine's connection runs with synchronous=NORMAL, so COMMIT writes
// the transaction to the write-ahead log without waiting for the disk; the
// committed batch comes here, and its callers hear of it only after an
// fsync of the log that began after its COMMIT. Meanwhile the engine
// runs the next batch's statements, and one fsync covers every batch
// committed before it started. An acknowledged write survives a power cut
// as with synchronous=FULL: SQLite recovers a transaction whose frames,
// commit frame included, are in the log on disk, and a checkpoint that
// moves frames into the database file syncs that file itself.
//
// Other connections may read a committed batch before its fsync. That can
// only make them see a write whose caller has not been answered yet; no
// answer of the bridge rests on such a read (claims and webhooks decide
// inside their write transactions).
type walSyncer struct {
	path    string
	file    *os.File
	batches chan committedBatch
	// sync makes the log durable; tests replace it.
	sync func() error
	done chan struct{}
	log  *slog.Logger

	mu     sync.Mutex
	failed error // sticky: after a failed fsync no write is answered as done
}

// committedBatch is a batch whose COMMIT succeeded; errs holds the jobs
// whose own savepoint failed.
type committedBatch struct {
	jobs []*Job
	errs []error
}

// walSyncQueue bounds the committed batches waiting for an fsync; past it
// the engine waits, which slows the writers down to the disk's pace.
const walSyncQueue = 64

// openWALSyncer switches conn to synchronous=NORMAL and returns the syncer
// of dbPath's log. It returns nil, leaving conn as it is (synchronous=FULL),
// when the database has no log file to sync (not in WAL mode, in memory).
func openWALSyncer(ctx context.Context, conn *sql.Conn, dbPath string, log *slog.Logger) (*walSyncer, error) {
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, err
	}
	if mode != "wal" {
		return nil, nil
	}
	// A read opens the log, creating it if this is a new database.
	if _, err := conn.ExecContext(ctx, "SELECT count(*) FROM sqlite_master"); err != nil {
		return nil, err
	}
	path := dbPath + "-wal"
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The log's directory entry must be durable too; SQLite syncs it when
	// it creates the log, and once more here costs nothing.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
		f.Close()
		return nil, err
	}
	w := &walSyncer{path: path, file: f, batches: make(chan committedBatch, walSyncQueue), done: make(chan struct{}), log: log}
	w.sync = w.syncFile
	go w.loop()
	return w, nil
}

// syncFile fsyncs the log. SQLite keeps the file while any connection is
// open, and the engine's always is; if the file were ever replaced, the
// new one is opened, so that the fsync reaches the file SQLite writes.
func (w *walSyncer) syncFile() error {
	onDisk, err := os.Stat(w.path)
	if err != nil {
		return err
	}
	held, err := w.file.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(onDisk, held) {
		f, err := os.Open(w.path)
		if err != nil {
			return err
		}
		w.file.Close()
		w.file = f
	}
	return w.file.Sync()
}

func (w *walSyncer) loop() {
	defer close(w.done)
	for b := range w.batches {
		group := []committedBatch{b}
	drain:
		for {
			select {
			case b, ok := <-w.batches:
				if !ok {
					break drain
				}
				group = append(group, b)
			default:
				break drain
			}
		}
		err := w.failure()
		if err == nil {
			if serr := w.sync(); serr != nil {
				err = w.fail(serr)
			}
		}
		for _, b := range group {
			answer(b.jobs, b.errs, err)
		}
	}
}

// fail records a failed fsync. What the kernel did with the unsynced pages
// is unknown after one (a later fsync may succeed without having written
// them), so nothing is answered as durable again until a restart, which
// recovers from what is on disk.
func (w *walSyncer) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed == nil {
		w.failed = fmt.Errorf("store: %w, writes are refused until the server restarts: %w", ErrLogSync, err)
		w.log.Error("the database's write-ahead log could not be synced to disk: every write is refused and readiness fails until the server is restarted; check the disk",
			slog.String("file", w.path), slog.Any("error", err))
	}
	return w.failed
}

func (w *walSyncer) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// close answers what is queued and closes the file; the engine has
// stopped sending.
func (w *walSyncer) close() {
	close(w.batches)
	<-w.done
	w.file.Close()
}
