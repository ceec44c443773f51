// Package storetest gives tests a real, empty PostgreSQL database of their
// own: a fresh schema in the server named by RECAUDA_TEST_POSTGRES_DSN,
// dropped when the test ends.
//
// Outside CI a test without a server skips and says how to start one; in CI
// (CI is set) it fails, because CI installs and starts PostgreSQL
// (.ci/run → scripts/test-services.sh) and must never skip these tests.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	// The pgx database/sql driver, which gorm's postgres driver uses too.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// EnvPostgresDSN names the variable holding the test server's URL, e.g.
// postgres://recauda:recauda@127.0.0.1:5432/recauda_test?sslmode=disable.
// Its role must be allowed to create schemas.
const EnvPostgresDSN = "RECAUDA_TEST_POSTGRES_DSN"

// PostgresDSN creates a schema recauda_t_<random> and returns a URL whose
// connections use it (search_path), so that the test sees an empty
// database, whatever other tests do on the same server at the same time.
// The schema and everything in it is dropped in t.Cleanup.
//
// Without RECAUDA_TEST_POSTGRES_DSN the test is skipped, or fails when CI is
// set.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresDSN)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set, and CI must run the PostgreSQL tests: start the server with eval \"$(bash scripts/test-services.sh)\"", EnvPostgresDSN)
		}
		t.Skipf("%s is not set: this test needs a real PostgreSQL server; start one with eval \"$(sudo bash scripts/test-services.sh)\" (CI always does)", EnvPostgresDSN)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgresDSN, err)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgresDSN, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema := "recauda_t_" + randomHex(t, 8)
	// schema is [a-z0-9_] only, so quoting is not needed.
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s on %s: %v", schema, u.Redacted(), err)
	}
	t.Cleanup(func() { dropSchema(t, base, schema) })

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func dropSchema(t testing.TB, base, schema string) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
