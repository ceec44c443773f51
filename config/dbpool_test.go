package config

import (
	"strings"
	"testing"
	"time"
)

func TestDatabasePool(t *testing.T) {
	const pg = "postgres://u:p@127.0.0.1/db"
	tests := []struct {
		name         string
		env          map[string]string
		open, idle   int
		lifetime     time.Duration
		wantErrNamed string
	}{
		{"sqlite defaults", nil, 8, 8, 0, ""},
		{"postgres defaults", map[string]string{"DATABASE_URL": pg}, 20, 20, 30 * time.Minute, ""},
		{"set", map[string]string{"DATABASE_URL": pg, "DB_MAX_OPEN_CONNS": "12", "DB_MAX_IDLE_CONNS": "4", "DB_CONN_MAX_LIFETIME": "5m"}, 12, 4, 5 * time.Minute, ""},
		{"idle follows open", map[string]string{"DB_MAX_OPEN_CONNS": "3"}, 3, 3, 0, ""},
		{"lifetime 0 is never", map[string]string{"DATABASE_URL": pg, "DB_CONN_MAX_LIFETIME": "0"}, 20, 20, 0, ""},
		{"sqlite one reader", map[string]string{"DB_MAX_OPEN_CONNS": "1"}, 1, 1, 0, ""},
		{"postgres needs two", map[string]string{"DATABASE_URL": pg, "DB_MAX_OPEN_CONNS": "1"}, 0, 0, 0, "DB_MAX_OPEN_CONNS"},
		{"zero open", map[string]string{"DB_MAX_OPEN_CONNS": "0"}, 0, 0, 0, "DB_MAX_OPEN_CONNS"},
		{"not a number", map[string]string{"DB_MAX_OPEN_CONNS": "many"}, 0, 0, 0, "DB_MAX_OPEN_CONNS"},
		{"idle above open", map[string]string{"DB_MAX_OPEN_CONNS": "4", "DB_MAX_IDLE_CONNS": "5"}, 0, 0, 0, "DB_MAX_IDLE_CONNS"},
		{"idle zero", map[string]string{"DB_MAX_IDLE_CONNS": "0"}, 0, 0, 0, "DB_MAX_IDLE_CONNS"},
		{"negative lifetime", map[string]string{"DB_CONN_MAX_LIFETIME": "-1m"}, 0, 0, 0, "DB_CONN_MAX_LIFETIME"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(lookupFrom(tc.env))
			if tc.wantErrNamed != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrNamed) {
					t.Fatalf("got %v, want an error naming %s", err, tc.wantErrNamed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.DBMaxOpenConns != tc.open || c.DBMaxIdleConns != tc.idle || c.DBConnMaxLifetime != tc.lifetime {
				t.Fatalf("got open %d idle %d lifetime %s, want %d %d %s",
					c.DBMaxOpenConns, c.DBMaxIdleConns, c.DBConnMaxLifetime, tc.open, tc.idle, tc.lifetime)
			}
		})
	}
}
