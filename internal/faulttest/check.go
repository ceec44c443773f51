package faulttest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/mattn/go-sqlite3" // the tracking store's SQLite file, read only
)

// OpenReadOnly opens the bridge's SQLite file for reading while the server
// may be running (WAL lets a reader see the last commit without blocking the
// writer).
func OpenReadOnly(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_busy_timeout", "5000")
	q.Set("_loc", "UTC")
	return sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
}

// consistencyQueries each list the rows that break one rule the store's
// transactions promise: what one transaction writes is all there or none of
// it is. Every query returns one text column naming the offending row.
var consistencyQueries = []struct {
	rule  string
	query string
}{
	{"a claimed charge has its send on the timeline",
		`SELECT ref_payment FROM charges c WHERE send_count > 0 AND NOT EXISTS (
			SELECT 1 FROM charge_events e WHERE e.charge_id = c.id AND e.kind IN ('sent', 'resent'))`},
	{"an applied webhook changed its charge and wrote its timeline entry",
		`SELECT 'webhook_event ' || w.id FROM webhook_events w WHERE w.outcome = 'applied' AND (w.charge_id IS NULL OR NOT EXISTS (
			SELECT 1 FROM charge_events e WHERE e.charge_id = w.charge_id AND e.kind = 'webhook'
			AND e.detail LIKE '%transaction ' || w.transaction_id || ' %'))`},
	{"a webhook timeline entry has its stored webhook",
		`SELECT 'charge_event ' || e.id FROM charge_events e WHERE e.kind = 'webhook' AND NOT EXISTS (
			SELECT 1 FROM webhook_events w WHERE w.charge_id = e.charge_id AND w.outcome <> 'duplicate'
			AND e.detail LIKE '%transaction ' || w.transaction_id || ' %')`},
	{"a transaction and status is applied at most once per charge",
		`SELECT 'transaction ' || transaction_id || ' ' || status FROM webhook_events
			WHERE outcome = 'applied' GROUP BY charge_id, transaction_id, status HAVING COUNT(*) > 1`},
	{"a paid charge has its paying transaction and time",
		`SELECT ref_payment FROM charges WHERE status IN ('paid', 'partially_paid') AND (transaction_id = '' OR paid_at IS NULL)`},
	{"a paid charge has its write-back job",
		`SELECT ref_payment FROM charges c WHERE status IN ('paid', 'partially_paid') AND NOT EXISTS (
			SELECT 1 FROM writebacks w WHERE w.charge_id = c.id AND w.transaction_id = c.transaction_id)`},
	{"a write-back job was queued on the charge's timeline",
		`SELECT 'writeback ' || w.id FROM writebacks w WHERE NOT EXISTS (
			SELECT 1 FROM charge_events e WHERE e.charge_id = w.charge_id AND e.kind = 'writeback_enqueued'
			AND e.detail LIKE 'write-back #' || w.id || ' %')`},
	{"a finished write-back job has its finish time",
		`SELECT 'writeback ' || id FROM writebacks WHERE state = 'done' AND done_at IS NULL`},
}

// CheckDB looks for what a fault must never leave behind: a file SQLite
// itself finds damaged (PRAGMA integrity_check, foreign_key_check) and any
// half-written transaction (consistencyQueries). It returns one line per
// problem; an error only when the checks could not run.
func CheckDB(ctx context.Context, db *sql.DB) ([]string, error) {
	var problems []string
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return nil, fmt.Errorf("integrity_check: %w", err)
	}
	var lines []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		lines = append(lines, s)
	}
	rows.Close()
	if len(lines) != 1 || lines[0] != "ok" {
		problems = append(problems, "integrity_check: "+strings.Join(lines, "; "))
	}
	fk, err := column(ctx, db, `SELECT "table" || ' rowid ' || rowid FROM pragma_foreign_key_check`)
	if err != nil {
		return nil, fmt.Errorf("foreign_key_check: %w", err)
	}
	for _, s := range fk {
		problems = append(problems, "foreign_key_check: "+s)
	}
	for _, q := range consistencyQueries {
		bad, err := column(ctx, db, q.query)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.rule, err)
		}
		for i, s := range bad {
			if i == 10 {
				problems = append(problems, fmt.Sprintf("%s: and %d more", q.rule, len(bad)-10))
				break
			}
			problems = append(problems, q.rule+": broken by "+s)
		}
	}
	return problems, nil
}

// Counts are the row counts of the tables a lookup or a webhook writes.
type Counts struct {
	Charges, ChargeEvents, HeldBack, WebhookEvents, Writebacks int
}

// TableCounts counts the rows of every table a lookup or webhook writes, to
// show that a refused request left nothing behind.
func TableCounts(ctx context.Context, db *sql.DB) (Counts, error) {
	var c Counts
	for _, t := range []struct {
		table string
		dst   *int
	}{
		{"charges", &c.Charges}, {"charge_events", &c.ChargeEvents}, {"held_back", &c.HeldBack},
		{"webhook_events", &c.WebhookEvents}, {"writebacks", &c.Writebacks},
	} {
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.table).Scan(t.dst); err != nil {
			return c, fmt.Errorf("count %s: %w", t.table, err)
		}
	}
	return c, nil
}

func column(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
