// Command bench-erp measures what the sql ERP source costs on a merchant-sized
// PostgreSQL ERP, and what the bridge adds over the same query run straight
// against the database. It prints a Markdown table for BENCHMARKS.md.
//
//  1. Makes the ERP (schema.sql: 100,000 customers, 1,000,000 invoices, in
//     the schema erp_bench of the database -pg names) unless it is there.
//  2. Picks -pool customers who owe something, and a request sequence of
//     -rate × -duration random customers of that pool (fixed seed).
//  3. direct: runs the lookup of testdata/erp-config/sql-postgres.yaml with
//     database/sql and pgx, as the bridge does, at -rate per second, open
//     loop, reading every row.
//  4. Builds the bridge and runs it (ERP_SOURCE=sql with that same file,
//     SQLite tracking store in a temporary directory, loopback only): once to
//     offer every pool customer once (warm-up: their charges are then
//     tracked as sent), then, each time in a fresh process, the same request
//     sequence through GET /get-recaudas without cache, with
//     ERP_CACHE_TTL=-cache (empty at start), and for customers never offered
//     (each lookup claims their charges: one SQLite write). Each process
//     first gets a second of lookups for unknown ID numbers, so that its
//     connection pool is open before the measured run.
//  5. Counts the lookup queries PostgreSQL ran in each run (scans of the
//     index on customers.document, from pg_stat_user_indexes, less the
//     process warm-up's), which shows what the cache and coalescing saved.
//
// Latency is measured from when each request was due, so a client or server
// that falls behind shows in the figures (no coordinated omission).
//
// Usage (from the repository root):
//
//	eval "$(bash scripts/test-services.sh)"
//	go run ./scripts/bench-erp -pg "$RECAUDA_TEST_POSTGRES_DSN" -rate 200 -duration 20s
package main

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"go.yaml.in/yaml/v3"
)

//go:embed schema.sql
var schemaSQL string

const (
	wantCustomers = 100_000
	wantInvoices  = 1_000_000
	exampleConfig = "testdata/erp-config/sql-postgres.yaml"
)

func main() {
	pg := flag.String("pg", os.Getenv("RECAUDA_TEST_POSTGRES_DSN"), "PostgreSQL URL of the database that holds (or will hold) the schema erp_bench")
	rate := flag.Int("rate", 200, "requests per second")
	duration := flag.Duration("duration", 20*time.Second, "length of each measured run")
	pool := flag.Int("pool", 1000, "customers looked up in the steady-state runs")
	cacheTTL := flag.Duration("cache", 30*time.Second, "ERP_CACHE_TTL of the cached run")
	regen := flag.Bool("regen", false, "make the ERP again even if it is there")
	flag.Parse()
	if *pg == "" {
		log.Fatal("no -pg and no RECAUDA_TEST_POSTGRES_DSN: run eval \"$(bash scripts/test-services.sh)\" first")
	}
	if *rate <= 0 || *duration <= 0 || *pool <= 0 {
		log.Fatal("-rate, -duration and -pool must be positive")
	}
	dsn, err := withSearchPath(*pg, "erp_bench")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(10) // the sql source's default pool
	db.SetMaxIdleConns(10)
	ctx := context.Background()

	if err := ensureERP(ctx, db, *regen); err != nil {
		log.Fatal(err)
	}
	n := int(float64(*rate) * duration.Seconds())
	steady, fresh, err := customers(ctx, db, *pool, n)
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 2))
	seq := make([]string, n)
	for i := range seq {
		seq[i] = steady[rng.IntN(len(steady))]
	}

	query, err := exampleQuery()
	if err != nil {
		log.Fatal(err)
	}
	var results []result
	// Unknown ID numbers: lookups that reach the ERP (and fill the
	// connection pools) but find nothing, so they neither claim nor cache
	// anything of the measured customers.
	nobody := make([]string, *rate)
	for i := range nobody {
		nobody[i] = strconv.Itoa(90000 + i)
	}

	// 1. The query straight against PostgreSQL.
	openLoop("connection warm-up", *rate, nobody, func(id string) error { _ = runQuery(ctx, db, query, id); return nil })
	log.Printf("direct: %d queries at %d/s", n, *rate)
	r := openLoop("PostgreSQL directly (database/sql + pgx, same query)", *rate, seq, func(id string) error {
		return runQuery(ctx, db, query, id)
	})
	r.erpQueries = int64(r.requests)
	results = append(results, r)

	// 2. Through the bridge, each run in a fresh process (an empty cache).
	tmp, err := os.MkdirTemp("", "bench-erp-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "recauda-bridge")
	log.Printf("building the bridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		log.Fatalf("go build: %v\n%s", err, out)
	}
	env := map[string]string{
		"ERP_SOURCE":    "sql",
		"ERP_CONFIG":    exampleConfig,
		"ERP_SQL_DSN":   dsn,
		"DATABASE_URL":  filepath.Join(tmp, "tracking.db"),
		"LOOKUP_PUBLIC": "true", // loopback only
	}

	b, err := startBridge(bin, tmp, env, "warmup", *rate, nobody)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("warm-up: offering each of the %d pool customers once", len(steady))
	warm := openLoop("warm-up", *rate, steady, b.lookup)
	b.stop()
	if warm.errors > 0 {
		log.Fatalf("warm-up: %d of %d lookups failed; see %s", warm.errors, len(steady), b.logPath)
	}

	runs := []struct {
		name, cache string
		ids         []string
	}{
		{"bridge, no cache (charges already offered)", "", seq},
		{fmt.Sprintf("bridge, ERP_CACHE_TTL=%s (empty at start), charges already offered", cacheTTL), cacheTTL.String(), seq},
		{"bridge, no cache, first offers (claims written to SQLite)", "", fresh},
	}
	for i, run := range runs {
		env["ERP_CACHE_TTL"] = run.cache
		before, err := erpQueries(ctx, db)
		if err != nil {
			log.Fatal(err)
		}
		b, err := startBridge(bin, tmp, env, fmt.Sprintf("run%d", i+1), *rate, nobody)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("%s: %d lookups at %d/s", run.name, len(run.ids), *rate)
		r := openLoop(run.name, *rate, run.ids, b.lookup)
		b.stop()
		if r.erpQueries, err = erpQueriesSince(ctx, db, before, len(nobody)); err != nil {
			log.Fatal(err)
		}
		results = append(results, r)
	}

	printTable(os.Stdout, *rate, *duration, *pool, results)
}

// withSearchPath adds options=-c search_path=schema to a PostgreSQL URL.
func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("-pg must be a postgres:// URL, got %q", raw)
	}
	q := u.Query()
	q.Set("options", "-c search_path="+schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// ensureERP makes the ERP unless it is already there, complete.
func ensureERP(ctx context.Context, db *sql.DB, regen bool) error {
	if !regen {
		var customers, invoices int
		err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM invoices)`).Scan(&customers, &invoices)
		if err == nil && customers == wantCustomers && invoices == wantInvoices {
			log.Printf("ERP already there: %d customers, %d invoices", customers, invoices)
			return nil
		}
	}
	log.Printf("making the ERP (%d customers, %d invoices): about 20 s", wantCustomers, wantInvoices)
	start := time.Now()
	// Without arguments pgx sends the file with the simple protocol: every
	// statement in it runs, in order.
	if _, err := db.ExecContext(ctx, schemaSQL); err != nil {
		return fmt.Errorf("schema.sql: %w", err)
	}
	log.Printf("ERP made in %s", time.Since(start).Round(time.Second))
	return nil
}

// customers returns pool customers who owe something, and n others who owe
// something too, never looked up (for the first-offer run).
func customers(ctx context.Context, db *sql.DB, pool, n int) (steady, fresh []string, err error) {
	rows, err := db.QueryContext(ctx, `
		SELECT c.document FROM customers c
		WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = c.id AND i.balance > 0)
		ORDER BY md5(c.document) LIMIT $1`, pool+n)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, nil, err
		}
		all = append(all, d)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(all) < pool+n {
		return nil, nil, fmt.Errorf("only %d customers owe something; need %d", len(all), pool+n)
	}
	return all[:pool], all[pool:], nil
}

// exampleQuery is the worked example's lookup with :id_number as $1 (in a
// comment too, where it does not matter).
func exampleQuery() (string, error) {
	raw, err := os.ReadFile(exampleConfig)
	if err != nil {
		return "", fmt.Errorf("%w (run from the repository root)", err)
	}
	var f struct {
		SQL struct {
			Query string `yaml:"query"`
		} `yaml:"sql"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return "", err
	}
	return strings.ReplaceAll(f.SQL.Query, ":id_number", "$1"), nil
}

// runQuery runs the lookup and reads every value of every row, as the sql
// source does.
func runQuery(ctx context.Context, db *sql.DB, query, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, query, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	found := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		found++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if found == 0 {
		return errors.New("no charges")
	}
	return nil
}

type result struct {
	name     string
	requests int
	errors   int
	elapsed  time.Duration
	lat      []time.Duration
	// erpQueries is how many lookup queries PostgreSQL ran for known
	// customers during the run.
	erpQueries int64
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

// openLoop starts do(ids[i]) at start + i/rate, each in its own goroutine,
// whatever the earlier ones are doing, and measures each from when it was
// due to when it ended.
func openLoop(name string, rate int, ids []string, do func(id string) error) result {
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, len(ids))
	var errs atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for i, id := range ids {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := do(id); err != nil {
				errs.Add(1)
				firstErr.Do(func() { log.Printf("%s: first error: %v", name, err) })
			}
			lat[i] = time.Since(due)
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return result{name: name, requests: len(ids), errors: int(errs.Load()), elapsed: time.Since(start), lat: lat}
}

type bridge struct {
	cmd     *exec.Cmd
	base    string
	logPath string
	client  *http.Client
	done    chan error
}

func startBridge(bin, dir string, env map[string]string, name string, rate int, nobody []string) (*bridge, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LISTEN_ADDR=" + addr}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	b := &bridge{
		cmd: cmd, base: "http://" + addr, logPath: logPath, done: make(chan error, 1),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}},
	}
	go func() { b.done <- cmd.Wait(); logFile.Close() }()
	for i := 0; i < 300; i++ {
		select {
		case err := <-b.done:
			return nil, fmt.Errorf("the bridge exited at start (%v); see %s", err, logPath)
		default:
		}
		if resp, err := b.client.Get(b.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// One second of lookups for unknown ID numbers: the process
				// and its connection pool warm up, the cache stays empty.
				openLoop("process warm-up", rate, nobody, func(id string) error { _ = b.lookup(id); return nil })
				return b, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.stop()
	return nil, fmt.Errorf("the bridge did not answer /healthz within 30 s; see %s", logPath)
}

func (b *bridge) lookup(id string) error {
	resp, err := b.client.Get(b.base + "/get-recaudas?id_number=" + id)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	return nil
}

// erpQueries counts the scans of the index on customers.document: one per
// run of the lookup query (the planner never probes it, as it does the
// indexes it costs merge joins with). PostgreSQL publishes a backend's
// counts at the latest when it exits, so read it after the bridge has
// stopped.
func erpQueries(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, `SELECT idx_scan FROM pg_stat_user_indexes
		WHERE schemaname = 'erp_bench' AND indexrelname = 'customers_document_key'`).Scan(&n)
	return n, err
}

// erpQueriesSince waits for the stopped bridge's backends to exit and
// returns the queries run since before, less the process warm-up's.
func erpQueriesSince(ctx context.Context, db *sql.DB, before int64, warmUp int) (int64, error) {
	time.Sleep(time.Second)
	after, err := erpQueries(ctx, db)
	return after - before - int64(warmUp), err
}

func (b *bridge) stop() {
	_ = b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
	case <-time.After(20 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

func printTable(w io.Writer, rate int, d time.Duration, pool int, rs []result) {
	fmt.Fprintf(w, "\n%d requests/s for %s per run, %d customers in the steady-state pool\n\n", rate, d, pool)
	fmt.Fprintln(w, "| run | requests | errors | achieved req/s | p50 | p90 | p99 | max | ERP queries |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %s | %s | %s | %s | %d |\n", r.name, r.requests, r.errors,
			float64(r.requests)/r.elapsed.Seconds(), ms(r.pct(0.50)), ms(r.pct(0.90)), ms(r.pct(0.99)), ms(r.pct(1)), r.erpQueries)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
