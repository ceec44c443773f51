package store

import (
	"context"
	"fmt"
	"sync"

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
	db   *gorm.DB
	jobs chan *writeJob
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func newCommitter(db *gorm.DB) *committer {
	c := &committer{db: db, jobs: make(chan *writeJob, maxBatch), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
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
	if len(batch) == 1 {
		j := batch[0]
		j.done <- c.db.WithContext(j.ctx).Transaction(j.fn)
		return
	}
	errs := make([]error, len(batch))
	tx := c.db.Begin()
	if tx.Error != nil {
		for _, j := range batch {
			j.done <- tx.Error
		}
		return
	}
	for i, j := range batch {
		if err := tx.Exec("SAVEPOINT job").Error; err != nil {
			errs[i] = err
			continue
		}
		if err := j.fn(tx.WithContext(j.ctx)); err != nil {
			errs[i] = err
			if rerr := tx.Exec("ROLLBACK TO SAVEPOINT job").Error; rerr != nil {
				// The transaction is unusable: fail the whole batch.
				tx.Rollback()
				for k, j := range batch {
					if errs[k] == nil {
						errs[k] = rerr
					}
					j.done <- errs[k]
				}
				return
			}
		}
		if err := tx.Exec("RELEASE SAVEPOINT job").Error; err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	if err := tx.Commit().Error; err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	for i, j := range batch {
		j.done <- errs[i]
	}
}

func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

// writeTx runs fn in a write transaction: grouped with others on SQLite, a
// transaction of its own on PostgreSQL, whose server groups commits itself.
func (s *Store) writeTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.committer != nil {
		return s.committer.do(ctx, fn)
	}
	return s.write.WithContext(ctx).Transaction(fn)
}
