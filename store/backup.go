package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"recauda-bridge/models"
)

// ErrBackupUnsupported means Backup was asked of a PostgreSQL store, which
// pg_dump copies better than the bridge could.
var ErrBackupUnsupported = errors.New("store: backup copies a SQLite store only; back up PostgreSQL with pg_dump")

// TableRows is one table of a backup and its number of rows.
type TableRows struct {
	Table string
	Rows  int64
}

// BackupReport is what Backup wrote and checked.
type BackupReport struct {
	Path          string
	Bytes         int64
	SchemaVersion int
	Tables        []TableRows // by name
	Took          time.Duration
}

// Backup writes a consistent copy of the SQLite store to dest while the
// server keeps serving: VACUUM INTO reads one snapshot (every write committed
// before it began is in the copy, none after) and never blocks the writer.
// The copy is synced and checked (PRAGMA integrity_check, rows per table)
// under a temporary name in dest's directory, and only then given its name,
// so a file at dest is always a complete, checked copy. dest must not exist.
func (s *Store) Backup(ctx context.Context, dest string) (BackupReport, error) {
	start := time.Now()
	if s.dialect != models.DialectSQLite {
		return BackupReport{}, ErrBackupUnsupported
	}
	if _, err := os.Lstat(dest); err == nil {
		return BackupReport{}, fmt.Errorf("store: backup: %s exists; a backup never overwrites a file", dest)
	} else if !errors.Is(err, os.ErrNotExist) {
		return BackupReport{}, fmt.Errorf("store: backup: %w", err)
	}
	// VACUUM INTO accepts an empty file: creating it first reserves a name
	// no other backup running at the same time can take.
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".partial-*")
	if err != nil {
		return BackupReport{}, fmt.Errorf("store: backup: %w", err)
	}
	tmpPath := tmp.Name()
	_ = tmp.Close()
	done := false
	defer func() {
		if !done {
			_ = os.Remove(tmpPath)
		}
	}()
	// The readers are query_only, which refuses VACUUM INTO; on the writer it
	// still only reads, and the group committer has a connection of its own.
	if err := s.write.WithContext(ctx).Exec(`VACUUM INTO ?`, tmpPath).Error; err != nil {
		return BackupReport{}, translate("store: backup: vacuum into", err)
	}
	if err := syncPath(tmpPath); err != nil {
		return BackupReport{}, fmt.Errorf("store: backup: %w", err)
	}
	rep, err := CheckBackup(ctx, tmpPath)
	if err != nil {
		return BackupReport{}, err
	}
	// A link fails rather than replace a file that appeared meanwhile.
	if err := os.Link(tmpPath, dest); err != nil {
		return BackupReport{}, fmt.Errorf("store: backup: %w", err)
	}
	_ = os.Remove(tmpPath)
	done = true
	if err := syncPath(filepath.Dir(dest)); err != nil {
		return BackupReport{}, fmt.Errorf("store: backup: %w", err)
	}
	rep.Path = dest
	rep.Took = time.Since(start)
	return rep, nil
}

// CheckBackup opens the SQLite file at path read-only and checks it: PRAGMA
// integrity_check must answer ok, and every table is counted. It is what
// Backup runs on its copy, and what an operator runs on a file before
// restoring it.
func CheckBackup(ctx context.Context, path string) (BackupReport, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return BackupReport{}, fmt.Errorf("store: check backup: %w", err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_loc", "UTC")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return BackupReport{}, fmt.Errorf("store: check backup: %w", err)
	}
	defer db.Close()
	rep := BackupReport{Path: path, Bytes: fi.Size()}
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return BackupReport{}, fmt.Errorf("store: check backup %s: integrity_check: %w", path, err)
	}
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return BackupReport{}, fmt.Errorf("store: check backup %s: integrity_check: %w", path, err)
		}
		lines = append(lines, line)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return BackupReport{}, fmt.Errorf("store: check backup %s: integrity_check: %w", path, err)
	}
	if len(lines) != 1 || lines[0] != "ok" {
		return BackupReport{}, fmt.Errorf("store: check backup %s: integrity_check: %s", path, strings.Join(lines, "; "))
	}
	names, err := tableNames(ctx, db)
	if err != nil {
		return BackupReport{}, fmt.Errorf("store: check backup %s: %w", path, err)
	}
	for _, name := range names {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+name+`"`).Scan(&n); err != nil {
			return BackupReport{}, fmt.Errorf("store: check backup %s: count %s: %w", path, name, err)
		}
		rep.Tables = append(rep.Tables, TableRows{Table: name, Rows: n})
		if name == "schema_migrations" {
			if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&rep.SchemaVersion); err != nil {
				return BackupReport{}, fmt.Errorf("store: check backup %s: schema version: %w", path, err)
			}
		}
	}
	if rep.SchemaVersion == 0 {
		return BackupReport{}, fmt.Errorf("store: check backup %s: not a recauda-bridge database (no schema_migrations)", path)
	}
	return rep, nil
}

func tableNames(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, rows.Err()
}

// syncPath makes a file, or a directory's entries, durable.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
