package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"recauda-bridge/efipay"
)

// buildBinary compiles the server once per test that needs a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "recauda-bridge")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type child struct {
	cmd  *exec.Cmd
	addr string
	log  *bytes.Buffer
}

func startChild(t *testing.T, bin string, env []string) *child {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Env = append(append(os.Environ(), env...), "LISTEN_ADDR="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, addr: addr, log: &log}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	for i := 0; i < 200; i++ {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return c
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("server never came up:\n%s", log.String())
	return nil
}

func approvedWebhook(txID int, ref, amount string) []byte {
	return []byte(fmt.Sprintf(`{"transaction":{"transaction_id":%d,"amount":%s,"currency_type":"COP","status":"Aprobada",`+
		`"payment_method":"PSE","production":true,"approved_at":"2026-11-22T15:41:54Z"},`+
		`"checkout":{"payment_gateway":{"advanced_option":{"references":["%s"]}}}}`, txID, amount, ref))
}

// TestCrashNeverLosesAnAcknowledgedWebhook kills the server with SIGKILL
// while webhooks stream in. After a restart every webhook that got 2xx is
// stored and applied exactly once, and the rest apply when Efipay retries.
func TestCrashNeverLosesAnAcknowledgedWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real server process")
	}
	dir := t.TempDir()
	const customers, perCustomer = 10, 12
	var csv strings.Builder
	csv.WriteString("ref_payment,id_number,payer_name,description,amount,currency_type,limit_date\n")
	var refs []string
	for c := 0; c < customers; c++ {
		for k := 0; k < perCustomer; k++ {
			ref := fmt.Sprintf("CR-%02d-%02d", c, k)
			refs = append(refs, ref)
			fmt.Fprintf(&csv, "%s,%d,Cliente Número %d,Cuota de prueba %d,%d,COP,2099-12-31\n", ref, 70000000+c, c, k, 10000+k)
		}
	}
	charges := filepath.Join(dir, "charges.csv")
	if err := os.WriteFile(charges, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	token := "crash-test-token"
	dbPath := filepath.Join(dir, "bridge.db")
	env := []string{"DATABASE_URL=" + dbPath, "ERP_SOURCE=file", "ERP_FILE=" + charges, "EFIPAY_WEBHOOK_TOKEN=" + token, "LOG_LEVEL=warn",
		"LOOKUP_PUBLIC=true"} // loopback only
	bin := buildBinary(t)
	srv := startChild(t, bin, env)
	for c := 0; c < customers; c++ {
		resp, err := http.Get(fmt.Sprintf("http://%s/get-recaudas?id_number=%d", srv.addr, 70000000+c))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("lookup %d: %v %v", c, err, resp)
		}
		resp.Body.Close()
	}

	bodies := make([][]byte, len(refs))
	for i, ref := range refs {
		bodies[i] = approvedWebhook(1000+i, ref, fmt.Sprint(10000+i%perCustomer))
	}
	post := func(addr string, body []byte) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/efipay", bytes.NewReader(body))
		req.Header.Set("Signature", efipay.Sign(body, []byte(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	var mu sync.Mutex
	acked := map[int]bool{}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if code, err := post(srv.addr, bodies[i]); err == nil && code == http.StatusOK {
					mu.Lock()
					acked[i] = true
					mu.Unlock()
				}
			}
		}()
	}
	go func() {
		time.Sleep(150 * time.Millisecond)
		_ = srv.cmd.Process.Signal(syscall.SIGKILL)
	}()
	for i := range bodies {
		next <- i
	}
	close(next)
	wg.Wait()
	_, _ = srv.cmd.Process.Wait()
	if len(acked) == 0 || len(acked) == len(bodies) {
		t.Logf("acknowledged %d of %d before the kill (the kill landed at an edge)", len(acked), len(bodies))
	}

	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applied := func(txID int) (events, timeline int) {
		db.QueryRow(`SELECT COUNT(*) FROM webhook_events WHERE transaction_id = ? AND outcome = 'applied'`, fmt.Sprint(txID)).Scan(&events)
		db.QueryRow(`SELECT COUNT(*) FROM charge_events WHERE kind = 'webhook' AND detail LIKE ?`, "%transaction "+fmt.Sprint(txID)+" %").Scan(&timeline)
		return
	}
	for i := range bodies {
		if !acked[i] {
			continue
		}
		if ev, tl := applied(1000 + i); ev != 1 || tl != 1 {
			t.Errorf("acknowledged webhook %d: %d applied events, %d timeline entries after the crash; want 1 and 1", 1000+i, ev, tl)
		}
	}

	// Efipay retries what was not acknowledged (and, harmlessly, some that were).
	srv = startChild(t, bin, env)
	for i := range bodies {
		code, err := post(srv.addr, bodies[i])
		if err != nil || code != http.StatusOK {
			t.Fatalf("retry of %d: %d %v", i, code, err)
		}
	}
	for i := range bodies {
		if ev, tl := applied(1000 + i); ev != 1 || tl != 1 {
			t.Errorf("webhook %d: %d applied events, %d timeline entries after retries; want exactly 1", 1000+i, ev, tl)
		}
	}
	var paid, jobs int
	db.QueryRow(`SELECT COUNT(*) FROM charges WHERE status = 'paid'`).Scan(&paid)
	db.QueryRow(`SELECT COUNT(*) FROM writebacks`).Scan(&jobs)
	if paid != len(refs) || jobs != len(refs) {
		t.Errorf("paid charges %d, write-back jobs %d; want %d of each", paid, jobs, len(refs))
	}
	var check string
	db.QueryRow(`PRAGMA integrity_check`).Scan(&check)
	if check != "ok" {
		t.Errorf("integrity_check = %q, want ok", check)
	}
	t.Logf("%d of %d webhooks acknowledged before SIGKILL; all applied exactly once after restart", len(acked), len(bodies))
}
