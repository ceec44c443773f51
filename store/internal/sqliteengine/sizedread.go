package sqliteengine

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// SizedRead is a read by a list of keys (an IN list) on SQLite, by hand:
// the first offer's hot path. Its statements are prepared once per size
// and pool connection (database/sql re-prepares a statement on each
// connection it meets); a list of keys is padded to the next size with its
// last key, which an IN list ignores, so a few texts serve every length.
type SizedRead struct {
	db    *sql.DB
	text  func(size int) string
	sizes []int
	mu    sync.Mutex
	stmts map[int]*sql.Stmt
}

// NewSizedRead reads on db with the statement text(n) for a list of n
// keys, n one of sizes (ascending); the last is the longest list it takes.
func NewSizedRead(db *sql.DB, sizes []int, text func(size int) string) *SizedRead {
	return &SizedRead{db: db, text: text, sizes: sizes, stmts: map[int]*sql.Stmt{}}
}

// Query runs the read for keys (at most the largest size).
//
// It runs without the request's cancellation: with a cancellable context,
// database/sql and the driver each start a goroutine per query to watch it,
// a third of a first offer's goroutines, for a lookup by a unique index
// that a WAL reader never waits for (the busy timeout bounds the rare
// wait of a reader during recovery). A request already cancelled reads
// nothing.
func (r *SizedRead) Query(ctx context.Context, keys []string) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size := r.sizes[len(r.sizes)-1]
	for _, n := range r.sizes {
		if n >= len(keys) {
			size = n
			break
		}
	}
	if len(keys) == 0 || len(keys) > size {
		return nil, errors.New("store: sized read of no keys or more than its largest size")
	}
	st, err := r.stmt(ctx, size)
	if err != nil {
		return nil, err
	}
	args := make([]any, size)
	for i := range args {
		args[i] = keys[min(i, len(keys)-1)]
	}
	return st.QueryContext(context.WithoutCancel(ctx), args...)
}

func (r *SizedRead) stmt(ctx context.Context, size int) (*sql.Stmt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.stmts[size]; ok {
		return st, nil
	}
	st, err := r.db.PrepareContext(ctx, r.text(size))
	if err != nil {
		return nil, err
	}
	r.stmts[size] = st
	return st, nil
}

// Prepared is the number of statements prepared so far.
func (r *SizedRead) Prepared() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.stmts)
}

// Close closes the prepared statements.
func (r *SizedRead) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, st := range r.stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}
