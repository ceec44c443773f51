// Command load measures recauda-bridge against the physical limit of this
// machine, in one run, and prints a Markdown table for BENCHMARKS.md:
//
//   - ceiling: a bare Echo handler returning fixed bytes (scripts/load/ceiling);
//   - steady state: lookups of customers whose charges were all sent already;
//   - steady state at half that rate (open loop): latency p50/p99;
//     these three in rounds (-rounds), the ceiling right before the bridge
//     each time, so that a machine whose speed drifts (a shared VM) drifts
//     for both; medians are reported;
//   - first offers: every lookup claims 3 new refs;
//   - webhook intake: signed approved webhooks, each durable before its 200;
//     each of these two right after a ceiling run of its own, and reported
//     against it as well as against the median ceiling;
//   - the same on PostgreSQL when -pg is given;
//   - optionally (-big N) steady state with N refs already tracked, against
//     10,000 tracked, both servers measured in turn for -rounds rounds.
//
// Usage: go run ./scripts/load -duration 10s -concurrency 32 [-pg DSN] [-big 10000000]
// [-rounds 3] [-only sqlite,pg,big] [-profile DIR]
//
// Or, to tell whether a change helps: go run ./scripts/load -compare REV
// -rounds 10 -duration 4s measures steady state of the server built at git
// revision REV against the working tree's, in interleaved rounds.
//
// Requests go over keep-alive connections driven by hand (wire.go), each
// opened before its run, so that the generator takes as little as it can of
// the CPU the servers share with it. Everything runs on loopback, bounded in
// time.
package main

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
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
)

const webhookToken = "load-test-webhook-token"

type result struct {
	name     string
	requests int
	errors   int
	elapsed  time.Duration
	lat      []time.Duration
	rssKB    int
	// cpu is the server's CPU time (user and system) during the run.
	cpu time.Duration
}

// cpuPerRequest is the server's CPU time per answered request.
func (r result) cpuPerRequest() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	slices.Sort(r.lat)
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

// dialAll opens n connections to addr, so that no run measures the
// opening of its connections.
func dialAll(addr string, n int) []*wireConn {
	conns := make([]*wireConn, n)
	for i := range conns {
		conns[i] = newWireConn(addr)
		if err := conns[i].dial(); err != nil {
			log.Fatalf("dial %s: %v", addr, err)
		}
	}
	return conns
}

// closedLoop runs concurrency workers, each on its own connection to addr,
// back to back for d (or until next says stop) and records every latency.
// next gives request i's bytes.
func closedLoop(name, addr string, concurrency int, d time.Duration, next func(i int64) ([]byte, bool)) result {
	var counter atomic.Int64
	var mu sync.Mutex
	res := result{name: name}
	conns := dialAll(addr, concurrency)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.close()
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			for time.Now().Before(deadline) {
				req, ok := next(counter.Add(1) - 1)
				if !ok {
					break
				}
				t0 := time.Now()
				if !conn.do(req) {
					errs++
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.lat)
	return res
}

// openLoop sends to addr at a fixed rate for d, whatever the answers'
// latency: a bounded pool of workers, each on its own connection, takes
// requests off a schedule, and each latency is measured from when its
// request was due, so a slow server is charged for the queue it causes (no
// coordinated omission).
func openLoop(name, addr string, rate float64, d time.Duration, next func(i int64) ([]byte, bool)) result {
	const workers = 128
	type ticket struct {
		due time.Time
		req []byte
	}
	tickets := make(chan ticket, 1<<16)
	var mu sync.Mutex
	res := result{name: name}
	var wg sync.WaitGroup
	for _, conn := range dialAll(addr, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.close()
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			for t := range tickets {
				if !conn.do(t.req) {
					errs++
				}
				lat = append(lat, time.Since(t.due))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			mu.Unlock()
		}()
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := int64(0); ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d {
			break
		}
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		req, ok := next(i)
		if !ok {
			break
		}
		tickets <- ticket{due: due, req: req}
	}
	close(tickets)
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.lat)
	return res
}

type server struct {
	cmd       *exec.Cmd
	addr      string
	debugAddr string // the profiler's, when -profile is set
	log       *os.File
}

// profileDir, when set (-profile), receives a CPU profile of the server for
// each measured bridge run.
var profileDir string

// traceToo (-trace) adds an execution trace of a second to each profile.
var traceToo bool

// profiled is measured, and when profiling, the server's profiler samples
// it for d and the profile goes to profileDir/<name>.prof.
func (s *server) profiled(name string, d time.Duration, measure func() result) result {
	if profileDir == "" || s.debugAddr == "" {
		return s.measured(measure)
	}
	var wg sync.WaitGroup
	save := func(what, query, path string) {
		defer wg.Done()
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s", s.debugAddr, query))
		if err != nil {
			log.Printf("%s %s: %v", what, name, err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			log.Printf("%s %s: %v", what, name, err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
		log.Printf("%s of %q in %s", what, name, path)
	}
	wg.Add(1)
	go save("profile", fmt.Sprintf("profile?seconds=%d", max(1, int(d.Seconds()))), profilePath(name))
	if traceToo {
		// One second from the middle of the run: a trace grows fast.
		wg.Add(1)
		go func() {
			time.Sleep(d / 3)
			save("execution trace", "trace?seconds=1", strings.TrimSuffix(profilePath(name), ".prof")+".trace")
		}()
	}
	r := s.measured(measure)
	wg.Wait()
	return r
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func start(bin string, args []string, env []string, logPath string) *server {
	addr := freePort()
	f, err := os.Create(logPath)
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	if filepath.Base(bin) == "ceiling" {
		cmd.Args = append(cmd.Args, "-addr", addr)
	}
	cmd.Env = append(append(os.Environ(), env...), "LISTEN_ADDR="+addr)
	debugAddr := ""
	if profileDir != "" && filepath.Base(bin) != "ceiling" {
		debugAddr = freePort()
		cmd.Env = append(cmd.Env, "DEBUG_ADDR="+debugAddr)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 400; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &server{cmd: cmd, addr: addr, debugAddr: debugAddr, log: f}
		}
		time.Sleep(25 * time.Millisecond)
	}
	log.Fatalf("%s did not start; see %s", bin, logPath)
	return nil
}

// profilePath is where the profile called name goes.
func profilePath(name string) string {
	return filepath.Join(profileDir, strings.NewReplacer(" ", "-", ",", "").Replace(name)+".prof")
}

// saveHeapProfile writes the server's heap profile to profileDir, when
// profiling.
func (s *server) saveHeapProfile(name string) {
	if profileDir == "" || s.debugAddr == "" {
		return
	}
	resp, err := http.Get("http://" + s.debugAddr + "/debug/pprof/heap")
	if err != nil {
		log.Printf("heap profile: %v", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := os.WriteFile(profilePath(name), b, 0o644); err != nil {
		log.Printf("heap profile: %v", err)
	}
	// Where the resident memory is: Go's own accounting and the kernel's.
	if resp, err := http.Get("http://" + s.debugAddr + "/debug/pprof/heap?debug=1"); err == nil {
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(text), "\n") {
			for _, k := range []string{"# HeapSys", "# HeapInuse", "# HeapReleased", "# Stack", "# Sys", "# NextGC", "# NumGC"} {
				if strings.HasPrefix(line, k+" ") {
					log.Printf("%s: %s", name, line)
				}
			}
		}
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM") || strings.HasPrefix(line, "Rss") {
			log.Printf("%s: %s", name, strings.Join(strings.Fields(line), " "))
		}
	}
}

// cpuTime is the CPU time the process has used so far, from
// /proc/<pid>/stat (utime and stime, in clock ticks of 1/100 s on Linux).
func (s *server) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// measured runs measure and records the server's CPU time during it.
func (s *server) measured(measure func() result) result {
	before := s.cpuTime()
	r := measure()
	r.cpu = s.cpuTime() - before
	return r
}

// peakRSS is the process's high-water resident set, in KiB.
func (s *server) peakRSS() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
	}
	s.log.Close()
}

// getWire is a GET of path as its bytes on the wire.
func getWire(addr, path string) []byte {
	return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
}

// postWire is a POST of a JSON body with its Signature header.
func postWire(addr, path, signature string, body []byte) []byte {
	b := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nSignature: %s\r\nContent-Length: %d\r\n\r\n",
		path, addr, signature, len(body))
	return append(b, body...)
}

func lookupReq(addr string, customer int) []byte {
	return getWire(addr, fmt.Sprintf("/get-recaudas?id_number=%d", 70000000+customer))
}

func webhookReq(addr string, tx int64, ref string, amount int) []byte {
	body := []byte(fmt.Sprintf(`{"transaction":{"transaction_id":%d,"amount":%d,"currency_type":"COP","status":"Aprobada","payment_method":"PSE","production":true,"approved_at":"2026-11-22T15:41:54Z"},"checkout":{"payment_gateway":{"advanced_option":{"references":["%s"]}}}}`, tx, amount, ref))
	mac := hmac.New(sha256.New, []byte(webhookToken))
	mac.Write(body)
	return postWire(addr, "/webhooks/efipay", hex.EncodeToString(mac.Sum(nil)), body)
}

const perCustomer = 3

func ref(customer, k int) string { return fmt.Sprintf("L-%d-%d", customer, k) }
func amount(k int) int           { return 100000 + 1000*k }

func writeCSV(path string, customers int) {
	var b strings.Builder
	b.WriteString("ref_payment,id_number,payer_name,description,amount,currency_type,limit_date\n")
	for c := 0; c < customers; c++ {
		for k := 0; k < perCustomer; k++ {
			fmt.Fprintf(&b, "%s,%d,Cliente de carga %d,Cuota mensual %d,%d,COP,2099-12-31\n", ref(c, k), 70000000+c, c, k, amount(k))
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		log.Fatal(err)
	}
}

// writesEnv lets a bridge take signed webhooks and keeps it from offering a
// charge twice within a run.
var writesEnv = []string{"EFIPAY_WEBHOOK_TOKEN=" + webhookToken, "RESEND_AFTER=24h"}

// bridgeEnv (-bridge-env) is added to every bridge's environment, and to no
// other process's: an experiment on the server alone (GOGC=off, say).
var bridgeEnv []string

// startBridge starts the bridge on databaseURL with the file source reading
// csv (env adds to its environment) and serves customers [0, warm) once, so
// that their charges are sent: what steady state asks for.
func startBridge(bin, dir, label, databaseURL, csv string, conc, warm int, env ...string) *server {
	env = append([]string{"DATABASE_URL=" + databaseURL, "ERP_SOURCE=file", "ERP_FILE=" + csv, "LOG_LEVEL=error",
		"LOOKUP_PUBLIC=true"}, env...) // loopback only
	env = append(env, bridgeEnv...)
	s := start(bin, []string{"serve"}, env, filepath.Join(dir, label+".log"))
	warmed := closedLoop("warm", s.addr, conc, time.Hour, func(i int64) ([]byte, bool) {
		return lookupReq(s.addr, int(i)), int(i) < warm
	})
	if warmed.errors > 0 {
		log.Fatalf("%s: %d errors while warming", label, warmed.errors)
	}
	return s
}

// ceilingLookups are the bare ceiling's lookups, all alike.
func ceilingLookups(cs *server) func(int64) ([]byte, bool) {
	return func(int64) ([]byte, bool) { return lookupReq(cs.addr, 1), true }
}

// ms is d in milliseconds, as the tables print it.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// steadyLookups are lookups of random customers among the warm ones.
func steadyLookups(s *server, warm int) func(int64) ([]byte, bool) {
	return func(int64) ([]byte, bool) { return lookupReq(s.addr, rand.IntN(warm)), true }
}

// firstOffers looks up customers from first on, below end, each once, so
// that every lookup claims its customer's charges; it returns how many
// customers it looked up.
func firstOffers(label string, s *server, first, end, conc int, d time.Duration) (result, int) {
	var done atomic.Int64
	r := closedLoop(label+" first offers", s.addr, conc, d, func(i int64) ([]byte, bool) {
		c := first + int(i)
		if c >= end {
			return nil, false
		}
		raise(&done, i+1)
		return lookupReq(s.addr, c), true
	})
	return r, int(done.Load())
}

// raise sets n to v unless it holds more: the connections hand out
// requests concurrently, and the count is the highest handed out, every
// lower one having been handed out too.
func raise(n *atomic.Int64, v int64) {
	for old := n.Load(); v > old && !n.CompareAndSwap(old, v); old = n.Load() {
	}
}

// webhookIntake posts one signed approved webhook for each charge of the
// customers from first on, below end, that firstOffers looked up, starting
// with the charge skip; it returns how many it posted.
func webhookIntake(label string, s *server, first, end, skip, conc int, d time.Duration) (result, int) {
	var done atomic.Int64
	r := closedLoop(label+" webhook intake", s.addr, conc, d, func(i int64) ([]byte, bool) {
		n := skip + int(i)
		if n >= (end-first)*perCustomer {
			return nil, false
		}
		raise(&done, i+1)
		c, k := first+n/perCustomer, n%perCustomer
		return webhookReq(s.addr, 1_000_000+int64(n), ref(c, k), amount(k)), true
	})
	return r, int(done.Load())
}

// bridgeRun is what one tracking store measured. The closed-loop steady
// state and the open-loop half rate ran in rounds, each round measuring the
// ceiling right before the bridge (at the same rate, for the open loop),
// so that both see the same machine; the table shows medians.
type bridgeRun struct {
	label           string
	ceiling, steady []result // closed loop, per round
	ceilHalf, half  []result // open loop at half the median steady rate, per round
	first, webhooks result
	// ceilFirst and ceilWebhooks are the ceiling measured right before
	// first offers and webhooks: the machine's speed drifts between runs.
	ceilFirst, ceilWebhooks result
	rssKB                   int
}

// median returns the result with the median requests per second (or, with
// byP99, the median p99) of rs.
func median(rs []result, byP99 bool) result {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b result) int {
		if byP99 {
			return cmp.Compare(a.pct(0.99), b.pct(0.99))
		}
		return cmp.Compare(a.rps(), b.rps())
	})
	return sorted[len(sorted)/2]
}

// medianRatio is the median of per-round ratios (the upper one of an even
// count, as median picks).
func medianRatio(rs []float64) float64 {
	sorted := slices.Sorted(slices.Values(rs))
	return sorted[len(sorted)/2]
}

// runBridge measures one tracking store against the ceiling server at
// cs. warm customers [0, warm) are served once before the
// steady-state runs; first offers walk the rest.
func runBridge(bin, dir, label, databaseURL, csv string, cs *server, warm, customers int, d time.Duration, conc, rounds int) bridgeRun {
	s := startBridge(bin, dir, label, databaseURL, csv, conc, warm, writesEnv...)
	defer s.stop()
	out := bridgeRun{label: label}
	ceilingReq := ceilingLookups(cs)
	steadyReq := steadyLookups(s, warm)
	for r := range rounds {
		out.ceiling = append(out.ceiling, cs.measured(func() result { return closedLoop("ceiling", cs.addr, conc, d, ceilingReq) }))
		measure := func() result { return closedLoop(label+" steady state", s.addr, conc, d, steadyReq) }
		if r == 0 {
			out.steady = append(out.steady, s.profiled(label+" steady state", d, measure))
		} else {
			out.steady = append(out.steady, s.measured(measure))
		}
	}
	half := median(out.steady, false).rps() / 2
	for range rounds {
		out.ceilHalf = append(out.ceilHalf, cs.measured(func() result { return openLoop("ceiling at the same rate", cs.addr, half, d, ceilingReq) }))
		out.half = append(out.half, s.measured(func() result { return openLoop(label+" steady state at half rate", s.addr, half, d, steadyReq) }))
	}
	out.ceilFirst = cs.measured(func() result { return closedLoop("ceiling", cs.addr, conc, d, ceilingReq) })
	var looked int
	out.first = s.profiled(label+" first offers", d, func() (r result) {
		r, looked = firstOffers(label, s, warm, customers, conc, d)
		return r
	})
	out.ceilWebhooks = cs.measured(func() result { return closedLoop("ceiling", cs.addr, conc, d, ceilingReq) })
	out.webhooks = s.profiled(label+" webhook intake", d, func() (r result) {
		r, _ = webhookIntake(label, s, warm, warm+looked, 0, conc, d)
		return r
	})
	out.rssKB = s.peakRSS()
	s.saveHeapProfile(label + " heap")
	return out
}

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each measured run")
	conc := flag.Int("concurrency", 32, "concurrent connections of the closed-loop runs")
	customers := flag.Int("customers", 30000, "customers in the ERP file (3 charges each); the file source keeps the file in memory")
	warm := flag.Int("warm", 1000, "customers served before the steady-state runs")
	pg := flag.String("pg", "", "PostgreSQL DSN; when set, the runs repeat on PostgreSQL in a fresh schema")
	big := flag.Int("big", 0, "also measure steady state with this many refs already tracked (e.g. 10000000)")
	rounds := flag.Int("rounds", 3, "rounds of ceiling and steady state (closed loop, then open loop at half rate); medians are reported")
	only := flag.String("only", "", "comma-separated subset of the bridge runs: sqlite, pg, big (the ceiling always runs; default: all that apply)")
	flag.BoolVar(&traceToo, "trace", false, "with -profile, also write a one-second execution trace of the server from the middle of each bridge run")
	flag.StringVar(&profileDir, "profile", "", "write a CPU profile of the server for each bridge run into this directory")
	compareRev := flag.String("compare", "", "only compare the server built at this git revision with the working tree's, over -rounds interleaved rounds")
	ceilingAt := flag.String("ceiling-at", "", "only run the bare ceiling in open loop at these comma-separated rates (requests/s), -rounds times each: its latency at a given load of the machine")
	compareWhat := flag.String("compare-what", "steady", "what -compare measures: steady (steady-state lookups) or writes (first offers, then webhook intake)")
	extraEnv := flag.String("bridge-env", "", "comma-separated KEY=VALUE settings added to the bridge's environment only (e.g. GOGC=off)")
	flag.Parse()
	if *extraEnv != "" {
		bridgeEnv = strings.Split(*extraEnv, ",")
	}
	want := func(run string) bool { return *only == "" || slices.Contains(strings.Split(*only, ","), run) }
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			log.Fatal(err)
		}
	}

	dir, err := os.MkdirTemp("", "recauda-load-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "recauda-bridge")
	ceilingBin := filepath.Join(dir, "ceiling")
	for _, b := range [][]string{{bin, "."}, {ceilingBin, "./scripts/load/ceiling"}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			log.Fatalf("build %s: %v\n%s", b[1], err, out)
		}
	}
	csv := filepath.Join(dir, "charges.csv")
	writeCSV(csv, *customers)
	if *compareRev != "" {
		compare(bin, dir, csv, *compareRev, *compareWhat, *duration, *conc, *rounds, *customers)
		return
	}

	// The ceiling server runs throughout, idle but for its own rounds.
	cs := start(ceilingBin, nil, nil, filepath.Join(dir, "ceiling.log"))
	defer cs.stop()
	closedLoop("warm", cs.addr, *conc, time.Second, ceilingLookups(cs))
	if *ceilingAt != "" {
		ceilingRates(cs, *ceilingAt, *duration, *rounds)
		return
	}

	var runs []*bridgeRun
	if want("sqlite") {
		r := runBridge(bin, dir, "SQLite", filepath.Join(dir, "bridge.db"), csv, cs, *warm, *customers, *duration, *conc, *rounds)
		runs = append(runs, &r)
	}
	if *pg != "" && want("pg") {
		u := freshSchema(*pg)
		r := runBridge(bin, dir, "PostgreSQL", u, csv, cs, *warm, *customers, *duration, *conc, *rounds)
		runs = append(runs, &r)
	}
	var bigSteady, smallSteady *result
	var bigRatios []float64
	if *big > 0 && want("big") {
		s1, s2, ratios := trackedScaling(bin, dir, csv, *big, *duration, *conc, *rounds)
		smallSteady, bigSteady, bigRatios = &s1, &s2, ratios
	}

	fmt.Printf("\nLoad test, %s per run, %d rounds, %d connections (closed loop), %d customers x %d charges, on %s\n",
		*duration, *rounds, *conc, *customers, perCustomer, hostLine())
	for _, r := range runs {
		ceiling := median(r.ceiling, false)
		fmt.Printf("\n%s; ratios to the median ceiling of its rounds (%.0f requests/s):\n\n", r.label, ceiling.rps())
		fmt.Println("| run | requests/s | ratio to ceiling | ratio to the ceiling just before | p50 | p99 | errors | server CPU per request | peak RSS |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
		before := func(x, ceiling result) string {
			return fmt.Sprintf("%.1f %% (of %.0f)", 100*x.rps()/ceiling.rps(), ceiling.rps())
		}
		// Each steady round follows its own ceiling run: the median of
		// those ratios.
		var steadyRatios []float64
		for i := range r.steady {
			steadyRatios = append(steadyRatios, r.steady[i].rps()/r.ceiling[i].rps())
		}
		steadyAdjacent := fmt.Sprintf("%.1f %% (median of the rounds)", 100*medianRatio(steadyRatios))
		row := func(name string, x result, adjacent string, rss int) {
			mem := "-"
			if rss > 0 {
				mem = fmt.Sprintf("%.1f MiB", float64(rss)/1024)
			}
			fmt.Printf("| %s | %.0f | %.1f %% | %s | %s | %s | %d | %d µs | %s |\n", name, x.rps(), 100*x.rps()/ceiling.rps(), adjacent,
				ms(x.pct(0.50)), ms(x.pct(0.99)), x.errors, x.cpuPerRequest().Microseconds(), mem)
		}
		row(fmt.Sprintf("ceiling (median of %d)", len(r.ceiling)), ceiling, "-", 0)
		row(fmt.Sprintf("steady state (median of %d)", len(r.steady)), median(r.steady, false), steadyAdjacent, 0)
		row("ceiling at half the steady rate (median p99)", median(r.ceilHalf, true), "-", 0)
		row("steady state at half its rate (median p99)", median(r.half, true), "-", 0)
		row("first offers", r.first, before(r.first, r.ceilFirst), 0)
		row("webhook intake", r.webhooks, before(r.webhooks, r.ceilWebhooks), r.rssKB)
		var per []string
		for i := range r.steady {
			per = append(per, fmt.Sprintf("%.0f/%.0f, p99 at half rate %s/%s", r.steady[i].rps(), r.ceiling[i].rps(),
				ms(r.half[i].pct(0.99)), ms(r.ceilHalf[i].pct(0.99))))
		}
		fmt.Printf("\nRounds (steady/ceiling requests/s, p99 at half rate bridge/ceiling): %s\n", strings.Join(per, "; "))
	}
	if bigSteady != nil {
		fmt.Printf("\nTracked refs, %d interleaved rounds (medians):\n\n", len(bigRatios))
		fmt.Println("| run | requests/s | p50 | p99 | errors | peak RSS |")
		fmt.Println("|---|---|---|---|---|---|")
		for _, x := range []*result{smallSteady, bigSteady} {
			fmt.Printf("| %s | %.0f | %s | %s | %d | %.1f MiB |\n", x.name, x.rps(), ms(x.pct(0.50)), ms(x.pct(0.99)), x.errors, float64(x.rssKB)/1024)
		}
		// Each round measures both stores minutes apart at most: the
		// median of the rounds' ratios is steadier than a ratio of medians.
		var per []string
		for _, r := range bigRatios {
			per = append(per, fmt.Sprintf("%.1f %%", 100*r))
		}
		fmt.Printf("\nSteady state with %d refs tracked is %.1f %% of the rate with 10,000 (median of the rounds: %s).\n",
			*big, 100*medianRatio(bigRatios), strings.Join(per, ", "))
	}
}

func hostLine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			return strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
		}
	}
	return "this machine"
}

// freshSchema creates a schema for one run and returns a DSN using it.
func freshSchema(dsn string) string {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("recauda_load_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		log.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		log.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// trackedScaling measures steady state on a store tracking 10,000 refs and
// on one tracking n. Both servers run at once, idle but for their own runs,
// and are measured in turn for rounds rounds: the machine's speed drifts
// by tens of percent over minutes, which would otherwise decide the ratio.
// It returns the medians and the ratio of each round.
func trackedScaling(bin, dir, csv string, n int, d time.Duration, conc, rounds int) (small, big result, ratios []float64) {
	open := func(label string, rows int) *server {
		db := filepath.Join(dir, label+".db")
		cmd := exec.Command(bin, "migrate")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+db)
		if out, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("migrate: %v %s", err, out)
		}
		fill := fmt.Sprintf(`PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %d)
INSERT INTO charges (ref_payment, id_number, payer_name, description, amount, currency_type, status, payload, payload_hash, send_count, first_sent_at, last_sent_at, offer_after, created_at, updated_at)
SELECT 'BULK-' || i, printf('%%d', 10000000000 + i), 'Cliente', 'Cuota', '100000', 'COP', 'sent', '', '', 1, '2026-11-22 00:00:00+00:00', '2026-11-22 00:00:00+00:00', '2099-01-01 00:00:00+00:00', '2026-11-22 00:00:00+00:00', '2026-11-22 00:00:00+00:00' FROM seq;`, rows)
		t0 := time.Now()
		if out, err := exec.Command("sqlite3", db, fill).CombinedOutput(); err != nil {
			log.Fatalf("fill: %v %s", err, out)
		}
		log.Printf("filled %d refs in %s", rows, time.Since(t0).Round(time.Second))
		return startBridge(bin, dir, label, db, csv, conc, 1000)
	}
	smallServer, bigServer := open("small", 10000), open("big", n)
	defer smallServer.stop()
	defer bigServer.stop()
	measure := func(s *server, rows int) result {
		r := closedLoop(fmt.Sprintf("SQLite steady state, %d refs tracked", rows), s.addr, conc, d, steadyLookups(s, 1000))
		r.rssKB = s.peakRSS()
		return r
	}
	var smalls, bigs []result
	for range rounds {
		smalls = append(smalls, measure(smallServer, 10000))
		bigs = append(bigs, measure(bigServer, n))
		ratios = append(ratios, bigs[len(bigs)-1].rps()/smalls[len(smalls)-1].rps())
	}
	return median(smalls, false), median(bigs, false), ratios
}

// ceilingRates runs the bare ceiling in open loop at each of rates, rounds
// times: the tail latency of a server that does nothing, at a given load of
// the machine, to set beside the bridge's at the same server CPU.
func ceilingRates(cs *server, rates string, d time.Duration, rounds int) {
	fmt.Println("| rate | p50 | p99 by round | server CPU per request | server cores busy |")
	fmt.Println("|---|---|---|---|---|")
	for _, field := range strings.Split(rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
		if err != nil || rate <= 0 {
			log.Fatalf("-ceiling-at: %q is no rate", field)
		}
		var p99s []string
		var all []result
		for range rounds {
			r := cs.measured(func() result { return openLoop("ceiling", cs.addr, rate, d, ceilingLookups(cs)) })
			p99s = append(p99s, ms(r.pct(0.99)))
			all = append(all, r)
		}
		m := median(all, true)
		fmt.Printf("| %.0f/s | %s | %s | %d µs | %.2f |\n", rate, ms(m.pct(0.50)),
			strings.Join(p99s, ", "), m.cpuPerRequest().Microseconds(), m.cpu.Seconds()/m.elapsed.Seconds())
	}
}
