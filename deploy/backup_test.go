package deploy

import (
	"bytes"
	"context"
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
	"recauda-bridge/internal/faulttest"
)

// TestBackupAndRestore runs `recauda-bridge backup` against a serving
// bridge while signed webhooks stream in, then restores the copy the way
// README.md says and serves from it:
//   - every webhook acknowledged before the backup started is in the copy,
//     applied, and the copy passes integrity_check and the fault tests'
//     consistency checks;
//   - the restored server answers lookups, never sends again a charge sent
//     before the backup, and offers the charges nobody had seen.
func TestBackupAndRestore(t *testing.T) {
	bin := staticBinary(t)
	dir := t.TempDir()
	const customers, perCustomer, unseen = 20, 20, 3
	var csv strings.Builder
	csv.WriteString("ref_payment,id_number,payer_name,description,amount,currency_type,limit_date\n")
	var refs []string
	for c := 0; c < customers+unseen; c++ {
		for k := 0; k < perCustomer; k++ {
			ref := fmt.Sprintf("BK-%02d-%02d", c, k)
			if c < customers {
				refs = append(refs, ref)
			}
			fmt.Fprintf(&csv, "%s,%d,Cliente %d,Cuota %d,%d,COP,2099-12-31\n", ref, 71000000+c, c, k, 10000+k)
		}
	}
	charges := filepath.Join(dir, "charges.csv")
	if err := os.WriteFile(charges, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "backup-test-token"
	live := filepath.Join(dir, "live", "recauda.db")
	if err := os.MkdirAll(filepath.Dir(live), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"ERP_SOURCE=file", "ERP_FILE=" + charges, "EFIPAY_WEBHOOK_TOKEN=" + token,
		"LOOKUP_PUBLIC=true", "RESEND_AFTER=720h", "LOG_LEVEL=warn"} // loopback only
	srv := startBridge(t, bin, append(env, "DATABASE_URL="+live)...)

	client := &http.Client{Timeout: 10 * time.Second}
	lookup := func(addr string, c int) []string {
		t.Helper()
		resp, err := client.Get(fmt.Sprintf("http://%s/get-recaudas?id_number=%d", addr, 71000000+c))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Payments []struct {
				Info struct {
					Ref string `json:"ref_payment"`
				} `json:"recauda_information"`
			} `json:"payments"`
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("lookup of customer %d: status %d", c, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range body.Payments {
			got = append(got, p.Info.Ref)
		}
		return got
	}
	for c := 0; c < customers; c++ {
		if got := lookup(srv.addr, c); len(got) != perCustomer {
			t.Fatalf("first lookup of customer %d offered %v, want %d charges", c, got, perCustomer)
		}
	}

	// A stream of signed webhooks, one per ref, from 8 clients at once.
	var (
		mu    sync.Mutex
		acked = map[string]time.Time{}
	)
	ctx, stopStream := context.WithCancel(context.Background())
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body := approvedWebhook(50000+i, refs[i], fmt.Sprint(10000+i%perCustomer))
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+srv.addr+"/webhooks/efipay", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(efipay.SignatureHeader, efipay.Sign(body, []byte(token)))
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					acked[refs[i]] = time.Now()
					mu.Unlock()
				}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range refs {
			select {
			case next <- i:
				time.Sleep(5 * time.Millisecond) // a steady stream of about 2 s, which outlasts the backup
			case <-ctx.Done():
				return
			}
		}
	}()
	for waited := time.Duration(0); ; waited += 10 * time.Millisecond {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 10 {
			break
		}
		if waited > 30*time.Second {
			t.Fatalf("only %d webhooks acknowledged in 30s:\n%s", n, srv.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	mu.Lock()
	started := time.Now()
	var before []string
	for ref := range acked {
		before = append(before, ref)
	}
	mu.Unlock()
	backupPath := filepath.Join(dir, "backups", "recauda-"+started.UTC().Format("20060102T150405")+".db")
	if err := os.MkdirAll(filepath.Dir(backupPath), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "backup", backupPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DATABASE_URL="+live)
	out, err := cmd.CombinedOutput()
	took := time.Since(started)
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	stopStream()
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s\nserver log:\n%s", err, out, srv.log.String())
	}
	t.Logf("backup of %d webhooks took %s while %d more were acknowledged:\n%s", len(before), took.Round(time.Millisecond), during, out)
	if len(before) == 0 || during == 0 {
		t.Fatalf("%d webhooks acknowledged before the backup and %d during it; the test needs both", len(before), during)
	}
	for _, want := range []string{"integrity_check ok", "webhook_events", "charges"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("backup output lacks %q:\n%s", want, out)
		}
	}

	copyDB, err := faulttest.OpenReadOnly(backupPath)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := faulttest.CheckDB(context.Background(), copyDB)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("the copy has problems:\n%s", strings.Join(problems, "\n"))
	}
	missing := 0
	for _, ref := range before {
		var n int
		err := copyDB.QueryRow(`SELECT COUNT(*) FROM webhook_events w JOIN charges c ON c.id = w.charge_id
			WHERE c.ref_payment = ? AND w.outcome = 'applied' AND c.status = 'paid'`, ref).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			missing++
		}
	}
	copyDB.Close()
	if missing > 0 {
		t.Fatalf("got %d of the %d webhooks acknowledged before the backup missing from the copy, want 0", missing, len(before))
	}

	// Restore as README.md says: stop, move the old files aside (the
	// database and its -wal and -shm), put the copy in place, start.
	srv.stop(t)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(live+suffix, live+suffix+".broken"); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", backupPath, live).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	restored := startBridge(t, bin, append(env, "DATABASE_URL="+live)...)
	for c := 0; c < customers; c++ {
		if got := lookup(restored.addr, c); len(got) != 0 {
			t.Fatalf("after the restore, customer %d was offered %v again, want nothing (all were sent before the backup)", c, got)
		}
	}
	for c := customers; c < customers+unseen; c++ {
		if got := lookup(restored.addr, c); len(got) != perCustomer {
			t.Fatalf("after the restore, customer %d (never looked up) was offered %v, want %d charges", c, got, perCustomer)
		}
	}
	restored.stop(t)
}
