package faulttest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"recauda-bridge/efipay"
)

// SoakConfig configures Soak. Zero fields take the defaults in their
// comments.
type SoakConfig struct {
	// Binary is the recauda-bridge executable to run. Required.
	Binary string
	// Dir holds the database, the charges file, the write-back journal and
	// the server's log (server.log). Required; it should start empty.
	Dir string
	// Rounds is how many times the server is killed (default 20).
	Rounds int
	// MinRun and MaxRun bound the mixed load before each kill, drawn
	// uniformly (default 0.5s and 3s).
	MinRun, MaxRun time.Duration
	// CustomersPerRound new customers are added to the ERP file before each
	// round (default 300), each with ChargesPerCustomer charges (default 3).
	// Lookups take fresh customers at about 100 a second, so that claims,
	// webhooks and write-backs are all in flight when the kill lands; those
	// not asked for in their round are asked for in later ones.
	CustomersPerRound, ChargesPerCustomer int
	// Seed makes the run repeatable as far as timing allows; 0 takes one
	// from the clock (printed).
	Seed uint64
	// DrainTimeout bounds the wait for the last write-backs (default 120s):
	// a job leased by a killed server is delivered again only when its lease
	// (1 min at the worker's defaults) runs out.
	DrainTimeout time.Duration
	// Out receives a line per round and the verdict; nil discards.
	Out io.Writer
}

func (c SoakConfig) withDefaults() SoakConfig {
	if c.Rounds <= 0 {
		c.Rounds = 20
	}
	if c.MinRun <= 0 {
		c.MinRun = 500 * time.Millisecond
	}
	if c.MaxRun < c.MinRun {
		c.MaxRun = max(c.MinRun, 3*time.Second)
	}
	if c.CustomersPerRound <= 0 {
		c.CustomersPerRound = 300
	}
	if c.ChargesPerCustomer <= 0 {
		c.ChargesPerCustomer = 3
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 120 * time.Second
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// SoakReport is what a soak did and found.
type SoakReport struct {
	Seed   uint64
	Rounds int // kills
	// Lookups counts GET /get-recaudas requests; LookupsOK those answered
	// 200 and read whole; LookupsFailed those cut by a kill or answered 503.
	Lookups, LookupsOK, LookupsFailed int
	// RefsDelivered is how many refs reached a caller (each must be one
	// caller's only).
	RefsDelivered int
	// ClaimedUndelivered is how many refs the database shows as sent that no
	// caller received: the server died between the claim's commit and the
	// answer. With RESEND_AFTER=0 they wait for an operator's release; not a
	// violation.
	ClaimedUndelivered int
	// Webhooks counts POSTs (retries and deliberate duplicates included);
	// WebhooksAcked the distinct transactions acknowledged with 200.
	Webhooks, WebhooksAcked int
	// Duplicates is how many acknowledged webhooks were sent again and
	// answered as duplicates.
	Duplicates int
	// Journal is how many payments the ERP's write-back journal holds at the
	// end; PaidCharges how many charges the database shows paid.
	Journal, PaidCharges int
	// Violations lists every broken invariant; empty means the run passed.
	Violations []string
	Elapsed    time.Duration
}

// Summary is the report's one-line verdict.
func (r SoakReport) Summary() string {
	verdict := "PASS"
	if len(r.Violations) > 0 {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%s: %d SIGKILL rounds in %s (seed %d): %d lookups (%d answered 200, %d cut or refused), "+
		"%d refs delivered, %d claimed but undelivered, %d webhook posts, %d acknowledged, %d duplicates, "+
		"%d paid charges, %d write-backs journalled, violations=%d",
		verdict, r.Rounds, r.Elapsed.Round(time.Second), r.Seed, r.Lookups, r.LookupsOK, r.LookupsFailed,
		r.RefsDelivered, r.ClaimedUndelivered, r.Webhooks, r.WebhooksAcked, r.Duplicates,
		r.PaidCharges, r.Journal, len(r.Violations))
}

const soakToken = "sigkill-soak-webhook-token"

// maxPrinted bounds the violations printed; the report has them all.
const maxPrinted = 40

// delivery is a ref a caller received.
type delivery struct {
	idNumber string
	amount   string
	round    int
	tx       int // the Efipay transaction that pays it
}

// soak is the client's record of everything the server promised.
type soak struct {
	cfg    SoakConfig
	dbPath string
	csv    string
	jnl    string
	logf   *os.File
	rng    *rand.Rand

	customers []string // ID numbers, in order of creation
	nextTx    int

	cursorMu sync.Mutex
	cursor   int // customers[:cursor] were asked for at least once

	mu        sync.Mutex
	delivered map[string]*delivery // ref → who got it
	pending   []string             // refs whose payment webhook is not acknowledged yet
	acked     map[int]string       // transaction → ref, acknowledged
	ackedRefs []string             // refs whose webhook was acknowledged (duplicates are drawn from them)
	report    SoakReport
	vseen     map[string]bool
}

// Soak starts the server, runs mixed load (lookups of many customers with
// concurrent duplicates, signed approved webhooks, write-backs draining to
// the file source's journal), SIGKILLs it after a random while, restarts it
// and checks every invariant, cfg.Rounds times; then it lets the last
// write-backs drain, stops the server with SIGTERM and checks once more.
//
// Invariants, from the client's records and the database:
//   - every ref a caller received is recorded as sent to that caller's ID
//     number, and no ref reached two callers (RESEND_AFTER=0: any repeat is
//     a bug; a released ref was never received);
//   - every acknowledged webhook is stored and applied exactly once, its
//     charge is paid and has exactly one write-back job;
//   - no transaction is in the write-back journal twice, every job done is
//     in it, and at the end every paid charge is in it exactly once;
//   - PRAGMA integrity_check is ok and no transaction is half-written
//     (CheckDB).
//
// The error is for a run that could not be carried out (the server would not
// start); broken invariants are in the report.
func Soak(ctx context.Context, cfg SoakConfig) (SoakReport, error) {
	cfg = cfg.withDefaults()
	if cfg.Binary == "" || cfg.Dir == "" {
		return SoakReport{}, errors.New("soak: Binary and Dir are required")
	}
	start := time.Now()
	s := &soak{
		cfg: cfg, dbPath: filepath.Join(cfg.Dir, "bridge.db"), csv: filepath.Join(cfg.Dir, "charges.csv"),
		jnl: filepath.Join(cfg.Dir, "payments.jsonl"), rng: rand.New(rand.NewPCG(cfg.Seed, 0x50a4)),
		nextTx: 5_000_000, delivered: map[string]*delivery{}, acked: map[int]string{}, vseen: map[string]bool{},
	}
	s.report.Seed = cfg.Seed
	logf, err := os.OpenFile(filepath.Join(cfg.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return SoakReport{}, err
	}
	defer logf.Close()
	s.logf = logf
	fmt.Fprintf(cfg.Out, "sigkill soak: %d rounds, load %s..%s, %d new customers × %d charges per round, seed %d, dir %s\n",
		cfg.Rounds, cfg.MinRun, cfg.MaxRun, cfg.CustomersPerRound, cfg.ChargesPerCustomer, cfg.Seed, cfg.Dir)

	for round := 1; round <= cfg.Rounds; round++ {
		if err := ctx.Err(); err != nil {
			return s.report, err
		}
		if err := s.addCustomers(round); err != nil {
			return s.report, err
		}
		srv, err := s.start(ctx, round)
		if err != nil {
			return s.report, err
		}
		before := len(s.report.Violations)
		if round > 1 {
			s.check(ctx, fmt.Sprintf("after restart %d", round-1), false)
		}
		run := cfg.MinRun + time.Duration(s.rng.Int64N(int64(cfg.MaxRun-cfg.MinRun)+1))
		st := s.load(ctx, srv, round, run)
		fmt.Fprintf(cfg.Out, "round %2d/%d: load %.2fs then SIGKILL; lookups %d (200: %d, cut: %d), refs delivered %d, webhooks acked %d; checks after restart: %s\n",
			round, cfg.Rounds, run.Seconds(), st.lookups, st.ok, st.failed, st.refs, st.acked, s.verdictSince(before, round > 1))
	}

	// The last restart: check, retry what Efipay would retry, drain, stop.
	srv, err := s.start(ctx, cfg.Rounds+1)
	if err != nil {
		return s.report, err
	}
	before := len(s.report.Violations)
	s.check(ctx, fmt.Sprintf("after restart %d", cfg.Rounds), false)
	s.finish(ctx, srv)
	s.check(ctx, "after the final drain and SIGTERM", true)
	fmt.Fprintf(cfg.Out, "final: webhooks retried until acknowledged, write-backs drained, SIGTERM; checks: %s\n", s.verdictSince(before, true))
	s.report.Rounds = cfg.Rounds
	s.report.Elapsed = time.Since(start)
	sort.Strings(s.report.Violations)
	fmt.Fprintln(cfg.Out, s.report.Summary())
	for i, v := range s.report.Violations {
		if i == maxPrinted {
			fmt.Fprintf(cfg.Out, "  … and %d more violations\n", len(s.report.Violations)-maxPrinted)
			break
		}
		fmt.Fprintln(cfg.Out, "  violation:", v)
	}
	return s.report, nil
}

func (s *soak) verdictSince(before int, checked bool) string {
	if !checked {
		return "(first start)"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.report.Violations) - before; n > 0 {
		return fmt.Sprintf("%d VIOLATIONS", n)
	}
	return "ok"
}

func (s *soak) violate(format string, args ...any) { s.violateAt("", format, args...) }

// violateAt records a broken invariant found at when (e.g. "after restart
// 3"). The same problem found again by a later check is recorded once, with
// the first check that saw it.
func (s *soak) violateAt(when, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vseen[msg] {
		return
	}
	s.vseen[msg] = true
	if when != "" {
		msg = when + ": " + msg
	}
	s.report.Violations = append(s.report.Violations, msg)
}

// addCustomers appends this round's customers to the ERP's charges file
// (the server is down; it reads the file when it starts).
func (s *soak) addCustomers(round int) error {
	var b strings.Builder
	if _, err := os.Stat(s.csv); errors.Is(err, os.ErrNotExist) {
		b.WriteString("ref_payment,id_number,payer_name,description,amount,currency_type,limit_date\n")
	}
	for c := 0; c < s.cfg.CustomersPerRound; c++ {
		id := fmt.Sprint(90_000_000 + len(s.customers))
		s.customers = append(s.customers, id)
		for k := 1; k <= s.cfg.ChargesPerCustomer; k++ {
			fmt.Fprintf(&b, "SK-%s-%d,%s,Cliente Número %s,Cuota %d de la ronda %d,%d,COP,2099-12-31\n",
				id, k, id, id, k, round, 10000+k*100)
		}
	}
	old, err := os.ReadFile(s.csv)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp := s.csv + ".tmp"
	if err := os.WriteFile(tmp, append(old, b.String()...), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.csv)
}

type server struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

func (s *soak) start(ctx context.Context, n int) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	fmt.Fprintf(s.logf, "=== start %d (%s) ===\n", n, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.cfg.Binary, "serve")
	cmd.Dir = s.cfg.Dir // no stray .env
	cmd.Stdout, cmd.Stderr = s.logf, s.logf
	cmd.Env = append(os.Environ(),
		"LISTEN_ADDR="+addr, "DATABASE_URL="+s.dbPath, "ERP_SOURCE=file", "ERP_FILE="+s.csv, "ERP_JOURNAL="+s.jnl,
		"EFIPAY_WEBHOOK_TOKEN="+soakToken, "RESEND_AFTER=0", "ERP_TIMEOUT=5s", "LOG_LEVEL=warn", "SHUTDOWN_TIMEOUT=15s",
		"PUBLIC_URL=", "ADMIN_TOKEN=", "ERP_CACHE_TTL=0", "LOOKUP_PUBLIC=true") // loopback only
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &server{cmd: cmd, addr: addr, done: make(chan error, 1)}
	go func() { srv.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-srv.done:
			return nil, fmt.Errorf("soak: server start %d exited: %v (see %s)", n, err, s.logf.Name())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-srv.done
			return nil, ctx.Err()
		default:
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return srv, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-srv.done
	return nil, fmt.Errorf("soak: server start %d never answered /healthz (see %s)", n, s.logf.Name())
}

type roundStats struct {
	lookups, ok, failed, refs, acked int
}

// load runs lookups and webhooks against srv for run, then SIGKILLs it in
// the middle of whatever is in flight.
func (s *soak) load(ctx context.Context, srv *server, round int, run time.Duration) roundStats {
	var st roundStats
	var stMu sync.Mutex
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	defer client.CloseIdleConnections()
	// issuing ends at the kill: no new requests; those in flight end with
	// the server, not with a cancelled context.
	issuing, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup

	for w := 0; w < 4; w++ {
		rng := rand.New(rand.NewPCG(s.cfg.Seed, uint64(round*100+w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for issuing.Err() == nil {
				id := s.pickCustomer(rng)
				// Concurrent duplicates: Efipay's portal retried, or two
				// tabs; at most one of them may get each ref.
				k := 1 + rng.IntN(3)
				var lw sync.WaitGroup
				for i := 0; i < k; i++ {
					lw.Add(1)
					go func() {
						defer lw.Done()
						refs, ok := s.lookup(ctx, client, srv.addr, id, round)
						stMu.Lock()
						st.lookups++
						if ok {
							st.ok++
							st.refs += refs
						} else {
							st.failed++
						}
						stMu.Unlock()
					}()
				}
				lw.Wait()
				time.Sleep(time.Duration(10+rng.IntN(21)) * time.Millisecond)
			}
		}()
	}
	for w := 0; w < 3; w++ {
		rng := rand.New(rand.NewPCG(s.cfg.Seed, uint64(round*100+50+w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for issuing.Err() == nil {
				if rng.IntN(10) == 0 && s.duplicate(ctx, client, srv.addr, rng) {
					continue
				}
				ref, ok := s.nextPending()
				if !ok {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if s.webhook(ctx, client, srv.addr, ref) {
					stMu.Lock()
					st.acked++
					stMu.Unlock()
				}
			}
		}()
	}

	select {
	case <-time.After(run):
	case <-ctx.Done():
	}
	_ = srv.cmd.Process.Signal(syscall.SIGKILL)
	stop()
	<-srv.done
	wg.Wait()
	return st
}

// pickCustomer is half the time the next customer never asked for (a claim
// to make), half the time any known one (mostly nothing left to offer, or a
// concurrent duplicate of a recent claim).
func (s *soak) pickCustomer(rng *rand.Rand) string {
	s.cursorMu.Lock()
	defer s.cursorMu.Unlock()
	if s.cursor < len(s.customers) && (s.cursor == 0 || rng.IntN(2) == 0) {
		s.cursor++
		return s.customers[s.cursor-1]
	}
	// Recent customers are more likely: concurrent duplicates of fresh claims.
	if s.cursor > 10 && rng.IntN(2) == 0 {
		return s.customers[s.cursor-1-rng.IntN(10)]
	}
	return s.customers[rng.IntN(max(s.cursor, 1))]
}

type lookupBody struct {
	Payments []struct {
		Info struct {
			Ref    string          `json:"ref_payment"`
			ID     string          `json:"id_number"`
			Amount json.RawMessage `json:"amount"`
		} `json:"recauda_information"`
	} `json:"payments"`
}

// lookup asks for id's charges; a 200 read whole is a promise: these refs
// are this caller's alone.
func (s *soak) lookup(ctx context.Context, client *http.Client, addr, id string, round int) (int, bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/get-recaudas?id_number="+id, nil)
	s.count(func(r *SoakReport) { r.Lookups++ })
	resp, err := client.Do(req)
	if err != nil {
		s.count(func(r *SoakReport) { r.LookupsFailed++ })
		return 0, false
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		s.count(func(r *SoakReport) { r.LookupsFailed++ })
		return 0, false
	case resp.StatusCode == http.StatusServiceUnavailable:
		if _, derr := DecodeError(body); derr != nil {
			s.violate("lookup answered 503 without the error shape: %v", derr)
		}
		s.count(func(r *SoakReport) { r.LookupsFailed++ })
		return 0, false
	case resp.StatusCode != http.StatusOK:
		s.violate("lookup answered %d: %s", resp.StatusCode, truncate(string(body), 200))
		s.count(func(r *SoakReport) { r.LookupsFailed++ })
		return 0, false
	}
	var lb lookupBody
	if err := json.Unmarshal(body, &lb); err != nil {
		s.violate("lookup answered 200 with a body that is not a payments answer: %v", err)
		return 0, false
	}
	var problems []string
	s.mu.Lock()
	s.report.LookupsOK++
	for _, p := range lb.Payments {
		ref := p.Info.Ref
		if p.Info.ID != id {
			problems = append(problems, fmt.Sprintf("lookup for %s got ref %s of ID number %s", id, ref, p.Info.ID))
		}
		if prev, ok := s.delivered[ref]; ok {
			problems = append(problems, fmt.Sprintf("ref %s reached two callers: %s in round %d and %s in round %d", ref, prev.idNumber, prev.round, id, round))
			continue
		}
		s.nextTx++
		s.delivered[ref] = &delivery{idNumber: id, amount: strings.Trim(string(p.Info.Amount), `"`), round: round, tx: s.nextTx}
		s.pending = append(s.pending, ref)
		s.report.RefsDelivered++
	}
	s.mu.Unlock()
	for _, p := range problems {
		s.violate("%s", p)
	}
	return len(lb.Payments), true
}

func (s *soak) count(f func(*SoakReport)) {
	s.mu.Lock()
	f(&s.report)
	s.mu.Unlock()
}

func (s *soak) nextPending() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return "", false
	}
	ref := s.pending[0]
	s.pending = s.pending[1:]
	return ref, true
}

// approvedWebhook is Efipay's webhook for a payment of the full amount.
func approvedWebhook(tx int, ref, amount string) []byte {
	return []byte(fmt.Sprintf(`{"transaction":{"transaction_id":%d,"amount":%s,"currency_type":"COP","status":"Aprobada",`+
		`"payment_method":"PSE","production":true,"approved_at":"2026-11-22T15:41:54Z"},`+
		`"checkout":{"payment_gateway":{"advanced_option":{"references":["%s"]}}}}`, tx, amount, ref))
}

func (s *soak) post(ctx context.Context, client *http.Client, addr string, body []byte) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/webhooks/efipay", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(efipay.SignatureHeader, efipay.Sign(body, []byte(soakToken)))
	s.count(func(r *SoakReport) { r.Webhooks++ })
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode != http.StatusServiceUnavailable {
			s.violate("webhook answered %d: %s", resp.StatusCode, truncate(string(raw), 200))
		} else if _, derr := DecodeError(raw); derr != nil {
			s.violate("webhook answered 503 without the error shape: %v", derr)
		}
		return resp.StatusCode, "", nil
	}
	var ans struct {
		Received bool   `json:"received"`
		Outcome  string `json:"outcome"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil || !ans.Received {
		s.violate("webhook answered 200 without {received:true}: %s", truncate(string(raw), 200))
	}
	return resp.StatusCode, ans.Outcome, nil
}

// webhook posts ref's payment; not acknowledged, it goes back in the queue,
// as Efipay retries.
func (s *soak) webhook(ctx context.Context, client *http.Client, addr, ref string) bool {
	s.mu.Lock()
	d := *s.delivered[ref]
	s.mu.Unlock()
	code, outcome, err := s.post(ctx, client, addr, approvedWebhook(d.tx, ref, d.amount))
	if err != nil || code != http.StatusOK {
		s.mu.Lock()
		s.pending = append(s.pending, ref)
		s.mu.Unlock()
		return false
	}
	s.mu.Lock()
	_, again := s.acked[d.tx]
	s.acked[d.tx] = ref
	if !again {
		s.ackedRefs = append(s.ackedRefs, ref)
		s.report.WebhooksAcked++
	}
	s.mu.Unlock()
	// The first acknowledgement applies it; one that follows a lost answer
	// finds it applied already (the kill took the answer, not the commit).
	if outcome != "applied" && outcome != "duplicate" {
		s.violate("webhook of transaction %d for %s: outcome %q, want applied", d.tx, ref, outcome)
	}
	return true
}

// duplicate sends an acknowledged webhook again, as Efipay may: it must be
// acknowledged and change nothing.
func (s *soak) duplicate(ctx context.Context, client *http.Client, addr string, rng *rand.Rand) bool {
	s.mu.Lock()
	if len(s.ackedRefs) == 0 {
		s.mu.Unlock()
		return false
	}
	ref := s.ackedRefs[rng.IntN(len(s.ackedRefs))]
	d := *s.delivered[ref]
	s.mu.Unlock()
	code, outcome, err := s.post(ctx, client, addr, approvedWebhook(d.tx, ref, d.amount))
	if err != nil || code != http.StatusOK {
		return true
	}
	if outcome != "duplicate" {
		s.violate("webhook of transaction %d for %s sent again: outcome %q, want duplicate", d.tx, ref, outcome)
	}
	s.count(func(r *SoakReport) { r.Duplicates++ })
	return true
}

// finish plays Efipay's retries until every delivered ref's payment is
// acknowledged, waits for the write-back queue to drain, and stops the
// server with SIGTERM.
func (s *soak) finish(ctx context.Context, srv *server) {
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ref, ok := s.nextPending()
		if !ok {
			break
		}
		if !s.webhook(ctx, client, srv.addr, ref) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	s.mu.Lock()
	left := len(s.pending)
	s.mu.Unlock()
	if left > 0 {
		s.violate("%d webhooks still refused after 60s of retries", left)
	}

	db, err := OpenReadOnly(s.dbPath)
	if err != nil {
		s.violate("open database: %v", err)
	} else {
		deadline := time.Now().Add(s.cfg.DrainTimeout)
		var open int
		for {
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM writebacks WHERE state <> 'done'`).Scan(&open); err != nil {
				s.violate("count write-backs: %v", err)
				break
			}
			if open == 0 || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if open > 0 {
			s.violate("%d write-backs not done %s after the last restart", open, s.cfg.DrainTimeout)
		}
		db.Close()
	}

	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-srv.done:
		if err != nil {
			s.violate("the server exited with %v after SIGTERM, want status 0", err)
		}
	case <-time.After(20 * time.Second):
		_ = srv.cmd.Process.Kill()
		<-srv.done
		s.violate("the server did not stop within 20s of SIGTERM")
	}
}

var txInDetail = regexp.MustCompile(`transaction (\S+) `)

// check compares the client's records with the database and the journal.
// final adds what must hold once everything drained.
func (s *soak) check(ctx context.Context, when string, final bool) {
	db, err := OpenReadOnly(s.dbPath)
	if err != nil {
		s.violateAt(when, "open database: %v", err)
		return
	}
	defer db.Close()
	problems, err := CheckDB(ctx, db)
	if err != nil {
		s.violateAt(when, "checks could not run: %v", err)
		return
	}
	for _, p := range problems {
		s.violateAt(when, "%s", p)
	}

	type charge struct {
		id, status, tx string
		sends          int
	}
	charges := map[string]charge{}
	rows, err := db.QueryContext(ctx, `SELECT ref_payment, id_number, status, transaction_id, send_count FROM charges`)
	if err != nil {
		s.violateAt(when, "read charges: %v", err)
		return
	}
	for rows.Next() {
		var ref string
		var c charge
		if err := rows.Scan(&ref, &c.id, &c.status, &c.tx, &c.sends); err != nil {
			rows.Close()
			s.violateAt(when, "read charges: %v", err)
			return
		}
		charges[ref] = c
	}
	rows.Close()
	applied, err := countBy(ctx, db, `SELECT transaction_id FROM webhook_events WHERE outcome = 'applied'`, nil)
	if err != nil {
		s.violateAt(when, "read webhook events: %v", err)
		return
	}
	timeline, err := countBy(ctx, db, `SELECT detail FROM charge_events WHERE kind = 'webhook'`, txInDetail)
	if err != nil {
		s.violateAt(when, "read timeline: %v", err)
		return
	}
	jobs, err := countBy(ctx, db, `SELECT transaction_id FROM writebacks`, nil)
	if err != nil {
		s.violateAt(when, "read write-backs: %v", err)
		return
	}
	done, err := countBy(ctx, db, `SELECT transaction_id FROM writebacks WHERE state = 'done'`, nil)
	if err != nil {
		s.violateAt(when, "read write-backs: %v", err)
		return
	}
	journal, err := s.readJournal()
	if err != nil {
		s.violateAt(when, "read journal: %v", err)
		return
	}

	s.mu.Lock()
	delivered := make(map[string]delivery, len(s.delivered))
	for ref, d := range s.delivered {
		delivered[ref] = *d
	}
	acked := make(map[int]string, len(s.acked))
	for tx, ref := range s.acked {
		acked[tx] = ref
	}
	s.mu.Unlock()

	undelivered := 0
	for ref, c := range charges {
		if c.sends > 1 {
			s.violateAt(when, "ref %s was offered %d times (RESEND_AFTER=0: once)", ref, c.sends)
		}
		if _, ok := delivered[ref]; !ok {
			undelivered++
		}
	}
	for ref, d := range delivered {
		c, ok := charges[ref]
		switch {
		case !ok:
			s.violateAt(when, "ref %s reached a caller in round %d but the database never recorded it as sent", ref, d.round)
		case c.id != d.idNumber:
			s.violateAt(when, "ref %s reached %s but is recorded for %s", ref, d.idNumber, c.id)
		}
	}
	for tx, ref := range acked {
		key := fmt.Sprint(tx)
		if applied[key] != 1 || timeline[key] != 1 {
			s.violateAt(when, "acknowledged webhook %d for %s: applied %d times, %d timeline entries; want 1 and 1", tx, ref, applied[key], timeline[key])
		}
		if c := charges[ref]; c.status != "paid" || c.tx != key {
			s.violateAt(when, "acknowledged webhook %d: charge %s is %q paid by %q, want paid by %d", tx, ref, c.status, c.tx, tx)
		}
		if jobs[key] != 1 {
			s.violateAt(when, "acknowledged webhook %d: %d write-back jobs, want 1", tx, jobs[key])
		}
	}
	for tx, n := range applied {
		if n > 1 {
			s.violateAt(when, "transaction %s applied %d times", tx, n)
		}
	}
	for tx, n := range journal {
		if n > 1 {
			s.violateAt(when, "transaction %s written back to the ERP %d times", tx, n)
		}
		if jobs[tx] == 0 {
			s.violateAt(when, "the ERP journal records transaction %s, which has no write-back job", tx)
		}
	}
	for tx := range done {
		if journal[tx] == 0 {
			s.violateAt(when, "write-back of transaction %s is done in the queue but absent from the ERP journal (lost)", tx)
		}
	}
	paid := 0
	if final {
		for ref, c := range charges {
			if c.status != "paid" {
				continue
			}
			paid++
			if journal[c.tx] != 1 {
				s.violateAt(when, "paid charge %s (transaction %s) is in the ERP journal %d times, want 1", ref, c.tx, journal[c.tx])
			}
		}
		if len(journal) != paid {
			s.violateAt(when, "the ERP journal holds %d transactions for %d paid charges", len(journal), paid)
		}
		if len(acked) != len(delivered) {
			s.violateAt(when, "%d refs delivered but %d payments acknowledged", len(delivered), len(acked))
		}
	}
	s.mu.Lock()
	s.report.ClaimedUndelivered = undelivered
	s.report.Journal = len(journal)
	if final {
		s.report.PaidCharges = paid
	}
	s.mu.Unlock()
}

// readJournal counts the file source's journal lines per transaction.
func (s *soak) readJournal() (map[string]int, error) {
	out := map[string]int{}
	f, err := os.Open(s.jnl)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var jl struct {
			TransactionID string `json:"transaction_id"`
		}
		if err := json.Unmarshal(line, &jl); err != nil || jl.TransactionID == "" {
			s.violate("unreadable ERP journal line %q", truncate(string(line), 120))
			continue
		}
		out[jl.TransactionID]++
	}
	return out, sc.Err()
}

// countBy counts the rows of a one-column query by value; with re, by the
// first group re finds in the value.
func countBy(ctx context.Context, db *sql.DB, query string, re *regexp.Regexp) (map[string]int, error) {
	vals, err := column(ctx, db, query)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, v := range vals {
		if re != nil {
			m := re.FindStringSubmatch(v)
			if m == nil {
				continue
			}
			v = m[1]
		}
		out[v]++
	}
	return out, nil
}
