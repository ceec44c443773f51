package main

// Faults through the real binary: an ERP over HTTP that is slow, hangs,
// answers garbage or is down and comes back; SIGTERM with a lookup and a
// write-back in flight; and the SIGKILL soak (3 rounds here, 20 in
// scripts/sigkill-soak.sh). They reuse crash_test.go's buildBinary and
// startChild.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"recauda-bridge/efipay"
	"recauda-bridge/internal/faulttest"
)

// startHTTPERPChild starts the server on ERP_SOURCE=http against erp.
func startHTTPERPChild(t *testing.T, bin string, e *faulttest.ERP, env ...string) (*child, string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "erp.yaml")
	if err := os.WriteFile(cfgPath, []byte(e.HTTPConfig(10*time.Second)), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "bridge.db")
	base := []string{"DATABASE_URL=" + dbPath, "ERP_SOURCE=http", "ERP_CONFIG=" + cfgPath, "LOG_LEVEL=info",
		"EFIPAY_WEBHOOK_TOKEN=" + string(faultToken), "ERP_CACHE_TTL=0", "LOOKUP_PUBLIC=true"} // loopback only
	return startChild(t, bin, append(base, env...)), dbPath
}

type answer struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

func getLookup(t *testing.T, addr, id string) answer {
	t.Helper()
	start := time.Now()
	resp, err := http.Get("http://" + addr + "/get-recaudas?id_number=" + id)
	if err != nil {
		t.Fatalf("lookup %s: %v", id, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("lookup %s: reading the answer: %v", id, err)
	}
	return answer{resp.StatusCode, resp.Header, body, time.Since(start)}
}

func (a answer) refs(t *testing.T) []string {
	t.Helper()
	var body struct {
		Payments []struct {
			Info struct {
				Ref string `json:"ref_payment"`
			} `json:"recauda_information"`
		} `json:"payments"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("body %q is not a payments answer: %v", a.body, err)
	}
	var refs []string
	for _, p := range body.Payments {
		refs = append(refs, p.Info.Ref)
	}
	return refs
}

func (a answer) want503(t *testing.T, limit time.Duration, code string) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("status = %d (%.300s), want 503", a.status, a.body)
	}
	if a.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	e, err := faulttest.DecodeError(a.body)
	if err != nil {
		t.Fatal(err)
	}
	if e.Error.Code != code {
		t.Errorf("error code = %q, want %q", e.Error.Code, code)
	}
	if a.took > limit {
		t.Errorf("answered in %s, want at most %s", a.took.Round(time.Millisecond), limit)
	}
}

func postSigned(addr string, body []byte) (int, []byte, error) {
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/efipay", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(efipay.SignatureHeader, efipay.Sign(body, faultToken))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// TestFaultsERPOverHTTP runs the server on ERP_SOURCE=http against a fake ERP
// that is slow, hangs, answers garbage, fails, and is down long enough to
// open the circuit breaker before coming back. Every failed lookup is a 503
// erp_unavailable with Retry-After within ERP_TIMEOUT + 1s; the next lookup
// after each fault works; after the outage the server recovers by itself,
// the same process, once the breaker's half-open probe succeeds.
func TestFaultsERPOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real server process")
	}
	const (
		erpTimeout  = time.Second
		margin      = time.Second // a loaded 2-core machine
		breakerOpen = time.Second
	)
	const id = "70000001"
	e, err := faulttest.NewERP(map[string][]faulttest.Record{id: faulttest.Records("HTTP", id, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv, _ := startHTTPERPChild(t, buildBinary(t), e, "ERP_TIMEOUT="+erpTimeout.String(),
		"ERP_BREAKER_FAILURES=2", "ERP_BREAKER_OPEN="+breakerOpen.String())
	pid := srv.cmd.Process.Pid

	ok := func(t *testing.T) {
		t.Helper()
		e.SetMode(faulttest.ModeOK, 0)
		if a := getLookup(t, srv.addr, id); a.status != http.StatusOK || a.took > erpTimeout+margin {
			t.Fatalf("with the ERP well: %d in %s (%s), want 200", a.status, a.took, a.body)
		}
	}
	if a := getLookup(t, srv.addr, id); a.status != http.StatusOK || len(a.refs(t)) != 2 {
		t.Fatalf("first lookup: %d %s, want 2 payments", a.status, a.body)
	}
	for _, tc := range []struct {
		name  string
		mode  faulttest.Mode
		delay time.Duration
	}{
		{"slow: answers after 3×ERP_TIMEOUT", faulttest.ModeSlow, 3 * erpTimeout},
		{"hangs: never answers", faulttest.ModeHang, 0},
		{"garbage: 200 with HTML", faulttest.ModeGarbage, 0},
		{"fails: 500", faulttest.ModeError, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.SetMode(tc.mode, tc.delay)
			getLookup(t, srv.addr, id).want503(t, erpTimeout+margin, "erp_unavailable")
			ok(t)
		})
	}

	t.Run("down, circuit opens, back, recovers without a restart", func(t *testing.T) {
		e.Down()
		for i := 0; i < 2; i++ { // connection refused, twice: the breaker opens
			getLookup(t, srv.addr, id).want503(t, erpTimeout+margin, "erp_unavailable")
		}
		getLookup(t, srv.addr, id).want503(t, 200*time.Millisecond+margin, "erp_unavailable") // open: not even asked
		if err := e.Up(); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		for {
			a := getLookup(t, srv.addr, id)
			if a.status == http.StatusOK {
				t.Logf("recovered %s after the ERP came back (breaker open for %s)", time.Since(back).Round(time.Millisecond), breakerOpen)
				break
			}
			a.want503(t, erpTimeout+margin, "erp_unavailable")
			if time.Since(back) > breakerOpen+5*time.Second {
				t.Fatalf("still 503 %s after the ERP came back", time.Since(back))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if srv.cmd.Process.Pid != pid || srv.cmd.ProcessState != nil {
			t.Fatal("the server was restarted")
		}
	})
	// The log is read once the process is gone (its pipe is copied into the
	// buffer while it runs).
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if !strings.Contains(srv.log.String(), "erp circuit breaker changed state") {
		t.Errorf("the log does not record the breaker opening:\n%s", srv.log.String())
	}
}

// TestFaultsSIGTERM stops the server with SIGTERM while a slow lookup (1s)
// and a slow write-back (3s) are in flight and a second write-back waits in
// the queue. New connections are refused at once; the lookup completes with
// 200 and its charges; the worker finishes the job it holds (the ERP records
// it once, the queue says done) and stops before the next one (never sent,
// still pending, not leased); the process exits 0 within SHUTDOWN_TIMEOUT,
// logging "stopped cleanly"; the database was closed cleanly (WAL
// checkpointed and removed) and passes every check.
func TestFaultsSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real server process")
	}
	const shutdownTimeout = 10 * time.Second
	e, err := faulttest.NewERP(map[string][]faulttest.Record{
		"70000001": faulttest.Records("TERM-A", "70000001", 2),
		"70000002": faulttest.Records("TERM-B", "70000002", 2),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv, dbPath := startHTTPERPChild(t, buildBinary(t), e, "ERP_TIMEOUT=10s", "SHUTDOWN_TIMEOUT="+shutdownTimeout.String())

	// Two payments whose write-backs the ERP takes 3s each to record.
	if a := getLookup(t, srv.addr, "70000001"); a.status != http.StatusOK || len(a.refs(t)) != 2 {
		t.Fatalf("lookup A: %d %s", a.status, a.body)
	}
	e.SetWritebackDelay(3 * time.Second)
	for i, tx := range []int{7001, 7002} {
		if code, body, err := postSigned(srv.addr, approvedWebhook(tx, fmt.Sprintf("TERM-A-%d", i+1), fmt.Sprintf("%d.00", 10000+i))); err != nil || code != http.StatusOK {
			t.Fatalf("webhook %d: %d %s %v", tx, code, body, err)
		}
	}
	var inFlight string
	select {
	case inFlight = <-e.WritebackStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("no write-back reached the ERP")
	}
	// A lookup the ERP takes 1s to answer.
	e.SetMode(faulttest.ModeSlow, time.Second)
	for len(e.LookupStarted) > 0 { // lookup A's signal
		<-e.LookupStarted
	}
	lookup := make(chan answer, 1)
	go func() {
		start := time.Now()
		resp, err := http.Get("http://" + srv.addr + "/get-recaudas?id_number=70000002")
		if err != nil {
			lookup <- answer{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		lookup <- answer{resp.StatusCode, resp.Header, body, time.Since(start)}
	}()
	select {
	case <-e.LookupStarted:
	case <-time.After(5 * time.Second):
		t.Fatal("the lookup never reached the ERP")
	}

	exited := make(chan error, 1)
	go func() { exited <- srv.cmd.Wait() }()
	termAt := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	refused := false
	for time.Since(termAt) < 1500*time.Millisecond {
		c, err := net.DialTimeout("tcp", srv.addr, 200*time.Millisecond)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	if !refused {
		t.Error("new connections still accepted 1.5s after SIGTERM")
	}
	select {
	case a := <-lookup:
		if a.status != http.StatusOK {
			t.Fatalf("in-flight lookup: %d %s, want 200", a.status, a.body)
		}
		if refs := a.refs(t); len(refs) != 2 {
			t.Fatalf("in-flight lookup got %v, want TERM-B-1 and TERM-B-2", refs)
		}
	case <-time.After(shutdownTimeout):
		t.Fatal("the in-flight lookup never completed")
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v, want status 0\n%s", err, srv.log.String())
		}
		if took := time.Since(termAt); took > shutdownTimeout {
			t.Errorf("exited %s after SIGTERM, want within SHUTDOWN_TIMEOUT %s", took, shutdownTimeout)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatalf("still running %s after SIGTERM\n%s", shutdownTimeout+5*time.Second, srv.log.String())
	}
	log := srv.log.String()
	if !strings.Contains(log, "stopped cleanly") {
		t.Errorf("the log lacks \"stopped cleanly\":\n%s", log)
	}

	if got := e.Writebacks(); len(got) != 1 || got[inFlight] != 1 {
		t.Errorf("the ERP recorded %v, want transaction %s (in flight at SIGTERM) once and nothing else", got, inFlight)
	}
	if fi, err := os.Stat(dbPath + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("%s-wal is %d bytes after a clean stop, want it checkpointed away", dbPath, fi.Size())
	}
	db, err := faulttest.OpenReadOnly(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT transaction_id, state, attempts, leased_until IS NOT NULL FROM writebacks`)
	if err != nil {
		t.Fatal(err)
	}
	jobs := 0
	for rows.Next() {
		var tx, state string
		var attempts int
		var leased bool
		if err := rows.Scan(&tx, &state, &attempts, &leased); err != nil {
			t.Fatal(err)
		}
		jobs++
		switch {
		case tx == inFlight && state != "done":
			t.Errorf("write-back %s was in flight at SIGTERM: %s after the shutdown, want done", tx, state)
		case tx != inFlight && (state != "pending" || attempts != 0 || leased):
			t.Errorf("write-back %s was queued at SIGTERM: %s, %d attempts, leased %v; want pending, untouched", tx, state, attempts, leased)
		}
	}
	rows.Close()
	if jobs != 2 {
		t.Errorf("%d write-back jobs, want 2", jobs)
	}
	problems, err := faulttest.CheckDB(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestFaultsSIGKILLSoak is scripts/sigkill-soak.sh, shorter: 3 rounds of
// mixed load (lookups with concurrent duplicates, webhooks, write-backs)
// ended by SIGKILL, with every invariant checked after each restart and once
// more after the write-backs drain. It takes about a minute: a write-back the
// killed server had leased is delivered again only when its lease (1 min)
// runs out.
func TestFaultsSIGKILLSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, kills and restarts a real server process for about a minute")
	}
	var out lockedWriter
	out.t = t
	report, err := faulttest.Soak(context.Background(), faulttest.SoakConfig{
		Binary: buildBinary(t), Dir: t.TempDir(), Rounds: 3,
		MinRun: 500 * time.Millisecond, MaxRun: 1500 * time.Millisecond, CustomersPerRound: 150,
		DrainTimeout: 2 * time.Minute, Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range report.Violations {
		t.Error(v)
	}
	if report.RefsDelivered == 0 || report.WebhooksAcked == 0 || report.Journal == 0 {
		t.Errorf("the load did nothing: %s", report.Summary())
	}
}

// lockedWriter logs each line it receives through t.
type lockedWriter struct {
	mu sync.Mutex
	t  *testing.T
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
