package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/models"
	"recauda-bridge/store"
)

func envOf(m map[string]string) config.Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "run.db")
	base := map[string]string{"DATABASE_URL": db}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"no command", nil, base, 2, nil, []string{"missing command", "Usage:"}},
		{"unknown command", []string{"frobnicate"}, base, 2, nil, []string{`unknown command "frobnicate"`}},
		{"version", []string{"version"}, base, 0, []string{"recauda-bridge"}, nil},
		{"help", []string{"help"}, base, 0, []string{"preview ID_NUMBER"}, nil},
		{"serve with arguments", []string{"serve", "now"}, base, 2, nil, []string{"serve takes no arguments"}},
		{"validate without file", []string{"validate"}, base, 2, nil, []string{"exactly one FILE"}},
		{"validate valid file", []string{"validate", "testdata/validate-valid.json"}, base, 0, []string{"1 items, 1 valid, 0 invalid"}, nil},
		{"validate invalid file", []string{"validate", "testdata/validate-invalid.json"}, base, 1, []string{
			"item 1\tref_payment=MORA-502-2026-02\trecauda_information.amount\tdecimal_places",
			"item 1\tref_payment=MORA-502-2026-02\tadvanced_options.has_comments\trequired",
			"item 1\tref_payment=MORA-502-2026-02\tadvanced_options.limit_date\tdate",
			"item 2\tref_payment=?\t(item)\tunreadable",
			"3 items, 1 valid, 2 invalid",
		}, nil},
		{"validate repeated refs and an empty item", []string{"validate", "testdata/validate-duplicates.json"}, base, 1, []string{
			"item 0\tref_payment=ADM-502-2026-12\trecauda_information.ref_payment\tduplicate_ref_payment\tref_payment appears 2 times in the file: item 0, item 1",
			"item 1\tref_payment=ADM-502-2026-12\trecauda_information.ref_payment\tduplicate_ref_payment",
			"item 2\tref_payment=\trecauda_information.ref_payment\trequired",
			"3 items, 0 valid, 3 invalid",
		}, nil},
		{"validate missing file", []string{"validate", "testdata/nope.json"}, base, 1, nil, nil},
		{"migrate with an unknown flag", []string{"migrate", "--now"}, base, 2, nil, []string{"migrate takes only --dry-run"}},
		{"migrate --dry-run", []string{"migrate", "--dry-run"}, base, 0, []string{"would apply migration 1: charges, timeline and held-back records\n"}, nil},
		{"migrate", []string{"migrate"}, base, 0, []string{"applying migration 1: charges, timeline and held-back records\n",
			fmt.Sprintf("database is at version %d", store.LatestVersion())}, nil},
		{"migrate --dry-run when up to date", []string{"migrate", "--dry-run"}, base, 0, []string{"up to date"}, nil},
		{"migrate again", []string{"migrate"}, base, 0, []string{"up to date"}, nil},
		{"preview demo customer", []string{"preview", "79845123"}, base, 0, []string{"SEND", "HELD BACK", "DEMO-MORA-502-2026-02", "decimal_places", "1 would be sent, 1 held back"}, nil},
		{"preview bad id", []string{"preview", "12ab"}, base, 2, nil, nil},
		{"backup without DEST", []string{"backup"}, base, 2, nil, []string{"backup takes exactly one DEST"}},
		{"backup", []string{"backup", filepath.Join(dir, "copy.db")}, base, 0, []string{
			"backup written to " + filepath.Join(dir, "copy.db"), "integrity_check ok", "schema_migrations"}, nil},
		{"backup onto an existing file", []string{"backup", filepath.Join(dir, "copy.db")}, base, 1, nil, nil},
		{"backup of a database that is not there", []string{"backup", filepath.Join(dir, "other.db")},
			map[string]string{"DATABASE_URL": filepath.Join(dir, "nope.db")}, 1, nil, nil},
		{"healthcheck with no server", []string{"healthcheck"}, map[string]string{"DATABASE_URL": db, "LISTEN_ADDR": freeAddr(t)}, 1, nil, nil},
		{"invalid configuration", []string{"migrate"}, map[string]string{"DATABASE_URL": db, "ERP_TIMEOUT": "soon"}, 1, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, envOf(tc.env), &stdout, &stderr)
			if got := exitCode(err); got != tc.wantCode {
				t.Fatalf("exit code = %d (err %v), want %d\nstdout: %s\nstderr: %s", got, err, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

func TestRunInvalidConfigNamesTheVariable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{"ERP_SOURCE": "sap"}), &stdout, &stderr)
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "ERP_SOURCE") {
		t.Fatalf("err = %v, want exit 1 naming ERP_SOURCE", err)
	}
}

func TestPreviewClaimsNothing(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "p.db")})
	if err := run(context.Background(), []string{"migrate"}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"preview", "1032456789"}, env, &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout.String(), "2 would be sent") {
			t.Fatalf("preview %d: %s, want 2 would be sent every time", i, stdout.String())
		}
	}
}

// TestPreviewDoesNotMigrate: preview only reads, so a database this binary
// has not migrated (new, or left at an older version) is refused, as it
// was found.
func TestPreviewDoesNotMigrate(t *testing.T) {
	ctx := context.Background()
	version := func(t *testing.T, db string) int {
		t.Helper()
		st, err := store.Open(ctx, models.DialectSQLite, db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		v, err := st.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	older := filepath.Join(t.TempDir(), "older.db")
	if err := run(ctx, []string{"migrate"}, envOf(map[string]string{"DATABASE_URL": older}), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Forget the last migration: the database reads as one version older.
	raw, err := sql.Open("sqlite3", older)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = ?`, store.LatestVersion()); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	tests := []struct {
		name string
		db   string
		want int // schema version before and after
	}{
		{"new database", filepath.Join(t.TempDir(), "new.db"), 0},
		{"older database", older, store.LatestVersion() - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(ctx, []string{"preview", "1032456789"}, envOf(map[string]string{"DATABASE_URL": tc.db}), &stdout, &stderr)
			if exitCode(err) != 1 || !strings.Contains(err.Error(), "migrate") {
				t.Fatalf("got exit %d (err %v), want 1 saying to migrate", exitCode(err), err)
			}
			if got := version(t, tc.db); got != tc.want {
				t.Errorf("got schema version %d after preview, want %d", got, tc.want)
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeAnswersAndStopsCleanly(t *testing.T) {
	addr := freeAddr(t)
	env := envOf(map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "s.db"), "LISTEN_ADDR": addr})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stdout, stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, env, &stdout, &stderr) }()

	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ {
		resp, err = http.Get("http://" + addr + "/get-recaudas?id_number=1032456789")
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server never answered: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lookup status = %d, want 200", resp.StatusCode)
	}
	var hc bytes.Buffer
	if err := run(context.Background(), []string{"healthcheck"}, env, &hc, io.Discard); err != nil || !strings.Contains(hc.String(), "/readyz: ready") {
		t.Fatalf("healthcheck of the running server: %v (%q), want exit 0 and ready", err, hc.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after the signal")
	}
	if strings.Contains(stderr.String(), "1032456789") {
		t.Fatal("the log contains a full ID number")
	}
}

// serveUntilUp runs serve with env until /healthz answers, then stops it
// and returns what it logged.
func serveUntilUp(t *testing.T, env map[string]string) string {
	t.Helper()
	addr := freeAddr(t)
	env["LISTEN_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var stdout, stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), &stdout, &stderr) }()
	up := false
	for i := 0; i < 200 && !up; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve stopped at start: %v\n%s", err, stderr.String())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			up = true
		} else {
			time.Sleep(25 * time.Millisecond)
		}
	}
	if !up {
		t.Fatal("serve never answered /healthz")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v after shutdown, want nil", err)
	}
	return stderr.String()
}

// TestServeRefusesAnOpenLookup: with a real source, serve starts only when
// the lookup is protected (a token or an allowlist) or declared public; the
// demo source starts either way.
func TestServeRefusesAnOpenLookup(t *testing.T) {
	fileSource := func(t *testing.T, extra map[string]string) map[string]string {
		dir := t.TempDir()
		env := map[string]string{"DATABASE_URL": filepath.Join(dir, "s.db"), "ERP_SOURCE": "file",
			"ERP_FILE": "testdata/erp/charges.csv", "ERP_JOURNAL": filepath.Join(dir, "journal.jsonl")}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	const openWarning = "the lookup is open to anyone"
	t.Run("file source, nothing set: refused before anything is opened", func(t *testing.T) {
		env := fileSource(t, nil)
		// Without the refusal it would serve, until this deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var stdout, stderr bytes.Buffer
		err := run(ctx, []string{"serve"}, envOf(env), &stdout, &stderr)
		if got := exitCode(err); got != 1 {
			t.Fatalf("exit code = %d (err %v), want 1", got, err)
		}
		for _, want := range []string{"LOOKUP_TOKEN", "LOOKUP_ALLOW_CIDRS", "LOOKUP_PUBLIC=true", "README.md#securing-the-lookup", "ERP_SOURCE=file"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if _, statErr := os.Stat(env["DATABASE_URL"]); !errors.Is(statErr, os.ErrNotExist) {
			t.Errorf("the database was created (%v), want nothing opened", statErr)
		}
	})
	t.Run("local source, LOOKUP_PUBLIC=false: refused", func(t *testing.T) {
		env := map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "s.db"), "ERP_SOURCE": "local", "LOOKUP_PUBLIC": "false"}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var stdout, stderr bytes.Buffer
		err := run(ctx, []string{"serve"}, envOf(env), &stdout, &stderr)
		if got := exitCode(err); got != 1 || !errors.Is(err, config.ErrLookupOpen) {
			t.Fatalf("exit code = %d (err %v), want 1 with ErrLookupOpen", got, err)
		}
	})
	tests := []struct {
		name        string
		env         map[string]string
		wantWarning bool
	}{
		{"LOOKUP_TOKEN", map[string]string{"LOOKUP_TOKEN": "a-long-lookup-token-0123"}, false},
		{"LOOKUP_ALLOW_CIDRS", map[string]string{"LOOKUP_ALLOW_CIDRS": "203.0.113.0/24"}, false},
		{"LOOKUP_PUBLIC=true", map[string]string{"LOOKUP_PUBLIC": "true"}, true},
	}
	for _, tc := range tests {
		t.Run("file source with "+tc.name+": starts", func(t *testing.T) {
			log := serveUntilUp(t, fileSource(t, tc.env))
			if got := strings.Count(log, openWarning); got != map[bool]int{true: 1, false: 0}[tc.wantWarning] {
				t.Fatalf("got %d open-lookup warnings, want %v:\n%s", got, tc.wantWarning, log)
			}
		})
	}
	t.Run("demo source, nothing set: starts, warns once", func(t *testing.T) {
		log := serveUntilUp(t, map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "s.db")})
		if got := strings.Count(log, openWarning); got != 1 {
			t.Fatalf("got %d open-lookup warnings, want 1:\n%s", got, log)
		}
	})
}

// TestRotateSessionSecret: the subcommand replaces the secret kept in the
// database, which is what serve signs dashboard sessions with.
func TestRotateSessionSecret(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "rotate.db")
	env := envOf(map[string]string{"DATABASE_URL": db})
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"rotate-session-secret"}, env, &stdout, &stderr); exitCode(err) != 1 || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("before migrating: err = %v, want exit 1 saying to migrate", err)
	}
	if err := run(ctx, []string{"migrate"}, env, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	secret := func() []byte {
		t.Helper()
		st, err := store.Open(ctx, models.DialectSQLite, db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		b, err := st.SessionSecret(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := secret()
	stdout.Reset()
	if err := run(ctx, []string{"rotate-session-secret"}, env, &stdout, &stderr); err != nil {
		t.Fatalf("rotate-session-secret: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "signed out") {
		t.Errorf("stdout = %q, want it to say everyone is signed out", stdout.String())
	}
	if after := secret(); bytes.Equal(after, before) {
		t.Fatal("the secret did not change")
	}
	if err := run(ctx, []string{"rotate-session-secret", "now"}, env, &stdout, &stderr); exitCode(err) != 2 {
		t.Fatalf("with an argument: exit %d, want 2", exitCode(err))
	}
}

// TestServeRefusesNewerSchema: a database a newer binary migrated stops
// serve, preview and migrate with the versions named, and is left as it was.
func TestServeRefusesNewerSchema(t *testing.T) {
	db := filepath.Join(t.TempDir(), "newer.db")
	env := envOf(map[string]string{"DATABASE_URL": db, "LISTEN_ADDR": freeAddr(t)})
	ctx := context.Background()
	if err := run(ctx, []string{"migrate"}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	next := store.LatestVersion() + 1
	sqlDB, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from a newer binary', '2027-01-01T00:00:00Z')`, next); err != nil {
		t.Fatal(err)
	}
	sqlDB.Close()
	want := fmt.Sprintf("schema version %d, newer than the %d this binary knows", next, store.LatestVersion())
	for _, args := range [][]string{{"serve"}, {"migrate"}, {"migrate", "--dry-run"}, {"preview", "79845123"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(ctx, args, env, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "run `recauda-bridge migrate`") {
				t.Fatalf("got %v, want a refusal saying %q and not suggesting migrate", err, want)
			}
		})
	}
}
