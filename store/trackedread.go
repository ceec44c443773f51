package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// trackedRead is the read of tracked refs on SQLite, by hand: the first
// offer's hot path. Its statements are prepared once per size and pool
// connection (database/sql re-prepares a statement on each connection it
// meets); a list of refs is padded to the next size with its last ref,
// which an IN list ignores, so a few texts serve every length.
type trackedRead struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[int]*sql.Stmt
}

// trackedReadSizes are the row counts of the prepared reads: a customer's
// few charges exactly, longer lists in powers of two up to chunk.
var trackedReadSizes = [...]int{1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128, 256, chunk}

func newTrackedRead(db *sql.DB) *trackedRead {
	return &trackedRead{db: db, stmts: map[int]*sql.Stmt{}}
}

// query runs the read for refs (at most chunk of them).
//
// It runs without the request's cancellation: with a cancellable context,
// database/sql and the driver each start a goroutine per query to watch it,
// a third of a first offer's goroutines, for a lookup by a unique index
// that a WAL reader never waits for (the busy timeout bounds the rare
// wait of a reader during recovery). A request already cancelled reads
// nothing.
func (r *trackedRead) query(ctx context.Context, refs []string) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size := chunk
	for _, n := range trackedReadSizes {
		if n >= len(refs) {
			size = n
			break
		}
	}
	if len(refs) == 0 || len(refs) > size {
		return nil, errors.New("store: tracked read of no refs or more than a chunk")
	}
	st, err := r.stmt(ctx, size)
	if err != nil {
		return nil, err
	}
	args := make([]any, size)
	for i := range args {
		args[i] = refs[min(i, len(refs)-1)]
	}
	return st.QueryContext(context.WithoutCancel(ctx), args...)
}

func (r *trackedRead) stmt(ctx context.Context, size int) (*sql.Stmt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.stmts[size]; ok {
		return st, nil
	}
	st, err := r.db.PrepareContext(ctx, `SELECT `+trackedSelect+` FROM charges WHERE ref_payment IN (`+placeholders(size)+`)`)
	if err != nil {
		return nil, err
	}
	r.stmts[size] = st
	return st, nil
}

func (r *trackedRead) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, st := range r.stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}
