package store

import (
	"context"
	"database/sql"
	"errors"

	"gorm.io/gorm"

	"recauda-bridge/store/internal/sqliteengine"
)

// txRows runs a query inside a write transaction's fn: on SQLite straight
// on the engine's connection, as a statement prepared once; elsewhere
// through tx. Only for statements without slice arguments (no "IN ?").
func (s *Store) txRows(tx *gorm.DB, query string, args ...any) (*sql.Rows, error) {
	if s.engine == nil {
		return tx.Raw(query, args...).Rows()
	}
	return s.engine.Query(tx.Statement.Context, query, args...)
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
	if s.engine == nil {
		return tx.Exec(query, args...).Error
	}
	return s.engine.Exec(tx.Statement.Context, query, args...)
}

// writeTx runs fn in a write transaction: grouped with others on SQLite, a
// transaction of its own on PostgreSQL, whose server groups commits itself.
func (s *Store) writeTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.commitJob(ctx, &sqliteengine.Job{Run: fn})
}

// commitJob is writeTx for a job that may also say what it does in a form
// the engine can merge with other jobs of its batch (s.claims, s.settles);
// job.Run runs it alone.
func (s *Store) commitJob(ctx context.Context, job *sqliteengine.Job) error {
	if s.engine != nil {
		return s.engine.Do(ctx, job)
	}
	return s.write.WithContext(ctx).Transaction(job.Run)
}
