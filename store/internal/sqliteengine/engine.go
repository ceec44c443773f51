// Package sqliteengine is the store's write engine on SQLite, which knows
// nothing of charges or webhooks: group commit of write transactions on one
// pinned connection (Engine), the fsync of the write-ahead log beside the
// next batch (walSyncer), a read by a list of keys prepared once per size
// (SizedRead), and a cache of such reads that the next committed write
// empties (Cache).
//
// A caller hands the engine jobs: a transaction to run alone, and, for a
// kind of job the caller can run for several jobs at once, a Merge that
// the engine calls with the parts of the batch's jobs of that kind.
package sqliteengine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// maxBatch bounds how many write transactions share one commit.
const maxBatch = 128

// Job is one caller's write transaction, waiting for a commit.
type Job struct {
	// Run is the transaction, run alone: in a savepoint of its own inside
	// the batch's transaction.
	Run func(tx *gorm.DB) error
	// merge, when set, may run this job's part with the batch's other jobs
	// of the same merge (the merge is their key); Run is then the fallback.
	merge merger
	part  any
	ctx   context.Context
	done  chan error
}

// merger is a Merge of any part type.
type merger interface {
	runMerged(tx *gorm.DB, jobs []*Job) (left []bool, err error)
}

// Merge is a kind of job the engine may run several of together: the jobs
// of one batch that carry the same Merge run in one savepoint, by its run
// function, which gets each job's part, instead of in a savepoint and
// several statements each.
type Merge[T any] struct {
	run func(tx *gorm.DB, parts []T) (left []bool, err error)
}

// NewMerge returns a kind of mergeable job whose parts run runs together.
// run reports in left the parts it did not do (nil: it did them all); their
// jobs run alone after it, in batch order. When run fails, what it wrote is
// rolled back and every job runs alone: run must then leave its parts as it
// found them. run runs on the engine's goroutine, after the batch's jobs
// that run alone and before those it left.
func NewMerge[T any](run func(tx *gorm.DB, parts []T) (left []bool, err error)) *Merge[T] {
	return &Merge[T]{run: run}
}

// Job is a job of this kind: alone runs it by itself, part is what the
// merged run gets for it. A nil Merge makes a job that always runs alone.
func (m *Merge[T]) Job(part T, alone func(tx *gorm.DB) error) *Job {
	if m == nil {
		return &Job{Run: alone}
	}
	return &Job{Run: alone, merge: m, part: part}
}

func (m *Merge[T]) runMerged(tx *gorm.DB, jobs []*Job) ([]bool, error) {
	parts := make([]T, len(jobs))
	for i, j := range jobs {
		parts[i] = j.part.(T)
	}
	return m.run(tx, parts)
}

// Engine runs SQLite's write transactions with group commit: one goroutine
// takes whatever transactions are queued, runs each in its own savepoint
// inside one database transaction, and commits them together, so many
// concurrent writers share one fsync. A transaction that fails is rolled
// back to its savepoint and only its caller sees the error. Nothing waits
// for a batch to fill: an idle engine commits each transaction at once.
type Engine struct {
	// db runs on one pinned connection with its prepared statements
	// cached; transactions are plain BEGIN/COMMIT on it, because a
	// database/sql Tx would prepare every statement again.
	db   *gorm.DB
	conn *sql.Conn
	// stmts are statements prepared on conn, by text, for the hot writes
	// (Query, Exec) and the transaction control below: run straight
	// through database/sql, without gorm building each statement anew.
	// Only the engine's goroutine uses them, until Close.
	stmts map[string]*sql.Stmt
	jobs  chan *Job
	// wal, when set, syncs the log of committed batches and answers their
	// callers; nil: COMMIT syncs (synchronous=FULL) and the engine
	// answers.
	wal *walSyncer
	// writes counts write transactions done; it is the generation of
	// what a Cache holds.
	writes atomic.Uint64
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// Config says where the engine's database is and how to report on it.
type Config struct {
	// Path is the database file, whose log a walSyncer then syncs; ""
	// (in memory): COMMIT syncs.
	Path string
	// Log receives the failure of a sync.
	Log *slog.Logger
	// SyncLog, when set, replaces the fsync of the log: tests make it fail.
	SyncLog func() error
}

// Open pins a connection of pool, the writer's.
func Open(ctx context.Context, pool *sql.DB, gcfg *gorm.Config, cfg Config) (*Engine, error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var wal *walSyncer
	if cfg.Path != "" {
		if wal, err = openWALSyncer(ctx, conn, cfg.Path, cfg.Log); err != nil {
			conn.Close()
			return nil, err
		}
		if wal != nil && cfg.SyncLog != nil {
			wal.sync = cfg.SyncLog
		}
	}
	pinned := *gcfg
	pinned.DisableAutomaticPing = true // a pinned *sql.Conn has no Ping
	db, err := gorm.Open(sqlite.Dialector{Conn: conn}, &pinned)
	if err != nil {
		if wal != nil {
			wal.close()
		}
		conn.Close()
		return nil, err
	}
	e := &Engine{db: db, conn: conn, wal: wal, stmts: map[string]*sql.Stmt{}, jobs: make(chan *Job, maxBatch), stop: make(chan struct{})}
	e.wg.Add(1)
	go e.loop()
	return e, nil
}

// Do runs job in a write transaction and returns once it is committed (and
// synced) or has failed. It waits for the outcome even when ctx is
// cancelled after the job was queued, because the caller must know whether
// its write happened. Whatever the outcome, the write generation moves on.
func (e *Engine) Do(ctx context.Context, job *Job) error {
	err := e.do(ctx, job)
	e.writes.Add(1)
	return err
}

func (e *Engine) do(ctx context.Context, job *Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.Failure(); err != nil {
		return err
	}
	job.ctx, job.done = context.WithoutCancel(ctx), make(chan error, 1)
	select {
	case e.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.stop:
		return fmt.Errorf("store is closed")
	}
	return <-job.done
}

// Generation is the number of write transactions done so far: what was
// read at one generation may be served from a Cache until the next.
func (e *Engine) Generation() uint64 { return e.writes.Load() }

// CommitBatch runs jobs as one batch, on the caller's goroutine, and
// returns each job's outcome: what the engine's goroutine does with the
// jobs it finds queued together. Tests use it to choose a batch; it must
// not run while other writes are under way.
func (e *Engine) CommitBatch(jobs []*Job) []error {
	for _, j := range jobs {
		j.ctx, j.done = context.Background(), make(chan error, 1)
	}
	e.commit(jobs)
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		errs[i] = <-j.done
	}
	e.writes.Add(uint64(len(jobs)))
	return errs
}

func (e *Engine) loop() {
	defer e.wg.Done()
	for {
		var first *Job
		select {
		case first = <-e.jobs:
		case <-e.stop:
			// Finish what was queued before the close.
			for {
				select {
				case j := <-e.jobs:
					e.commit([]*Job{j})
				default:
					return
				}
			}
		}
		batch := []*Job{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case j := <-e.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		e.commit(batch)
		if e.wal == nil {
			// The batch's callers are runnable now, queued on this
			// goroutine's P. Let them run: the next batch's SQL is cgo
			// calls, which hold the P, and the runtime takes it back only
			// after a while (up to milliseconds), so they would wait for
			// it. (With a walSyncer, its goroutine wakes them instead.)
			runtime.Gosched()
		}
	}
}

// ErrLogSync is the cause of every write refused after a failed sync of the
// write-ahead log.
var ErrLogSync = errors.New("sync of the write-ahead log failed")

// Failure is the error that stops every write after a failed sync of the
// log (it wraps ErrLogSync); nil normally.
func (e *Engine) Failure() error {
	if e.wal == nil {
		return nil
	}
	return e.wal.failure()
}

// errBatchLost: a savepoint could not be rolled back, so the whole
// transaction is unusable and every job of the batch fails.
var errBatchLost = errors.New("store: write transaction lost")

// alone runs one job in a savepoint of its own: if it fails, it is rolled
// back and only it reports the error.
func (e *Engine) alone(ctx context.Context, j *Job) error {
	if err := e.Exec(ctx, "SAVEPOINT job"); err != nil {
		return err
	}
	err := j.Run(e.db.WithContext(j.ctx))
	if err != nil {
		if rerr := e.Exec(ctx, "ROLLBACK TO SAVEPOINT job"); rerr != nil {
			return fmt.Errorf("%w: %w", errBatchLost, rerr)
		}
	}
	if rerr := e.Exec(ctx, "RELEASE SAVEPOINT job"); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// merge runs several jobs' parts together in a savepoint. false: it failed
// and was rolled back, and each job is to run alone; an error: the
// transaction is unusable.
func (e *Engine) merge(ctx context.Context, run func(tx *gorm.DB) error) (bool, error) {
	if err := e.Exec(ctx, "SAVEPOINT merged"); err != nil {
		// Nothing was done: each job runs alone and meets the error
		// itself, if it lasts.
		return false, nil
	}
	if err := run(e.db.WithContext(ctx)); err != nil {
		if err := e.Exec(ctx, "ROLLBACK TO SAVEPOINT merged"); err != nil {
			return false, err
		}
		return false, e.Exec(ctx, "RELEASE SAVEPOINT merged")
	}
	return true, e.Exec(ctx, "RELEASE SAVEPOINT merged")
}

// maxStmts bounds the statements kept prepared, each of which costs SQLite
// memory: the store's claims use a fixed set of texts (33), its merged
// settles another (30), a webhook settled alone and the transaction
// control about 15; past the bound a statement is prepared for its one
// use, which costs more than running it.
const maxStmts = 128

// stmt returns query prepared on the pinned connection, or nil when it is
// not kept.
func (e *Engine) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := e.stmts[query]; ok || len(e.stmts) >= maxStmts {
		return st, nil
	}
	st, err := e.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	e.stmts[query] = st
	return st, nil
}

// Exec runs a statement on the pinned connection, kept prepared. Only a
// job's Run or a Merge's run may call it.
func (e *Engine) Exec(ctx context.Context, query string, args ...any) error {
	st, err := e.stmt(ctx, query)
	switch {
	case err != nil:
		return err
	case st == nil:
		_, err = e.conn.ExecContext(ctx, query, args...)
	default:
		_, err = st.ExecContext(ctx, args...)
	}
	return err
}

// Query runs a statement that returns rows on the pinned connection, kept
// prepared. Only a job's Run or a Merge's run may call it.
func (e *Engine) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := e.stmt(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return e.conn.QueryContext(ctx, query, args...)
	default:
		return st.QueryContext(ctx, args...)
	}
}

// Prepared returns the texts of the statements kept prepared, sorted.
func (e *Engine) Prepared() []string {
	out := make([]string, 0, len(e.stmts))
	for q := range e.stmts {
		out = append(out, q)
	}
	slices.Sort(out)
	return out
}

// mergeGroup is the jobs of a batch (by index) that carry one merge.
type mergeGroup struct {
	merge merger
	jobs  []int
}

func (e *Engine) commit(batch []*Job) {
	errs := make([]error, len(batch))
	finish := func(shared error) { answer(batch, errs, shared) }
	// After a failed sync of the log, jobs queued before it are refused
	// too: nothing more is written.
	if err := e.Failure(); err != nil {
		finish(err)
		return
	}
	ctx := context.Background()
	if err := e.Exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		finish(err)
		return
	}
	// runAlone runs job i in its own savepoint; false: the batch is lost,
	// rolled back and answered.
	runAlone := func(i int) bool {
		errs[i] = e.alone(ctx, batch[i])
		if errors.Is(errs[i], errBatchLost) {
			_ = e.Exec(ctx, "ROLLBACK")
			finish(errs[i])
			return false
		}
		return true
	}
	// Jobs without a merge run first, in batch order; then each merge's
	// jobs together, if there are several; then, in order, those a merge
	// left or could not run. If a merged run fails, each of its jobs runs
	// alone, so that only a job that fails on its own reports an error.
	var groups []mergeGroup
	for i, j := range batch {
		if j.merge == nil {
			if !runAlone(i) {
				return
			}
			continue
		}
		k := slices.IndexFunc(groups, func(g mergeGroup) bool { return g.merge == j.merge })
		if k < 0 {
			k = len(groups)
			groups = append(groups, mergeGroup{merge: j.merge})
		}
		groups[k].jobs = append(groups[k].jobs, i)
	}
	var left []int
	for _, g := range groups {
		if len(g.jobs) < 2 {
			left = append(left, g.jobs...)
			continue
		}
		jobs := make([]*Job, len(g.jobs))
		for k, i := range g.jobs {
			jobs[k] = batch[i]
		}
		var skipped []bool
		merged, err := e.merge(ctx, func(tx *gorm.DB) error {
			var err error
			skipped, err = g.merge.runMerged(tx, jobs)
			return err
		})
		if err != nil {
			_ = e.Exec(ctx, "ROLLBACK")
			finish(err)
			return
		}
		for k, i := range g.jobs {
			if !merged || (skipped != nil && skipped[k]) {
				left = append(left, i)
			}
		}
	}
	for _, i := range left {
		if !runAlone(i) {
			return
		}
	}
	if err := e.Exec(ctx, "COMMIT"); err != nil {
		_ = e.Exec(ctx, "ROLLBACK")
		finish(err)
		return
	}
	if e.wal != nil {
		e.wal.batches <- committedBatch{jobs: batch, errs: errs}
		return
	}
	finish(nil)
}

// answer tells each job of a batch its outcome: its own error, or shared
// when it has none.
func answer(jobs []*Job, errs []error, shared error) {
	for i, j := range jobs {
		if errs[i] == nil {
			errs[i] = shared
		}
		j.done <- errs[i]
	}
}

// Close finishes the jobs queued, syncs and answers the last batches, and
// closes the pinned connection.
func (e *Engine) Close() {
	e.once.Do(func() {
		close(e.stop)
		e.wg.Wait()
		if e.wal != nil {
			// Syncs and answers the last batches.
			e.wal.close()
		}
		// database/sql finalizes only the statements prepared on the pool,
		// not those prepared on a pinned *sql.Conn: close gorm's cache
		// first, or SQLite keeps the connection open as a zombie and never
		// checkpoints and removes the WAL on Close. Each statement is closed
		// here, synchronously: the cache's own Close closes them in
		// goroutines, which may run after the connection is gone, and a
		// statement closed then is never finalized.
		for _, st := range e.stmts {
			st.Close()
		}
		if ps, ok := e.db.ConnPool.(*gorm.PreparedStmtDB); ok {
			for _, key := range ps.Stmts.Keys() {
				if st, ok := ps.Stmts.Get(key); ok {
					st.Close()
				}
			}
			ps.Close()
		}
		e.conn.Close()
	})
}
