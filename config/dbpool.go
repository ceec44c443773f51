package config

import (
	"time"

	"recauda-bridge/models"
)

// Pool defaults per dialect. SQLite's writer is always one connection of its
// own; DB_MAX_OPEN_CONNS bounds its readers. PostgreSQL's pool is shared by
// readers and writers; several replicas each hold one, so the sum must stay
// under the server's max_connections (100 by default).
const (
	defaultSQLiteReaders    = 8
	defaultPostgresMaxOpen  = 20
	defaultPostgresLifetime = 30 * time.Minute
)

// databasePool reads DB_MAX_OPEN_CONNS, DB_MAX_IDLE_CONNS and
// DB_CONN_MAX_LIFETIME into c, with defaults for c.Database's dialect.
func (r *reader) databasePool(c *Config) {
	open, lifetime := defaultSQLiteReaders, time.Duration(0)
	if c.Database.Dialect == models.DialectPostgres {
		open, lifetime = defaultPostgresMaxOpen, defaultPostgresLifetime
	}
	c.DBMaxOpenConns = r.integer("DB_MAX_OPEN_CONNS", open)
	c.DBMaxIdleConns = r.integer("DB_MAX_IDLE_CONNS", c.DBMaxOpenConns)
	c.DBConnMaxLifetime = r.duration("DB_CONN_MAX_LIFETIME", lifetime)

	// On PostgreSQL, migrating holds one connection for its advisory lock
	// while the steps run on another.
	least := 1
	if c.Database.Dialect == models.DialectPostgres {
		least = 2
	}
	if c.DBMaxOpenConns < least {
		r.fail("DB_MAX_OPEN_CONNS", "must be at least %d for %s, got %d", least, c.Database.Dialect, c.DBMaxOpenConns)
	}
	if c.DBMaxIdleConns < 1 || c.DBMaxIdleConns > max(c.DBMaxOpenConns, 1) {
		r.fail("DB_MAX_IDLE_CONNS", "must be between 1 and DB_MAX_OPEN_CONNS (%d), got %d", c.DBMaxOpenConns, c.DBMaxIdleConns)
	}
	if c.DBConnMaxLifetime < 0 {
		r.fail("DB_CONN_MAX_LIFETIME", "must be 0 (never) or positive")
	}
}
