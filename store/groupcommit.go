package store

import (
	"context"
	"database/sql"
	"fmt"
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
	jobs chan *writeJob
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func newCommitter(ctx context.Context, pool *sql.DB, gcfg *gorm.Config) (*committer, error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, err
	}
	cfg := *gcfg
	cfg.DisableAutomaticPing = true // a pinned *sql.Conn has no Ping
	db, err := gorm.Open(sqlite.Dialector{Conn: conn}, &cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &committer{db: db, conn: conn, jobs: make(chan *writeJob, maxBatch), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c, nil
}

// do runs fn in a write transaction and returns once it is committed or has
// failed. It waits for the outcome even when ctx is cancelled after the job
// was queued, because the caller must know whether its write happened.
func (c *committer) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	job := &writeJob{ctx: context.WithoutCancel(ctx), fn: fn, done: make(chan error, 1)}
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
	}
}

func (c *committer) commit(batch []*writeJob) {
	errs := make([]error, len(batch))
	finish := func(shared error) {
		for i, j := range batch {
			if errs[i] == nil {
				errs[i] = shared
			}
			j.done <- errs[i]
		}
	}
	if err := c.db.Exec("BEGIN IMMEDIATE").Error; err != nil {
		finish(err)
		return
	}
	for i, j := range batch {
		if err := c.db.Exec("SAVEPOINT job").Error; err != nil {
			errs[i] = err
			continue
		}
		if err := j.fn(c.db.WithContext(j.ctx)); err != nil {
			errs[i] = err
			if rerr := c.db.Exec("ROLLBACK TO SAVEPOINT job").Error; rerr != nil {
				// The transaction is unusable: the whole batch fails.
				c.db.Exec("ROLLBACK")
				finish(rerr)
				return
			}
		}
		if err := c.db.Exec("RELEASE SAVEPOINT job").Error; err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	if err := c.db.Exec("COMMIT").Error; err != nil {
		c.db.Exec("ROLLBACK")
		finish(err)
		return
	}
	finish(nil)
}

func (c *committer) close() {
	c.once.Do(func() {
		close(c.stop)
		c.wg.Wait()
		// database/sql finalizes only the statements prepared on the pool,
		// not those prepared on a pinned *sql.Conn: close gorm's cache
		// first, or SQLite keeps the connection open as a zombie and never
		// checkpoints and removes the WAL on Close. Each statement is closed
		// here, synchronously: the cache's own Close closes them in
		// goroutines, which may run after the connection is gone, and a
		// statement closed then is never finalized.
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

// writeTx runs fn in a write transaction: grouped with others on SQLite, a
// transaction of its own on PostgreSQL, whose server groups commits itself.
func (s *Store) writeTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.committer != nil {
		err := s.committer.do(ctx, fn)
		// Whatever the outcome, the cache may no longer be true.
		s.writes.Add(1)
		return err
	}
	return s.write.WithContext(ctx).Transaction(fn)
}
