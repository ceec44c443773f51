package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// maxBatch bounds how many write transactions share one commit.
const maxBatch = 128

// writeJob is one caller's write transaction, waiting for a commit.
type writeJob struct {
	ctx  context.Context
	fn   func(tx *gorm.DB) error
	done chan error
	// claim, when set, is what fn does, in a form the committer may run in
	// one statement with the batch's other claims (mergeClaims).
	claim *claimWork
	// settle, when set, is what fn does, in a form the committer may run
	// with the batch's other settles (mergeSettles).
	settle *settleWork
}

// committer runs SQLite's write transactions with group commit: one
// goroutine takes whatever transactions are queued, runs each in its own
// savepoint inside one database transaction, and commits them together, so
// many concurrent writers share one fsync. A transaction that fails is rolled
// back to its savepoint and only its caller sees the error. Nothing waits
// for a batch to fill: an idle store commits each transaction at once.
type committer struct {
	// db runs on one pinned connection with its prepared statements
	// cached; transactions are plain BEGIN/COMMIT on it, because a
	// database/sql Tx would prepare every statement again.
	db   *gorm.DB
	conn *sql.Conn
	// stmts are statements prepared on conn, by text, for the hot writes
	// (txRows, txExec) and the transaction control below: run straight
	// through database/sql, without gorm building each statement anew.
	// Only the committer's goroutine uses them, until close.
	stmts map[string]*sql.Stmt
	jobs  chan *writeJob
	// wal, when set, syncs the log of committed batches and answers their
	// callers; nil: COMMIT syncs (synchronous=FULL) and the committer
	// answers.
	wal *walSyncer
	// mergeClaims runs several jobs' claims as one; nil: each runs alone.
	mergeClaims func(tx *gorm.DB, works []*claimWork) error
	// mergeSettles settles several jobs' deliveries together, marking
	// those it settled; nil: each runs alone.
	mergeSettles func(tx *gorm.DB, works []*settleWork) error
	stop         chan struct{}
	once         sync.Once
	wg           sync.WaitGroup
}

// newCommitter pins a connection of pool. dbPath, when set, is the
// database file, whose log a walSyncer then syncs, logging to log.
func newCommitter(ctx context.Context, pool *sql.DB, gcfg *gorm.Config, dbPath string, log *slog.Logger) (*committer, error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var wal *walSyncer
	if dbPath != "" {
		if wal, err = openWALSyncer(ctx, conn, dbPath, log); err != nil {
			conn.Close()
			return nil, err
		}
	}
	cfg := *gcfg
	cfg.DisableAutomaticPing = true // a pinned *sql.Conn has no Ping
	db, err := gorm.Open(sqlite.Dialector{Conn: conn}, &cfg)
	if err != nil {
		if wal != nil {
			wal.close()
		}
		conn.Close()
		return nil, err
	}
	c := &committer{db: db, conn: conn, wal: wal, stmts: map[string]*sql.Stmt{}, jobs: make(chan *writeJob, maxBatch), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c, nil
}

// do runs fn in a write transaction and returns once it is committed or has
// failed. It waits for the outcome even when ctx is cancelled after the job
// was queued, because the caller must know whether its write happened.
func (c *committer) do(ctx context.Context, job *writeJob) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.failure(); err != nil {
		return err
	}
	job.ctx, job.done = context.WithoutCancel(ctx), make(chan error, 1)
	select {
	case c.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stop:
		return fmt.Errorf("store is closed")
	}
	return <-job.done
}

func (c *committer) loop() {
	defer c.wg.Done()
	for {
		var first *writeJob
		select {
		case first = <-c.jobs:
		case <-c.stop:
			// Finish what was queued before the close.
			for {
				select {
				case j := <-c.jobs:
					c.commit([]*writeJob{j})
				default:
					return
				}
			}
		}
		batch := []*writeJob{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case j := <-c.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		c.commit(batch)
		if c.wal == nil {
			// The batch's callers are runnable now, queued on this
			// goroutine's P. Let them run: the next batch's SQL is cgo
			// calls, which hold the P, and the runtime takes it back only
			// after a while (up to milliseconds), so they would wait for
			// it. (With a walSyncer, its goroutine wakes them instead.)
			runtime.Gosched()
		}
	}
}

// failure is the error that stops every write after a failed sync of the
// log; nil normally.
func (c *committer) failure() error {
	if c.wal == nil {
		return nil
	}
	return c.wal.failure()
}

// errBatchLost: a savepoint could not be rolled back, so the whole
// transaction is unusable and every job of the batch fails.
var errBatchLost = errors.New("store: write transaction lost")

// alone runs one job in a savepoint of its own: if it fails, it is rolled
// back and only it reports the error.
func (c *committer) alone(ctx context.Context, j *writeJob) error {
	if err := c.exec(ctx, "SAVEPOINT job"); err != nil {
		return err
	}
	err := j.fn(c.db.WithContext(j.ctx))
	if err != nil {
		if rerr := c.exec(ctx, "ROLLBACK TO SAVEPOINT job"); rerr != nil {
			return fmt.Errorf("%w: %w", errBatchLost, rerr)
		}
	}
	if rerr := c.exec(ctx, "RELEASE SAVEPOINT job"); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// mergeGroup is the jobs of a batch (by index) of one kind the committer
// can run together: run runs them, undo forgets what a failed run did, and
// left, when set, tells a job the run did not do, to run alone after it.
type mergeGroup struct {
	jobs []int
	run  func(tx *gorm.DB) error
	undo func()
	left func(i int) bool
}

// jobParts is part of each job of batch at the indexes jobs.
func jobParts[T any](batch []*writeJob, jobs []int, part func(*writeJob) T) []T {
	out := make([]T, len(jobs))
	for k, i := range jobs {
		out[k] = part(batch[i])
	}
	return out
}

// merge runs several jobs' work together in a savepoint. false: it failed
// and was rolled back, undo has forgotten what it did, and each job is to
// run alone; an error: the transaction is unusable.
func (c *committer) merge(ctx context.Context, run func(tx *gorm.DB) error, undo func()) (bool, error) {
	if err := c.exec(ctx, "SAVEPOINT merged"); err != nil {
		// Nothing was done: each job runs alone and meets the error
		// itself, if it lasts.
		return false, nil
	}
	if err := run(c.db.WithContext(ctx)); err != nil {
		undo()
		if err := c.exec(ctx, "ROLLBACK TO SAVEPOINT merged"); err != nil {
			return false, err
		}
		return false, c.exec(ctx, "RELEASE SAVEPOINT merged")
	}
	return true, c.exec(ctx, "RELEASE SAVEPOINT merged")
}

// maxStmts bounds the statements kept prepared, each of which costs SQLite
// memory: claims use a fixed set of texts (statementRowCounts, 33), merged
// settles another (settleRowCounts, 30), a webhook settled alone and the
// transaction control about 15; past the bound a statement is prepared for
// its one use, which costs more than running it.
const maxStmts = 128

// stmt returns query prepared on the pinned connection, or nil when it is
// not kept.
func (c *committer) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.stmts[query]; ok || len(c.stmts) >= maxStmts {
		return st, nil
	}
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// exec runs a statement on the pinned connection.
func (c *committer) exec(ctx context.Context, query string, args ...any) error {
	st, err := c.stmt(ctx, query)
	switch {
	case err != nil:
		return err
	case st == nil:
		_, err = c.conn.ExecContext(ctx, query, args...)
	default:
		_, err = st.ExecContext(ctx, args...)
	}
	return err
}

// query runs a statement that returns rows on the pinned connection.
func (c *committer) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return c.conn.QueryContext(ctx, query, args...)
	default:
		return st.QueryContext(ctx, args...)
	}
}

func (c *committer) commit(batch []*writeJob) {
	errs := make([]error, len(batch))
	finish := func(shared error) { answer(batch, errs, shared) }
	// After a failed sync of the log, jobs queued before it are refused
	// too: nothing more is written.
	if err := c.failure(); err != nil {
		finish(err)
		return
	}
	ctx := context.Background()
	if err := c.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		finish(err)
		return
	}
	// runAlone runs job i in its own savepoint; false: the batch is lost,
	// rolled back and answered.
	runAlone := func(i int) bool {
		errs[i] = c.alone(ctx, batch[i])
		if errors.Is(errs[i], errBatchLost) {
			_ = c.exec(ctx, "ROLLBACK")
			finish(errs[i])
			return false
		}
		return true
	}
	// Claims are most of what lookups write, settles all that webhooks
	// do: a kind of job the committer can run for several jobs at once, in
	// one statement per table instead of several each. If the merged run
	// fails, each of its jobs runs alone, so that only a job that fails on
	// its own reports an error.
	var claims, settles mergeGroup
	for i, j := range batch {
		switch {
		case j.claim != nil && c.mergeClaims != nil:
			claims.jobs = append(claims.jobs, i)
		case j.settle != nil && c.mergeSettles != nil:
			settles.jobs = append(settles.jobs, i)
		default:
			if !runAlone(i) {
				return
			}
		}
	}
	claimWorks := jobParts(batch, claims.jobs, func(j *writeJob) *claimWork { return j.claim })
	claims.run = func(tx *gorm.DB) error { return c.mergeClaims(tx, claimWorks) }
	claims.undo = func() {
		for _, w := range claimWorks {
			w.won = nil
		}
	}
	settleWorks := jobParts(batch, settles.jobs, func(j *writeJob) *settleWork { return j.settle })
	settles.run = func(tx *gorm.DB) error { return c.mergeSettles(tx, settleWorks) }
	settles.undo = func() {
		for _, w := range settleWorks {
			w.merged = false
		}
	}
	// A delivery the merged run could not settle with the others runs
	// alone, after it.
	settles.left = func(i int) bool { return !batch[i].settle.merged }
	var left []int
	for _, g := range []mergeGroup{claims, settles} {
		if len(g.jobs) < 2 {
			left = append(left, g.jobs...)
			continue
		}
		merged, err := c.merge(ctx, g.run, g.undo)
		if err != nil {
			_ = c.exec(ctx, "ROLLBACK")
			finish(err)
			return
		}
		for _, i := range g.jobs {
			if !merged || (g.left != nil && g.left(i)) {
				left = append(left, i)
			}
		}
	}
	for _, i := range left {
		if !runAlone(i) {
			return
		}
	}
	if err := c.exec(ctx, "COMMIT"); err != nil {
		_ = c.exec(ctx, "ROLLBACK")
		finish(err)
		return
	}
	if c.wal != nil {
		c.wal.batches <- committedBatch{jobs: batch, errs: errs}
		return
	}
	finish(nil)
}

// answer tells each job of a batch its outcome: its own error, or shared
// when it has none.
func answer(jobs []*writeJob, errs []error, shared error) {
	for i, j := range jobs {
		if errs[i] == nil {
			errs[i] = shared
		}
		j.done <- errs[i]
	}
}

func (c *committer) close() {
	c.once.Do(func() {
		close(c.stop)
		c.wg.Wait()
		if c.wal != nil {
			// Syncs and answers the last batches.
			c.wal.close()
		}
		// database/sql finalizes only the statements prepared on the pool,
		// not those prepared on a pinned *sql.Conn: close gorm's cache
		// first, or SQLite keeps the connection open as a zombie and never
		// checkpoints and removes the WAL on Close. Each statement is closed
		// here, synchronously: the cache's own Close closes them in
		// goroutines, which may run after the connection is gone, and a
		// statement closed then is never finalized.
		for _, st := range c.stmts {
			st.Close()
		}
		if ps, ok := c.db.ConnPool.(*gorm.PreparedStmtDB); ok {
			for _, key := range ps.Stmts.Keys() {
				if st, ok := ps.Stmts.Get(key); ok {
					st.Close()
				}
			}
			ps.Close()
		}
		c.conn.Close()
	})
}

// txRows runs a query inside a write transaction's fn: on SQLite straight
// on the committer's connection, as a statement prepared once; elsewhere
// through tx. Only for statements without slice arguments (no "IN ?").
func (s *Store) txRows(tx *gorm.DB, query string, args ...any) (*sql.Rows, error) {
	if s.committer == nil {
		return tx.Raw(query, args...).Rows()
	}
	return s.committer.query(tx.Statement.Context, query, args...)
}

// errNoRow: a txScan or insertReturningID query returned no row.
var errNoRow = errors.New("store: no row")

// txScan runs a query that returns one row and scans it into dest.
func (s *Store) txScan(tx *gorm.DB, dest []any, query string, args ...any) error {
	rows, err := s.txRows(tx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errNoRow
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// insertReturningID runs an INSERT ... RETURNING id; errNoRow when it
// inserted nothing (ON CONFLICT DO NOTHING).
func (s *Store) insertReturningID(tx *gorm.DB, id *int64, query string, args ...any) error {
	return s.txScan(tx, []any{id}, query, args...)
}

// txExec is txRows for statements that return no rows.
func (s *Store) txExec(tx *gorm.DB, query string, args ...any) error {
	if s.committer == nil {
		return tx.Exec(query, args...).Error
	}
	return s.committer.exec(tx.Statement.Context, query, args...)
}

// writeTx runs fn in a write transaction: grouped with others on SQLite, a
// transaction of its own on PostgreSQL, whose server groups commits itself.
func (s *Store) writeTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.commitJob(ctx, &writeJob{fn: fn})
}

// commitJob is writeTx for a job that may also say what it does in a form
// the committer can merge with other jobs of its batch (a claim, a settle);
// job.fn runs it alone.
func (s *Store) commitJob(ctx context.Context, job *writeJob) error {
	if s.committer != nil {
		err := s.committer.do(ctx, job)
		// Whatever the outcome, the cache may no longer be true.
		s.writes.Add(1)
		return err
	}
	return s.write.WithContext(ctx).Transaction(job.fn)
}
