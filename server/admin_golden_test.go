package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"recauda-bridge/erp"
)

// The admin API's answers, byte for byte, for one day of a charge's life:
// offered, paid, a duplicate and an unmatched webhook, a held-back record,
// an operator's action. The DTOs are the wire format; whatever the store
// and the use cases hand the handlers, these bytes stay. `go test ./server
// -run TestAdminWireFormat -update` rewrites testdata/admin/answers.golden: each
// request, its status and its body exactly as sent.
func TestAdminWireFormat(t *testing.T) {
	bad := charge("BAD-1", "11111111")
	bad.Description = "abc" // under 4 characters
	open := charge("OPEN-1", "11111111")
	open.LimitDate = "2026-11-20" // overdue on the test's day
	s := adminStack(t, map[string][]erp.Charge{"11111111": {charge("W-1", "11111111"), open, bad}})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	s.pay(t, "901", "W-1")
	s.signedWebhook(t, webhookBody("901", "Aprobada", "150000.50", "COP", true, "W-1"))  // duplicate
	s.signedWebhook(t, webhookBody("902", "Aprobada", "150000.50", "COP", true, "NOPE")) // unmatched

	steps := []struct{ method, target string }{
		{http.MethodGet, "/admin/api/charges"},
		{http.MethodGet, "/admin/api/charges/W-1"},
		{http.MethodGet, "/admin/api/charges/OPEN-1"},
		{http.MethodGet, "/admin/api/charges/W-1/receipt"},
		{http.MethodPost, "/admin/api/charges/OPEN-1/deactivate"},
		{http.MethodPost, "/admin/api/charges/OPEN-1/release"},
		{http.MethodPost, "/admin/api/charges/W-1/release"},
		{http.MethodGet, "/admin/api/rejections"},
		{http.MethodGet, "/admin/api/webhooks"},
		{http.MethodGet, "/admin/api/webhooks/1"},
		{http.MethodGet, "/admin/api/writebacks"},
		{http.MethodPost, "/admin/api/writebacks/1/cancel"},
	}
	var out bytes.Buffer
	for _, st := range steps {
		rec := s.adminDo(t, st.method, st.target)
		fmt.Fprintf(&out, "%s %s -> %d\n%s\n", st.method, st.target, rec.Code, bytes.TrimSuffix(rec.Body.Bytes(), []byte("\n")))
	}
	golden := filepath.Join("..", "testdata", "admin", "answers.golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("admin answers differ from %s (-update rewrites it); got:\n%s", golden, out.Bytes())
	}
}
