package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"recauda-bridge/internal/browsertest"
)

const (
	testWebhookToken = "webhook-token-0123456789"
	testAdminToken   = "admin-token-0123456789abcdef"
)

// startSandbox runs the sandbox command with env until the test ends and
// returns its base URL.
func startSandbox(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	env["SANDBOX_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stdout, stderr bytes.Buffer
	go func() { done <- run(ctx, append([]string{"sandbox"}, args...), envOf(env), &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sandbox returned %v after shutdown, want nil", err)
		}
	})
	for i := 0; i < 400; i++ {
		select {
		case err := <-done:
			t.Fatalf("sandbox stopped at start: %v\n%s", err, stderr.String())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			return "http://" + addr
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("the sandbox never answered")
	return ""
}

// adminCharge reads a charge from the bridge's admin API.
type adminCharge struct {
	Status     string `json:"status"`
	PaidAmount string `json:"paid_amount"`
	Writebacks []struct {
		Kind   string  `json:"kind"`
		State  string  `json:"state"`
		Amount *string `json:"amount"`
	} `json:"writebacks"`
}

func getAdminCharge(t *testing.T, bridge, ref string) adminCharge {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, bridge+"/admin/api/charges/"+ref, nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c adminCharge
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&c) != nil {
		t.Fatalf("GET /admin/api/charges/%s: %d", ref, resp.StatusCode)
	}
	return c
}

// TestSandboxInBrowser plays Efipay against the real bridge (serve, demo
// source, SQLite) from a real Chromium: look a demo customer up, pay one
// charge in full and the other with an advance, see the webhooks sent, and
// find both charges in the bridge's admin API as paid and partially_paid
// with their payments written back. Screenshots go to artifacts/.
func TestSandboxInBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	bridgeAddr := freeAddr(t)
	bridge := startBridge(t, map[string]string{"LISTEN_ADDR": bridgeAddr, "PUBLIC_URL": "http://" + bridgeAddr,
		"LOOKUP_TOKEN": testLookupToken, "EFIPAY_WEBHOOK_TOKEN": testWebhookToken, "ADMIN_TOKEN": testAdminToken, "EFIPAY_TEST_MODE": "true"})
	sb := startSandbox(t, map[string]string{"LISTEN_ADDR": bridgeAddr, "LOOKUP_TOKEN": testLookupToken,
		"EFIPAY_WEBHOOK_TOKEN": testWebhookToken, "SANDBOX_RETRY_DELAYS": "100ms,200ms"})
	const full, advance = "DEMO-SEG-2026-0417", "DEMO-MAT-2026-0417"
	shots := map[string][]byte{}

	browsertest.Step(t, ctx, "look the customer up",
		chromedp.Navigate(sb+"/"),
		chromedp.WaitVisible(chromedp.ID("id_number")),
		chromedp.SendKeys(chromedp.ID("id_number"), "1032456789"),
		chromedp.Click(chromedp.ID("search")),
		chromedp.WaitVisible(chromedp.ID("pay-full-"+full)))
	took := browsertest.Value(t, ctx, "time taken", chromedp.Text(chromedp.ID("took")))
	verdict := browsertest.Value(t, ctx, "verdict", chromedp.Text(chromedp.ID("verdict-"+full)))
	if !strings.HasPrefix(took, "Respuesta en ") || verdict != "Válido según las reglas de Efipay" {
		t.Errorf("got %q and %q, want the time taken and the validator's verdict in Spanish", took, verdict)
	}
	shots["sandbox-lookup.png"] = browsertest.Value(t, ctx, "screenshot", chromedp.FullScreenshot(100))

	browsertest.Step(t, ctx, "pay in full",
		chromedp.Click(chromedp.ID("pay-full-"+full)),
		chromedp.WaitVisible(chromedp.ID("sent")))
	if got := browsertest.Value(t, ctx, "answer", chromedp.Text(chromedp.ID("delivered-1"))); got != "Entregado" {
		t.Errorf("full payment: got %q, want Entregado", got)
	}
	shots["sandbox-paid.png"] = browsertest.Value(t, ctx, "screenshot", chromedp.FullScreenshot(100))

	// Back to the customer: the bridge sends nothing again, the sandbox
	// still offers the charges it kept, as Efipay does.
	browsertest.Step(t, ctx, "back to the customer",
		chromedp.Click(chromedp.ID("back")),
		chromedp.WaitVisible(chromedp.ID("advance-amount-"+advance)))
	page := browsertest.Value(t, ctx, "page", chromedp.Text(chromedp.ID("result")))
	if !strings.Contains(page, "Ofrecido en una consulta anterior") {
		t.Errorf("the second visit does not show the charges kept from the first:\n%s", page)
	}
	browsertest.Step(t, ctx, "pay an advance",
		chromedp.SendKeys(chromedp.ID("advance-amount-"+advance), "1035000"),
		chromedp.Click(chromedp.ID("pay-advance-"+advance)),
		chromedp.WaitVisible(chromedp.ID("sent")))
	if got := browsertest.Value(t, ctx, "answer", chromedp.Text(chromedp.ID("delivered-2"))); got != "Entregado" {
		t.Errorf("advance: got %q, want Entregado", got)
	}

	browsertest.Step(t, ctx, "the webhooks sent, in English",
		chromedp.Navigate(sb+"/webhooks?lang=en"),
		chromedp.WaitVisible(chromedp.ID("webhooks")))
	list := browsertest.Value(t, ctx, "list", chromedp.Text(chromedp.ID("webhooks")))
	for _, want := range []string{full, advance, "Aprobada", "HTTP 200", "$1,035,000.00 COP", "Delivered"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list of webhooks lacks %q:\n%s", want, list)
		}
	}
	shots["sandbox-webhooks.png"] = browsertest.Value(t, ctx, "screenshot", chromedp.FullScreenshot(100))

	// The write-back worker runs on its own: wait for it, generously.
	for _, want := range []struct{ ref, status, paid string }{{full, "paid", "85000.00"}, {advance, "partially_paid", "1035000.00"}} {
		var c adminCharge
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			c = getAdminCharge(t, bridge, want.ref)
			if len(c.Writebacks) == 1 && c.Writebacks[0].State == "done" {
				break
			}
		}
		if c.Status != want.status || c.PaidAmount != want.paid {
			t.Errorf("%s: got %s paid %s, want %s paid %s", want.ref, c.Status, c.PaidAmount, want.status, want.paid)
		}
		if len(c.Writebacks) != 1 || c.Writebacks[0].Kind != "payment" || c.Writebacks[0].State != "done" {
			t.Errorf("%s: got write-backs %+v, want one payment, done", want.ref, c.Writebacks)
		}
	}
	browsertest.Save(t, "artifacts", shots)
}

func TestSandboxCommandRefuses(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantStderr string
	}{
		{"an argument", []string{"sandbox", "now"}, nil, "sandbox takes no arguments"},
		{"an unknown flag", []string{"sandbox", "--fast"}, nil, "flag provided but not defined: -fast"},
		{"a remote lookup", []string{"sandbox", "--lookup", "https://erp.example.com/get-recaudas"}, nil, "is not this machine: pass --allow-remote"},
		{"a remote webhook", []string{"sandbox", "--webhook", "https://bridge.example.com/webhooks/efipay"}, nil, "is not this machine: pass --allow-remote"},
		{"a lookup that is no URL", []string{"sandbox", "--lookup", "get-recaudas"}, nil, "absolute http(s) URL"},
		{"a public SANDBOX_ADDR", []string{"sandbox"}, map[string]string{"SANDBOX_ADDR": "0.0.0.0:8090"}, "SANDBOX_ADDR 0.0.0.0:8090 is not a loopback address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, envOf(tc.env), &stdout, &stderr)
			if code := exitCode(err); code != 2 || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("got exit %d, stderr %q; want 2 and %q", code, stderr.String(), tc.wantStderr)
			}
		})
	}
}

// TestSandboxSaysLoudlyWhatItCalls: with --allow-remote the sandbox starts
// and says which remote hosts it calls.
func TestSandboxSaysLoudlyWhatItCalls(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := envOf(map[string]string{"SANDBOX_ADDR": freeAddr(t)})
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--allow-remote", "--lookup", "https://erp.example.com/get-recaudas"}, env, &stdout, &stderr)
	}()
	cancel() // the warnings come before serving: a cancelled run still prints them
	if err := <-done; err != nil {
		t.Fatalf("sandbox: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"WARNING: --allow-remote: looking customers up at https://erp.example.com/get-recaudas",
		"WARNING: --allow-remote: posting signed webhooks to whatever result_urls.webhook", "EFIPAY_WEBHOOK_TOKEN is not set"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
