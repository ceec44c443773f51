// Package store is recauda-bridge's tracking database: which ref_payments were
// offered and what became of them, records held back, webhook events and
// write-back jobs. It owns every SQL statement and GORM call; callers see
// plain Go types and the store's own error sentinels.
//
// SQLite is the default (one file, WAL, one writer connection and a pool of
// readers); PostgreSQL serves several replicas sharing the work.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"recauda-bridge/models"
	"recauda-bridge/store/internal/sqliteengine"
)

// Errors the store returns, wrapped; match them with errors.Is.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means the change would break a uniqueness or state rule.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable means the database could not do what was asked now:
	// locked, full, read-only, unreachable. Worth retrying later.
	ErrUnavailable = errors.New("store: database unavailable")
	// ErrSchemaOutdated means the database needs `recauda-bridge migrate`.
	ErrSchemaOutdated = errors.New("store: schema is out of date")
	// ErrSchemaNewer means a newer binary migrated the database: this one
	// refuses to run on a schema it does not know.
	ErrSchemaNewer = errors.New("store: schema is newer than this binary")
)

// Options tune the store.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives slow-query and error lines; nil discards them.
	Logger *slog.Logger
	// MaxOpenConns bounds the reader pool on SQLite (whose writer is always
	// one connection; default 8) and the whole pool on PostgreSQL (default
	// 20). PostgreSQL needs at least 2: Migrate holds one connection for its
	// advisory lock while the steps run on another.
	MaxOpenConns int
	// MaxIdleConns is how many of those stay open when idle; 0 means
	// MaxOpenConns, negative means none.
	MaxIdleConns int
	// ConnMaxLifetime closes a connection this long after it was opened (a
	// fail-over or a pooler then gets new connections); 0 means never.
	ConnMaxLifetime time.Duration
	// BusyTimeout (SQLite) is how long a write waits for a lock that another
	// connection or process holds before it fails with ErrUnavailable;
	// 0 means 5s.
	BusyTimeout time.Duration
	// SQLiteDriver (SQLite) is the database/sql driver name; "" means
	// mattn/go-sqlite3's "sqlite3". Fault tests register that driver under
	// another name with a ConnectHook, to make the writer connection
	// read-only or full while the store runs (faults_test.go).
	SQLiteDriver string
	// syncLog, when set, replaces the fsync of SQLite's log: tests make it
	// fail.
	syncLog func() error
}

// Pool sizes when Options.MaxOpenConns is 0.
const (
	DefaultSQLiteReaders   = 8
	DefaultPostgresMaxOpen = 20
)

// Store wraps the database. It is safe for concurrent use.
type Store struct {
	dialect string
	// write is the only handle that changes data. On SQLite it holds one
	// connection, so writers queue in Go instead of spinning on SQLITE_BUSY.
	write *gorm.DB
	// read serves queries; on PostgreSQL it is the same pool as write.
	read *gorm.DB
	// engine groups SQLite's write transactions; nil on PostgreSQL.
	engine *sqliteengine.Engine
	// claims and settles are the kinds of write the engine may run
	// several of at once; nil on PostgreSQL.
	claims  *sqliteengine.Merge[*claimWork]
	settles *sqliteengine.Merge[*settleWork]
	// cache serves Tracked on SQLite until the engine's next write; nil on
	// PostgreSQL, where other replicas write too.
	cache *sqliteengine.Cache[map[string]Tracked]
	// trackedRead reads tracked refs on SQLite; nil on PostgreSQL.
	trackedRead *sqliteengine.SizedRead
	now         func() time.Time
	log         *slog.Logger
}

// Open connects to the database. It does not migrate.
func Open(ctx context.Context, dialect, dsn string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = DefaultSQLiteReaders
		if dialect == models.DialectPostgres {
			opts.MaxOpenConns = DefaultPostgresMaxOpen
		}
	}
	if dialect == models.DialectPostgres && opts.MaxOpenConns < 2 {
		return nil, fmt.Errorf("store: postgres needs at least 2 connections (Migrate holds one for its lock), got %d", opts.MaxOpenConns)
	}
	s := &Store{dialect: dialect, now: func() time.Time { return opts.Now().UTC().Truncate(time.Microsecond) }, log: opts.Logger}
	gcfg := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                s.now,
		SkipDefaultTransaction: true,
		PrepareStmt:            true,
		TranslateError:         true,
	}
	switch dialect {
	case models.DialectSQLite:
		w, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: opts.SQLiteDriver, DSN: sqliteDSN(dsn, false, opts.BusyTimeout)}), gcfg)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", dsn, errors.Join(ErrUnavailable, err))
		}
		r, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: opts.SQLiteDriver, DSN: sqliteDSN(dsn, true, opts.BusyTimeout)}), gcfg)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", dsn, errors.Join(ErrUnavailable, err))
		}
		s.write, s.read = w, r
		// Two writer connections: one pinned by the write engine, one for
		// migrations and the rare writes outside it.
		writer := opts
		writer.MaxOpenConns, writer.MaxIdleConns = 2, 2
		if err := setPool(w, writer); err != nil {
			return nil, err
		}
		if err := setPool(r, opts); err != nil {
			return nil, err
		}
		readDB, err := r.DB()
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", errors.Join(ErrUnavailable, err))
		}
		s.trackedRead = sqliteengine.NewSizedRead(readDB, trackedReadSizes[:], trackedReadText)
		sqlDB, err := w.DB()
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", errors.Join(ErrUnavailable, err))
		}
		if s.engine, err = sqliteengine.Open(ctx, sqlDB, gcfg, sqliteengine.Config{Path: dsn, Log: opts.Logger, SyncLog: opts.syncLog}); err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", errors.Join(ErrUnavailable, err))
		}
		s.claims = sqliteengine.NewMerge(s.mergeClaims)
		s.settles = sqliteengine.NewMerge(s.mergeSettles)
		s.cache = sqliteengine.NewCache[map[string]Tracked]()
	case models.DialectPostgres:
		// pgx keeps each connection's statements prepared itself (its
		// statement cache). GORM's prepared statements on top of it cost,
		// inside a transaction, a prepare before each statement and a
		// deallocate of each at the commit: two more round trips per
		// statement of every write transaction.
		pcfg := *gcfg
		pcfg.PrepareStmt = false
		db, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn, OptionOpenDB: []stdlib.OptionOpenDB{
			stdlib.OptionAfterConnect(scanTimesInUTC),
		}}), &pcfg)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", errors.Join(ErrUnavailable, err))
		}
		if err := setPool(db, opts); err != nil {
			return nil, err
		}
		s.write, s.read = db, db
	default:
		return nil, fmt.Errorf("store: unknown dialect %q", dialect)
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// sqliteDSN sets what every connection needs: WAL so readers never block the
// writer, a busy timeout, foreign keys, and full sync because an
// acknowledged webhook must survive a power cut, not just a crash (the write
// engine's connection syncs the log itself instead: sqliteengine).
func sqliteDSN(path string, readOnly bool, busy time.Duration) string {
	if busy <= 0 {
		busy = 5 * time.Second
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "FULL")
	q.Set("_loc", "UTC")
	// database/sql never uses a connection from two goroutines at once, so
	// SQLite's own per-call connection mutex only costs.
	q.Set("_mutex", "no")
	if readOnly {
		q.Set("_query_only", "true")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// timeArg is t as an argument of a statement. On SQLite it is the text
// mattn/go-sqlite3 would write for it, formatted by the caller: the write
// engine's one goroutine then only binds text.
func (s *Store) timeArg(t time.Time) any {
	if s.dialect == models.DialectSQLite {
		return t.Format(sqlite3.SQLiteTimestampFormats[0])
	}
	return t
}

// scanTimesInUTC makes a PostgreSQL connection return TIMESTAMPTZ values in
// UTC, as SQLite's do (_loc=UTC), rather than in the process's local zone:
// the same instant either way, but the store hands out UTC times.
func scanTimesInUTC(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{
		Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

func setPool(db *gorm.DB, opts Options) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("store: pool: %w", err)
	}
	idle := opts.MaxIdleConns
	if idle == 0 {
		idle = opts.MaxOpenConns
	}
	sqlDB.SetMaxOpenConns(opts.MaxOpenConns)
	sqlDB.SetMaxIdleConns(idle) // negative: none
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(opts.ConnMaxLifetime)
	return nil
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers and can still make writes durable.
func (s *Store) Ping(ctx context.Context) error {
	if s.engine != nil {
		if err := s.engine.Failure(); err != nil {
			return fmt.Errorf("store: ping: %w", errors.Join(ErrUnavailable, err))
		}
	}
	for _, db := range []*gorm.DB{s.write, s.read} {
		sqlDB, err := db.DB()
		if err != nil {
			return fmt.Errorf("store: ping: %w", errors.Join(ErrUnavailable, err))
		}
		if err := sqlDB.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping: %w", errors.Join(ErrUnavailable, err))
		}
	}
	return nil
}

// SyncFailed reports whether a sync of SQLite's log failed since the store
// opened, after which every write is refused until a restart. Always false
// on PostgreSQL, whose server owns durability.
func (s *Store) SyncFailed() bool { return s.engine != nil && s.engine.Failure() != nil }

// Close closes every connection.
func (s *Store) Close() error {
	if s.engine != nil {
		s.engine.Close()
	}
	var errs []error
	if s.trackedRead != nil {
		errs = append(errs, s.trackedRead.Close())
	}
	seen := map[*gorm.DB]bool{}
	for _, db := range []*gorm.DB{s.read, s.write} {
		if db == nil || seen[db] {
			continue
		}
		seen[db] = true
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
	}
	return errors.Join(errs...)
}

// translate maps a driver error to the store's sentinels, keeping the cause.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, errors.Join(ErrConflict, err))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, errors.Join(ErrUnavailable, err))
	}
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		return fmt.Errorf("%s: %w", op, errors.Join(ErrConflict, err))
	}
	// Anything else is the database failing us (locked, full, read-only,
	// gone): the caller answers 503 and Efipay or the customer retries.
	return fmt.Errorf("%s: %w", op, errors.Join(ErrUnavailable, err))
}
