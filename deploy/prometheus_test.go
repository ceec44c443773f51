package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"recauda-bridge/efipay"
)

// TestAlertRules: promtool accepts alerts.yml, and its unit tests (every
// alert, firing and quiet) pass.
func TestAlertRules(t *testing.T) {
	promtool := need(t, "promtool", "prometheus")
	mustRun(t, time.Minute, "prometheus", promtool, "check", "rules", "alerts.yml")
	mustRun(t, 2*time.Minute, "prometheus", promtool, "test", "rules", "alerts_test.yml")

	// Every alert has a unit test and both summaries.
	rules := alertRules(t)
	tests := readFile(t, "prometheus/alerts_test.yml")
	for _, r := range rules {
		if !strings.Contains(tests, "alertname: "+r.Alert+"\n") {
			t.Errorf("alert %s has no unit test in alerts_test.yml", r.Alert)
		}
		if r.Annotations["summary"] == "" || r.Annotations["summary_es"] == "" {
			t.Errorf("alert %s lacks summary or summary_es", r.Alert)
		}
	}

	// The example configuration is valid once its token file exists.
	dir := t.TempDir()
	cfg := strings.ReplaceAll(readFile(t, "prometheus/prometheus.yml"), "/etc/prometheus/recauda-bridge-metrics-token", filepath.Join(dir, "token"))
	for name, body := range map[string]string{"prometheus.yml": cfg, "token": "secret\n", "alerts.yml": readFile(t, "prometheus/alerts.yml")} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, time.Minute, dir, promtool, "check", "config", "prometheus.yml")
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Annotations map[string]string `yaml:"annotations"`
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	var doc struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "prometheus/alerts.yml")), &doc); err != nil {
		t.Fatal(err)
	}
	var rules []alertRule
	for _, g := range doc.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatal("alerts.yml has no rules")
	}
	return rules
}

// boardQuery is one query of the Grafana board.
type boardQuery struct {
	panel, expr string
}

func boardQueries(t *testing.T) []boardQuery {
	t.Helper()
	var board struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(readFile(t, "grafana/recauda-bridge.json")), &board); err != nil {
		t.Fatalf("grafana/recauda-bridge.json: %v", err)
	}
	var qs []boardQuery
	for _, p := range board.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			qs = append(qs, boardQuery{p.Title, tg.Expr})
		}
	}
	return qs
}

// grafanaVars replaces the board's variables as Grafana would with the job
// selected, every instance, and a rate window of a few scrapes.
var grafanaVars = strings.NewReplacer("$job", "recauda-bridge", "$instance", ".*", "$__rate_interval", "1m")

// seriesName finds the metric names a query selects.
var seriesName = regexp.MustCompile(`\b(recauda_[a-z_]+|up)\b`)

// TestPrometheusScrapesTheBridge starts a real Prometheus scraping a real
// bridge on loopback (with METRICS_TOKEN, as prometheus.yml does), drives
// lookups, held-back charges, signed and badly signed webhooks and
// write-backs, then evaluates every query of the Grafana board and every
// alert expression through Prometheus's HTTP API: each parses and names only
// series the bridge exports, and every board query returns data.
func TestPrometheusScrapesTheBridge(t *testing.T) {
	promBin := need(t, "prometheus", "prometheus")
	bin := staticBinary(t)
	dir := t.TempDir()

	// Three customers; one charge breaks a rule (three decimals).
	csv := "ref_payment,id_number,payer_name,description,amount,currency_type,limit_date\n" +
		"PM-1,70000001,Cliente Uno,Cuota 1,10000,COP,2099-12-31\n" +
		"PM-2,70000002,Cliente Dos,Cuota 2,20000,COP,2099-12-31\n" +
		"PM-3,70000003,Cliente Tres,Cuota 3,30000,COP,2099-12-31\n" +
		"PM-4,70000003,Cliente Tres,Cuota 4,100.505,COP,2099-12-31\n"
	charges := filepath.Join(dir, "charges.csv")
	if err := os.WriteFile(charges, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	const token, metricsToken = "prom-webhook-token", "prom-metrics-token"
	b := startBridge(t, bin, "DATABASE_URL="+filepath.Join(dir, "bridge.db"), "ERP_SOURCE=file", "ERP_FILE="+charges,
		"EFIPAY_WEBHOOK_TOKEN="+token, "METRICS_TOKEN="+metricsToken, "LOOKUP_PUBLIC=true", "LOG_LEVEL=warn")

	promAddr := freeAddr(t)
	if err := os.WriteFile(filepath.Join(dir, "metrics-token"), []byte(metricsToken), 0o600); err != nil {
		t.Fatal(err)
	}
	alerts, err := filepath.Abs("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	promCfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: recauda-bridge
    authorization:
      type: Bearer
      credentials_file: %q
    static_configs:
      - targets: [%q]
`, alerts, filepath.Join(dir, "metrics-token"), b.addr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(promCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var promLog syncBuffer
	prom := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Process.Kill(); _ = prom.Wait() })

	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := client.Get("http://" + b.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	webhook := func(body []byte, sig string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+b.addr+"/webhooks/efipay", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(efipay.SignatureHeader, sig)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Traffic, spread over a few scrapes so that rates have two points.
	deadline := time.Now().Add(8 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		for _, id := range []string{"70000001", "70000002", "70000003"} {
			if code, body := get("/get-recaudas?id_number=" + id); code != http.StatusOK {
				t.Fatalf("lookup %s: %d %s", id, code, body)
			}
		}
		if i < 2 {
			ref, amount := []string{"PM-1", "PM-2"}[i], []string{"10000", "20000"}[i]
			body := approvedWebhook(9000+i, ref, amount)
			if code := webhook(body, efipay.Sign(body, []byte(token))); code != http.StatusOK {
				t.Fatalf("signed webhook for %s answered %d", ref, code)
			}
		}
		if code := webhook(approvedWebhook(9100+i, "PM-3", "30000"), "t=1,v1=forged"); code != http.StatusUnauthorized {
			t.Fatalf("badly signed webhook answered %d, want 401", code)
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // a few more scrapes and rule evaluations

	exported := promLabelValues(t, client, promAddr, "__name__", `{job="recauda-bridge"}`)
	if !exported["recauda_ready"] || !exported["recauda_webhooks_total"] {
		t.Fatalf("Prometheus holds %v from the bridge, want its series (scrape failing?)\n%s", keys(exported), promLog.String())
	}
	known := func(name string) bool {
		return exported[name] || name == "up"
	}

	for _, q := range boardQueries(t) {
		expr := grafanaVars.Replace(q.expr)
		t.Run("board/"+q.panel, func(t *testing.T) {
			for _, name := range seriesName.FindAllString(expr, -1) {
				if !known(name) {
					t.Errorf("query %s names %s, which the bridge does not export", expr, name)
				}
			}
			n, err := promQuery(client, promAddr, expr)
			if err != nil {
				t.Fatalf("query %s: %v", expr, err)
			}
			if n == 0 {
				t.Fatalf("query %s returned no data after traffic", expr)
			}
		})
	}
	for _, r := range alertRules(t) {
		t.Run("alert/"+r.Alert, func(t *testing.T) {
			for _, name := range seriesName.FindAllString(r.Expr, -1) {
				if !known(name) {
					t.Errorf("alert %s names %s, which the bridge does not export", r.Alert, name)
				}
			}
			if _, err := promQuery(client, promAddr, r.Expr); err != nil {
				t.Fatalf("alert %s: %v", r.Alert, err)
			}
		})
	}
	// Prometheus loaded the rules and evaluates them without error.
	resp, err := client.Get("http://" + promAddr + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name, Health, LastError string
				}
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&rules); err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			loaded++
			if r.Health != "ok" {
				t.Errorf("rule %s: health %q (%s), want ok", r.Name, r.Health, r.LastError)
			}
		}
	}
	if want := len(alertRules(t)); loaded != want {
		t.Errorf("Prometheus loaded %d rules, want %d", loaded, want)
	}
	// The forged signatures above make their alert fire on real data.
	if n, err := promQuery(client, promAddr, `ALERTS{alertname="RecaudaBridgeWebhookInvalidSignature", alertstate="firing"}`); err != nil || n != 1 {
		t.Errorf("got %d firing RecaudaBridgeWebhookInvalidSignature (err %v) after forged webhooks, want 1", n, err)
	}
}

func approvedWebhook(tx int, ref, amount string) []byte {
	return []byte(fmt.Sprintf(`{"transaction":{"transaction_id":%d,"amount":%s,"currency_type":"COP","status":"Aprobada",`+
		`"payment_method":"PSE","production":true,"approved_at":"2026-11-22T15:41:54Z"},`+
		`"checkout":{"payment_gateway":{"advanced_option":{"references":["%s"]}}}}`, tx, amount, ref))
}

// promQuery evaluates expr now and returns how many series or values it
// returned; an error when Prometheus refuses it.
func promQuery(client *http.Client, addr, expr string) (int, error) {
	resp, err := client.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Status, Error string
		Data          struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	if out.Status != "success" {
		return 0, fmt.Errorf("%s: %s", out.Status, out.Error)
	}
	var series []json.RawMessage
	if err := json.Unmarshal(out.Data.Result, &series); err != nil {
		return 1, nil // a scalar or a string
	}
	return len(series), nil
}

// promLabelValues waits until Prometheus has scraped the bridge and returns
// the values of label among the series matching match.
func promLabelValues(t *testing.T, client *http.Client, addr, label, match string) map[string]bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/api/v1/label/" + label + "/values?match[]=" + url.QueryEscape(match))
		if err == nil {
			var out struct{ Data []string }
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err == nil && len(out.Data) > 0 {
				m := map[string]bool{}
				for _, v := range out.Data {
					m[v] = true
				}
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has no series from the bridge after 30s (last error %v)", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
