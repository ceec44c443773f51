package models

// Database dialects, one name each: the tracking store's (DATABASE_URL:
// SQLite or PostgreSQL) and the ERP's SQL source's (ERP_SQL_DRIVER, which
// also accepts aliases of these names).
const (
	DialectSQLite    = "sqlite"
	DialectPostgres  = "postgres"
	DialectMySQL     = "mysql"
	DialectSQLServer = "sqlserver"
)

// SQLDialect is the dialect of a name ERP_SQL_DRIVER accepts (in lower
// case: a dialect's name, its database/sql driver's, or an alias); false
// for any other.
func SQLDialect(driver string) (string, bool) {
	switch driver {
	case DialectPostgres, "postgresql", "pgx":
		return DialectPostgres, true
	case DialectMySQL, "mariadb":
		return DialectMySQL, true
	case DialectSQLite, "sqlite3":
		return DialectSQLite, true
	case DialectSQLServer, "mssql":
		return DialectSQLServer, true
	}
	return "", false
}
