package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/erp/execsource"
	"recauda-bridge/handlers"
	"recauda-bridge/logging"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

// logBuffer is a bytes.Buffer safe for concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogsMaskPersonalDataAndSecrets runs a representative day (lookups
// sent, held back and failing, webhooks good and bad, the admin API, a
// scrape) with every log line captured at debug level, then looks for any
// ID number, payer name or secret in the logs.
func TestLogsMaskPersonalDataAndSecrets(t *testing.T) {
	const (
		idSent     = "1032456789"
		idHeld     = "79845123"
		idERPError = "52789456"
		idUnknown  = "1017234567"
		idWebhook  = "342343243" // the payer's ID number inside Efipay's webhook
		nameSent   = "María Fernanda Gómez Rojas"
		nameHeld   = "Carlos Andrés Rodríguez Pérez"
		nameWebhk  = "Santiago Otlaroa"
		// Merchants often use the cédula as a reference.
		refHeld      = "CC" + idHeld
		refUnmatched = "80123456"
		idExec       = "43123456" // looked up by a command that prints it, and the name, on stderr
		nameExec     = "Luz Marina Castaño Ospina"
	)
	sent := charge("LOG-1", idSent)
	sent.PayerName = nameSent
	held := charge(refHeld, idHeld)
	held.PayerName, held.Amount = nameHeld, decimal.RequireFromString("18333.333")
	logs := &logBuffer{}
	log := logging.New(logs, "json", slog.LevelDebug)
	chatty, err := execsource.New(execsource.Config{Command: []string{"../testdata/execsource/chatty.sh"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	src := &erptest.Source{PendingChargesFunc: func(ctx context.Context, id string) ([]erp.Charge, error) {
		switch id {
		case idExec:
			return chatty.PendingCharges(ctx, id)
		case idSent:
			return []erp.Charge{sent}, nil
		case idHeld:
			return []erp.Charge{held}, nil
		case idERPError:
			// ERPs like to quote what they were asked.
			return nil, fmt.Errorf("GET https://erp.example.co/api/customers?vat=%s: connection refused: %w", id, erp.ErrUnavailable)
		}
		return nil, nil
	}}
	s := newStack(t, src, func(_ *recauda.Config, d *server.Config) {
		d.Logger = log
		d.LookupToken, d.AdminToken, d.WebhookToken, d.MetricsToken = lookupToken, adminToken, webhookToken, metricsToken
	})

	lookup := "/get-recaudas/" + lookupToken + "?id_number="
	for _, id := range []string{idSent, idSent, idHeld, idUnknown, idExec} {
		if rec := s.get(t, lookup+id); rec.Code != http.StatusOK {
			t.Fatalf("lookup %s = %d %s", id, rec.Code, rec.Body)
		}
	}
	if rec := s.get(t, lookup+idERPError); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("failing ERP = %d, want 503", rec.Code)
	}
	s.request(t, http.MethodGet, "/get-recaudas?id_number="+idSent, "", handlers.LookupTokenHeader, "wrong")
	s.get(t, "/get-recaudas/"+idSent) // an ID number where the token belongs
	s.get(t, "/get-recaudas/"+lookupToken+"/?id_number="+idSent)
	s.get(t, lookup+idSent+"x")

	paid := webhookBody("5001", "Aprobada", "150000.50", "COP", true, "LOG-1")
	paid = bytes.Replace(paid, []byte(`"name":"PRUEBA TARJETA"`),
		[]byte(`"name":"`+nameWebhk+`","identification_type":"CC","identification_number":"`+idWebhook+`"`), 1)
	paid = bytes.Replace(paid, []byte(`"created_at":"2026-11-22T15:41:54.000000Z"}`),
		[]byte(`"created_at":"2026-11-22T15:41:54.000000Z","customer_payer":{"name":"`+nameWebhk+`"}}`), 1)
	for _, body := range [][]byte{
		paid, paid, // applied, then duplicate
		webhookBody("5002", "Aprobada", "10.00", "COP", true, refUnmatched),
		[]byte(`{"transaction":{"identification_number":"` + idWebhook + `","name":"` + nameWebhk + `"`),
	} {
		if rec := s.postWebhook(t, body, efipay.Sign(body, webhookToken)); rec.Code != http.StatusOK {
			t.Fatalf("webhook = %d %s", rec.Code, rec.Body)
		}
	}
	s.postWebhook(t, paid, strings.Repeat("0", 64))

	for _, target := range []string{
		"/admin/api/charges?id_number=" + idSent,
		"/admin/api/charges/LOG-1",
		"/admin/api/charges/" + idSent,
		"/admin/api/rejections?id_number=" + idHeld,
		"/admin/api/webhooks",
		"/admin/api/writebacks",
	} {
		s.adminDo(t, http.MethodGet, target)
	}
	s.adminDo(t, http.MethodGet, "/admin/api/charges/LOG-1/receipt", "Accept", "text/html")
	s.request(t, http.MethodGet, "/admin/api/charges", "", "Authorization", "Bearer "+lookupToken)
	s.request(t, http.MethodGet, "/metrics", "", "Authorization", "Bearer "+metricsToken)
	s.request(t, http.MethodGet, "/metrics", "", "Authorization", "Bearer "+adminToken)

	out := logs.String()
	if !strings.Contains(out, `"msg":"charge held back"`) || !strings.Contains(out, `"msg":"request failed"`) ||
		!strings.Contains(out, "*****123") || !strings.Contains(out, `"outcome":"unmatched"`) ||
		!strings.Contains(out, `"msg":"command stderr"`) {
		t.Fatalf("the flow did not log what it should (held back, ERP failure, a masked ID number, an unmatched webhook, a command's stderr):\n%s", out)
	}
	secrets := map[string]string{
		"ID number " + idSent: idSent, "ID number " + idHeld: idHeld, "ID number " + idERPError: idERPError,
		"ID number " + idUnknown: idUnknown, "webhook ID number": idWebhook, "unmatched reference": refUnmatched,
		"payer name": nameSent, "held-back payer name": nameHeld, "webhook payer name": nameWebhk,
		"first name": "María", "surname": "Otlaroa",
		"exec source's ID number": idExec, "exec source's payer name": nameExec, "exec source's surname": "Castaño",
		"lookup token": lookupToken, "admin token": adminToken, "webhook token": string(webhookToken), "metrics token": metricsToken,
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		line := sc.Text()
		for what, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("a log line shows the %s: %s", what, line)
			}
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if id, _ := rec["request_id"].(string); id == "" {
			t.Errorf("log line without request_id: %s", line)
		}
	}
	if lines < 20 {
		t.Fatalf("only %d log lines; the flow did not run", lines)
	}
}
