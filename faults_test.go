package main

// Faults, in process: the ERP slow, hanging, garbled or down and back
// (erptest fakes behind the real erp/guard), and the database locked,
// read-only or full (the real store on a real SQLite file). The same faults
// through the real binary, SIGTERM and the SIGKILL soak are in
// faults_process_test.go.

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/mattn/go-sqlite3"
	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/erp/guard"
	"recauda-bridge/handlers"
	"recauda-bridge/internal/faulttest"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

var faultToken = []byte("faults-webhook-token")

// faultStack is the bridge in process: Echo, the use cases, the real store on
// a SQLite file opened through faultDriver.
type faultStack struct {
	dbPath string
	e      *echo.Echo
	store  *store.Store
	log    *syncBuffer // the server's log: each 5xx's cause (syncBuffer: replica_test.go)
}

// newFaultStack serves src, which is guarded (erp/guard) as the bridge
// always guards its source.
func newFaultStack(t *testing.T, src *guard.Source) *faultStack {
	t.Helper()
	registerFaultDriver()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "bridge.db")
	st, err := store.Open(ctx, models.DialectSQLite, dbPath, store.Options{BusyTimeout: faultBusyTimeout, SQLiteDriver: faultDriver})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(buf, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", buf.String())
		}
	})
	svc := recauda.New(src, st, validation.New(time.Now), recauda.Config{}, time.Now, log)
	return &faultStack{dbPath: dbPath, store: st, log: buf, e: server.New(server.Config{Recauda: svc, Logger: log, WebhookToken: faultToken})}
}

func (s *faultStack) do(req *http.Request) (*httptest.ResponseRecorder, time.Duration) {
	rec := httptest.NewRecorder()
	start := time.Now()
	s.e.ServeHTTP(rec, req)
	return rec, time.Since(start)
}

func (s *faultStack) lookup(id string) (*httptest.ResponseRecorder, time.Duration) {
	return s.do(httptest.NewRequest(http.MethodGet, "/get-recaudas?id_number="+id, nil))
}

func (s *faultStack) webhook(body []byte) (*httptest.ResponseRecorder, time.Duration) {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/efipay", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(efipay.SignatureHeader, efipay.Sign(body, faultToken))
	return s.do(req)
}

func payments(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	var body struct {
		Payments []struct {
			Info struct {
				Ref string `json:"ref_payment"`
			} `json:"recauda_information"`
		} `json:"payments"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not a payments answer: %v", rec.Body.String(), err)
	}
	refs := make([]string, len(body.Payments))
	for i, p := range body.Payments {
		refs[i] = p.Info.Ref
	}
	return refs
}

// want503 checks a refusal: status 503, Retry-After, the one error shape
// with code, and an answer within limit.
func want503(t *testing.T, rec *httptest.ResponseRecorder, took, limit time.Duration, code string) {
	t.Helper()
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d (%s), want 503", rec.Code, truncateBody(rec.Body))
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	e, err := faulttest.DecodeError(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if e.Error.Code != code {
		t.Errorf("error code = %q, want %q", e.Error.Code, code)
	}
	if took > limit {
		t.Errorf("answered in %s, want at most %s", took.Round(time.Millisecond), limit)
	}
}

func faultCharge(ref, id string, descriptionLen int) erp.Charge {
	desc := "Cuota " + ref + " " + strings.Repeat("x", max(0, descriptionLen-len(ref)-7))
	return erp.Charge{
		RefPayment: ref, IDNumber: id, PayerName: "Cliente de Prueba", Description: desc,
		Amount: decimal.RequireFromString("150000.50"), Currency: "COP", LimitDate: "2099-12-31",
	}
}

// TestFaultsERP makes the ERP slow, hung (ignoring its context), garbled and
// down, one after the other, behind the same circuit breaker the server
// uses. Every refusal is a 503 erp_unavailable with Retry-After within
// ERP_TIMEOUT plus a margin; after each fault the next lookup works again,
// and after an outage long enough to open the breaker the lookup recovers by
// itself once the half-open probe succeeds.
func TestFaultsERP(t *testing.T) {
	const (
		erpTimeout  = 300 * time.Millisecond
		margin      = time.Second // a loaded 2-core machine
		openTimeout = 400 * time.Millisecond
	)
	const (
		modeOK int32 = iota
		modeSlow
		modeHang
		modeGarbage
		modeDown
	)
	var mode atomic.Int32
	release := make(chan struct{}) // the hung ERP answers at last
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	charges := map[string][]erp.Charge{"70000001": {faultCharge("ERP-1", "70000001", 30), faultCharge("ERP-2", "70000001", 30)}}
	fake := &erptest.Source{PendingChargesFunc: func(ctx context.Context, id string) ([]erp.Charge, error) {
		switch mode.Load() {
		case modeSlow:
			select {
			case <-time.After(10 * erpTimeout):
			case <-ctx.Done():
				return nil, fmt.Errorf("erp: %w: %w", erp.ErrUnavailable, ctx.Err())
			}
		case modeHang:
			<-release // ignores ctx: only the lookup's own deadline saves it
		case modeGarbage:
			var v []any
			return nil, fmt.Errorf("erp: decoding the answer: %w", json.Unmarshal([]byte("<html>502 Bad Gateway</html>"), &v))
		case modeDown:
			return nil, fmt.Errorf("erp: dial tcp 10.0.0.9:443: connect: connection refused: %w", erp.ErrUnavailable)
		}
		return erptest.Static(charges)(ctx, id)
	}}
	src := guard.New(fake, guard.Options{Name: "fake", CallTimeout: erpTimeout, Breaker: guard.BreakerOptions{FailureThreshold: 2, OpenTimeout: openTimeout}})
	s := newFaultStack(t, src)

	// ok: the ERP is well again and lookups work again. In process, the
	// next lookup comes within microseconds of the failed one and may still
	// join the guard's coalesced call that is finishing with the failure,
	// so it is given a moment.
	ok := func(t *testing.T) {
		t.Helper()
		mode.Store(modeOK)
		recoverWithin(t, s, "70000001", erpTimeout+margin)
	}
	ok(t)
	for _, tc := range []struct {
		name string
		mode int32
	}{
		{"slow past ERP_TIMEOUT", modeSlow},
		{"garbage", modeGarbage},
		{"down once", modeDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mode.Store(tc.mode)
			rec, took := s.lookup("70000001")
			want503(t, rec, took, erpTimeout+margin, "erp_unavailable")
			ok(t)
		})
	}

	t.Run("hanging and ignoring its context", func(t *testing.T) {
		mode.Store(modeHang)
		for i := 0; i < 3; i++ { // later lookups join the hung call; each still leaves on time
			rec, took := s.lookup("70000001")
			want503(t, rec, took, erpTimeout+margin, "erp_unavailable")
		}
		mode.Store(modeOK)
		releaseOnce.Do(func() { close(release) })
		recoverWithin(t, s, "70000001", 2*time.Second)
	})

	t.Run("down, circuit opens, back, recovers by itself", func(t *testing.T) {
		mode.Store(modeDown)
		for i := 0; i < 2; i++ {
			rec, took := s.lookup("70000001")
			want503(t, rec, took, erpTimeout+margin, "erp_unavailable")
		}
		calls := fake.Calls()
		rec, took := s.lookup("70000001")
		want503(t, rec, took, 200*time.Millisecond+margin, "erp_unavailable")
		if fake.Calls() != calls {
			t.Errorf("the ERP was asked while the circuit was open")
		}
		mode.Store(modeOK) // the ERP is back; nobody restarts anything
		recoverWithin(t, s, "70000001", openTimeout+2*time.Second)
	})
}

// recoverWithin asks until a lookup answers 200, failing after limit.
func recoverWithin(t *testing.T, s *faultStack, id string, limit time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		rec, _ := s.lookup(id)
		if rec.Code == http.StatusOK {
			t.Logf("recovered %s after the ERP came back", time.Since(start).Round(time.Millisecond))
			return
		}
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("while recovering: status %d (%s), want 503 or 200", rec.Code, rec.Body)
		}
		if time.Since(start) > limit {
			t.Fatalf("still %d %s %s after the ERP came back", rec.Code, rec.Body, time.Since(start))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The database faults act on the store's writer connections while it runs
// (the group committer's and the one for migrations): faultDriver is
// mattn/go-sqlite3 registered again with a ConnectHook that keeps each
// writer connection, so that a test can make them read-only
// (PRAGMA query_only: every write fails with SQLITE_READONLY, as on a
// read-only file or file system) or full (PRAGMA max_page_count at the
// current size: a write needing a new page fails with SQLITE_FULL, as on a
// full disk), and undo it. Root ignores file permissions and a test cannot
// mount a small file system, so these are SQLite's own errors for those
// conditions, raised where the real ones would be. Locking needs no hook:
// another connection holds BEGIN EXCLUSIVE longer than the busy timeout.
const (
	faultDriver      = "sqlite3_faults"
	faultBusyTimeout = 250 * time.Millisecond
)

var (
	faultDriverOnce sync.Once
	faultConnsMu    sync.Mutex
	faultConns      = map[string][]*sqlite3.SQLiteConn{} // database file → its writer connections
)

func registerFaultDriver() {
	faultDriverOnce.Do(func() {
		sql.Register(faultDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			rows, err := c.Query("PRAGMA query_only", nil)
			if err != nil {
				return err
			}
			v := make([]driver.Value, 1)
			err = rows.Next(v)
			rows.Close()
			if err != nil {
				return err
			}
			if q, _ := v[0].(int64); q == 0 { // the store's readers are query_only
				faultConnsMu.Lock()
				name := c.GetFilename("main")
				faultConns[name] = append(faultConns[name], c)
				faultConnsMu.Unlock()
			}
			return nil
		}})
	})
}

// onWriter runs a statement on every writer connection of the store. Only
// between requests: the connections are idle then.
func onWriter(t *testing.T, dbPath, stmt string) {
	t.Helper()
	faultConnsMu.Lock()
	conns := faultConns[dbPath]
	faultConnsMu.Unlock()
	if len(conns) == 0 {
		t.Fatalf("no writer connection captured for %s", dbPath)
	}
	for _, c := range conns {
		if _, err := c.Exec(stmt, nil); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// lockDatabase holds an exclusive write lock from another connection, as a
// second process or a backup tool would, until the returned func runs.
func lockDatabase(t *testing.T, dbPath string) func() {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Error(err)
		}
		conn.Close()
		db.Close()
	}
}

// paddedWebhook is an approved payment whose body is larger than the free
// space left in the file's pages (Efipay's own are a few KiB; the raw body
// is stored), so that storing it needs a new page.
func paddedWebhook(tx int, ref, amount string) []byte {
	return []byte(fmt.Sprintf(`{"transaction":{"transaction_id":%d,"amount":%s,"currency_type":"COP","status":"Aprobada",`+
		`"payment_method":"PSE","production":true,"approved_at":"2026-11-22T15:41:54Z"},`+
		`"checkout":{"payment_gateway":{"advanced_option":{"references":["%s"]}}},"padding":"%s"}`, tx, amount, ref, strings.Repeat("p", 32<<10)))
}

// TestFaultsDatabase makes the tracking database locked, read-only and full
// under a running stack. While it is: a lookup that must claim answers 503
// store_unavailable with Retry-After (a lookup with nothing to claim still
// answers), a webhook is not acknowledged (503, so Efipay retries), and not
// one row is written. Once the fault is gone, without a restart, the same
// lookup gets every charge (nothing was claimed half-way), Efipay's retry of
// the webhook applies it once, and the file passes integrity_check and every
// consistency rule.
func TestFaultsDatabase(t *testing.T) {
	tests := []struct {
		name string
		// cause is SQLite's message for the condition, which the server logs
		// with each 503: the refusal came from the fault, not by chance.
		cause string
		apply func(t *testing.T, dbPath string) (remove func())
	}{
		{"locked by another connection", "database is locked", func(t *testing.T, dbPath string) func() {
			return lockDatabase(t, dbPath)
		}},
		{"read-only", "attempt to write a readonly database", func(t *testing.T, dbPath string) func() {
			onWriter(t, dbPath, "PRAGMA query_only = 1")
			return func() { onWriter(t, dbPath, "PRAGMA query_only = 0") }
		}},
		{"full", "database or disk is full", func(t *testing.T, dbPath string) func() {
			onWriter(t, dbPath, "PRAGMA max_page_count = 1") // clamps to the current size
			return func() { onWriter(t, dbPath, "PRAGMA max_page_count = 1073741823") }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const limit = faultBusyTimeout + time.Second
			charges := map[string][]erp.Charge{"70000001": {faultCharge("DB-A-1", "70000001", 40), faultCharge("DB-A-2", "70000001", 40)}}
			for i := 1; i <= 40; i++ { // about 30 KiB of claims: more than a page's free space
				charges["70000002"] = append(charges["70000002"], faultCharge(fmt.Sprintf("DB-B-%d", i), "70000002", 180))
			}
			s := newFaultStack(t, guard.New(&erptest.Source{PendingChargesFunc: erptest.Static(charges)}, guard.Options{CallTimeout: 2 * time.Second}))
			if rec, _ := s.lookup("70000001"); rec.Code != http.StatusOK || len(payments(t, rec)) != 2 {
				t.Fatalf("setup lookup: %d %s, want 2 payments", rec.Code, rec.Body)
			}
			if rec, _ := s.webhook(paddedWebhook(9001, "DB-A-1", "150000.50")); rec.Code != http.StatusOK {
				t.Fatalf("setup webhook: %d %s", rec.Code, rec.Body)
			}
			ro, err := faulttest.OpenReadOnly(s.dbPath)
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			ctx := context.Background()
			before, err := faulttest.TableCounts(ctx, ro)
			if err != nil {
				t.Fatal(err)
			}

			remove := tc.apply(t, s.dbPath)
			rec, took := s.lookup("70000002")
			want503(t, rec, took, limit, "store_unavailable")
			rec, took = s.webhook(paddedWebhook(9002, "DB-A-2", "150000.50"))
			want503(t, rec, took, limit, "store_unavailable")
			if rec, _ := s.lookup("70000001"); rec.Code != http.StatusOK || len(payments(t, rec)) != 0 {
				t.Errorf("a lookup with nothing to claim: %d %s, want 200 and no payments", rec.Code, rec.Body)
			}
			during, err := faulttest.TableCounts(ctx, ro)
			if err != nil {
				t.Fatal(err)
			}
			remove()
			if n := strings.Count(s.log.String(), tc.cause); n < 2 {
				t.Errorf("the log names %q %d times, want it for the lookup and the webhook", tc.cause, n)
			}
			if during != before {
				t.Errorf("rows during the fault = %+v, want %+v as before it: a refused request wrote something", during, before)
			}

			rec, _ = s.lookup("70000002")
			if rec.Code != http.StatusOK || len(payments(t, rec)) != 40 {
				t.Fatalf("after the fault: %d %s, want all 40 payments (none claimed during the fault)", rec.Code, truncateBody(rec.Body))
			}
			rec, _ = s.webhook(paddedWebhook(9002, "DB-A-2", "150000.50")) // Efipay's retry
			var ans handlers.WebhookAnswer
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &ans) != nil || ans.Outcome != "applied" {
				t.Fatalf("webhook retried after the fault: %d %s, want 200 applied", rec.Code, rec.Body)
			}
			problems, err := faulttest.CheckDB(ctx, ro)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Error(p)
			}
			after, err := faulttest.TableCounts(ctx, ro)
			if err != nil {
				t.Fatal(err)
			}
			if after.WebhookEvents != before.WebhookEvents+1 || after.Writebacks != before.Writebacks+1 || after.Charges != before.Charges+40 {
				t.Errorf("rows after the retry = %+v, from %+v: want 1 webhook, 1 write-back, 40 charges more", after, before)
			}
		})
	}
}

// truncateBody is the start of an answer, for failure messages.
func truncateBody(b *bytes.Buffer) string { return fmt.Sprintf("%.300s", b.String()) }
