package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"recauda-bridge/efipay"
	"recauda-bridge/models"
	"recauda-bridge/store/storetest"
)

// TestReplicasShareOnePostgres runs two bridge processes on one PostgreSQL
// schema, the way several replicas behind a load balancer do, and checks
// that no work is done twice across them: 400 concurrent lookups for the
// same 40 customers send each of their 200 refs exactly once overall; each
// approved webhook, delivered to both replicas at the same moment, is applied
// once (the other copy is a duplicate), enqueues one write-back job, and
// reaches the ERP's journal exactly once, whichever replica's worker took it.
func TestReplicasShareOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and runs two processes on PostgreSQL")
	}
	dsn := storetest.PostgresDSN(t)
	dir := t.TempDir()
	const customers, perCustomer, lookups = 40, 5, 400
	const token = "replica-test-token"

	// The ERP: one CSV both replicas read; each replica has its own payments
	// journal, because the file source allows one process per journal.
	var csv strings.Builder
	csv.WriteString("ref_payment,id_number,payer_name,description,amount,currency_type,limit_date\n")
	amounts := map[string]string{}
	var refs []string
	for c := 0; c < customers; c++ {
		for k := 0; k < perCustomer; k++ {
			ref := fmt.Sprintf("RP-%02d-%d", c, k)
			amount := fmt.Sprint(20000 + 100*c + k)
			refs, amounts[ref] = append(refs, ref), amount
			fmt.Fprintf(&csv, "%s,%d,Cliente Número %d,Cuota de prueba %d,%s,COP,2099-12-31\n", ref, 80000000+c, c, k, amount)
		}
	}
	charges := filepath.Join(dir, "charges.csv")
	if err := os.WriteFile(charges, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"DATABASE_URL=" + dsn, "ERP_SOURCE=file", "ERP_FILE=" + charges, "EFIPAY_WEBHOOK_TOKEN=" + token,
		"LOG_LEVEL=warn", "DB_MAX_OPEN_CONNS=10", "LOOKUP_PUBLIC=true"} // loopback only
	journals := []string{filepath.Join(dir, "journal-a.jsonl"), filepath.Join(dir, "journal-b.jsonl")}

	// Both start at once, so both migrate the empty schema at once: the
	// advisory lock lets one do it and the other find it done.
	bin := buildBinary(t)
	replicas := []*child{
		spawnChild(t, bin, append(env, "ERP_JOURNAL="+journals[0])),
		spawnChild(t, bin, append(env, "ERP_JOURNAL="+journals[1])),
	}
	for _, r := range replicas {
		waitHealthy(t, r)
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: lookups}}

	// 400 lookups at once, customer i%40 on replica i%2: ten lookups per
	// customer, five on each replica.
	sent := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	began := time.Now()
	for i := 0; i < lookups; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := replicas[i%2]
			resp, err := client.Get(fmt.Sprintf("http://%s/get-recaudas?id_number=%d", r.addr, 80000000+i%customers))
			if err != nil {
				t.Errorf("lookup %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			var body models.PaymentsResponse
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("lookup %d: status %d, decode error %v; want 200 and payments", i, resp.StatusCode, err)
				return
			}
			mu.Lock()
			for _, p := range body.Payments {
				sent[p.RecaudaInformation.RefPayment]++
			}
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	lookupTime := time.Since(began)
	for _, ref := range refs {
		if sent[ref] != 1 {
			t.Errorf("ref %s was sent %d times over both replicas, want exactly 1", ref, sent[ref])
		}
	}
	if len(sent) != len(refs) {
		t.Errorf("%d distinct refs sent, want %d", len(sent), len(refs))
	}
	if t.Failed() {
		t.FailNow()
	}

	// Every approved webhook to both replicas at the same moment.
	post := func(addr string, body []byte) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/efipay", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Signature", efipay.Sign(body, []byte(token)))
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	txOf := func(i int) int { return 900000 + i }
	start = make(chan struct{})
	began = time.Now()
	for i, ref := range refs {
		body := approvedWebhook(txOf(i), ref, amounts[ref])
		for _, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if code, err := post(r.addr, body); err != nil || code != http.StatusOK {
					t.Errorf("webhook %d to %s: status %d, %v; want 200", txOf(i), r.addr, code, err)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	webhookTime := time.Since(began)
	if t.Failed() {
		t.FailNow()
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	for i, ref := range refs {
		tx := fmt.Sprint(txOf(i))
		var status string
		if err := db.QueryRowContext(ctx, `SELECT status FROM charges WHERE ref_payment = $1`, ref).Scan(&status); err != nil || status != models.StatusPaid {
			t.Errorf("%s: status %q (%v), want paid", ref, status, err)
		}
		applied := count(`SELECT COUNT(*) FROM webhook_events WHERE transaction_id = $1 AND outcome = 'applied'`, tx)
		dups := count(`SELECT COUNT(*) FROM webhook_events WHERE transaction_id = $1 AND outcome = 'duplicate'`, tx)
		timeline := count(`SELECT COUNT(*) FROM charge_events e JOIN charges c ON c.id = e.charge_id WHERE c.ref_payment = $1 AND e.kind = 'webhook'`, ref)
		jobs := count(`SELECT COUNT(*) FROM writebacks WHERE transaction_id = $1`, tx)
		if applied != 1 || dups != 1 || timeline != 1 || jobs != 1 {
			t.Errorf("transaction %s (%s): %d applied, %d duplicate, %d timeline entries, %d write-back jobs; want 1, 1, 1, 1",
				tx, ref, applied, dups, timeline, jobs)
		}
	}

	// The workers of both replicas share the queue: wait (bounded) until
	// every job is done, then every payment must be in the journals once.
	deadline := time.Now().Add(60 * time.Second)
	for count(`SELECT COUNT(*) FROM writebacks WHERE state <> 'done'`) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d write-back jobs still not done after 60s", count(`SELECT COUNT(*) FROM writebacks WHERE state <> 'done'`))
		}
		time.Sleep(100 * time.Millisecond)
	}
	writebackTime := time.Since(began)
	written := map[string]int{}
	perReplica := make([]int, len(journals))
	for i, path := range journals {
		for _, tx := range journalTransactions(t, path) {
			written[tx]++
			perReplica[i]++
		}
	}
	for i := range refs {
		if n := written[fmt.Sprint(txOf(i))]; n != 1 {
			t.Errorf("transaction %d written back %d times over both journals, want exactly 1", txOf(i), n)
		}
	}
	if len(written) != len(refs) {
		t.Errorf("%d distinct transactions in the journals, want %d", len(written), len(refs))
	}
	if n := count(`SELECT COUNT(*) FROM writebacks WHERE attempts <> 1`); n != 0 {
		t.Errorf("%d write-back jobs took more than one attempt, want 0", n)
	}
	t.Logf("%d lookups over 2 replicas in %s: %d refs sent once each; %d webhooks (each to both) acknowledged in %s; "+
		"all written back %s after the first webhook (replica a %d, replica b %d)",
		lookups, lookupTime.Round(time.Millisecond), len(sent), 2*len(refs), webhookTime.Round(time.Millisecond),
		writebackTime.Round(time.Millisecond), perReplica[0], perReplica[1])
}

// spawnChild starts `serve` on a free loopback port without waiting for it;
// it is killed when the test ends.
func spawnChild(t *testing.T, bin string, env []string) *child {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(append(os.Environ(), env...), "LISTEN_ADDR="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		if t.Failed() {
			t.Logf("log of the server on %s:\n%s", addr, log.String())
		}
	})
	return &child{cmd: cmd, addr: addr}
}

// waitHealthy waits up to 20s for c to answer /healthz.
func waitHealthy(t *testing.T, c *child) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if resp, err := http.Get("http://" + c.addr + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
	}
	t.Fatalf("server on %s never came up", c.addr)
}

// journalTransactions returns the transaction id of every line of the file
// source's payments journal at path (none if it does not exist).
func journalTransactions(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var line struct {
			TransactionID string `json:"transaction_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%s: unreadable line %q: %v", path, sc.Text(), err)
		}
		out = append(out, line.TransactionID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe to write from the process's output
// copier while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
