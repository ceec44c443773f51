package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

const adminToken = "admin-token-for-tests-0123456789"

// adminStack is the real stack with the admin API and webhooks on, whose
// ERP lists charges.
func adminStack(t *testing.T, charges map[string][]erp.Charge) *stack {
	t.Helper()
	src := &erptest.Source{PendingChargesFunc: erptest.Static(charges)}
	return newStack(t, src, func(_ *recauda.Config, d *server.Config) {
		d.AdminToken, d.WebhookToken = adminToken, webhookToken
	})
}

// adminDo sends an authenticated admin request; extra headers come as
// name, value pairs.
func (s *stack) adminDo(t *testing.T, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return rec
}

// adminOK sends an admin request, wants 200 and decodes the JSON body into v.
func (s *stack) adminOK(t *testing.T, method, target string, v any) {
	t.Helper()
	rec := s.adminDo(t, method, target)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s %s = %d %s, want 200", method, target, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s content type = %q, want application/json", method, target, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("%s %s: body %s: %v", method, target, rec.Body, err)
	}
}

// exec changes the test database behind the store's back, to set up what
// the fixed clock cannot (activity on another day).
func (s *stack) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+s.dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// pay sends Efipay's approved webhook paying ref in full.
func (s *stack) pay(t *testing.T, txID, ref string) {
	t.Helper()
	if ans := s.signedWebhook(t, webhookBody(txID, "Aprobada", "150000.50", "COP", true, ref)); ans.Outcome != "applied" {
		t.Fatalf("paying %s: outcome %s, want applied", ref, ans.Outcome)
	}
}

// The admin API's JSON, as a client reads it.
type (
	chargeJSON struct {
		RefPayment     string  `json:"ref_payment"`
		IDNumber       string  `json:"id_number"`
		PayerName      string  `json:"payer_name"`
		Status         string  `json:"status"`
		Amount         string  `json:"amount"`
		PaidAmount     string  `json:"paid_amount"`
		Balance        string  `json:"balance"`
		SendCount      int     `json:"send_count"`
		FirstSentAt    *string `json:"first_sent_at"`
		PaidAt         *string `json:"paid_at"`
		TransactionID  *string `json:"transaction_id"`
		OfferedAgainAt *string `json:"offered_again_at"`
		UpdatedAt      string  `json:"updated_at"`
		Timeline       []struct {
			Kind       string  `json:"kind"`
			FromStatus *string `json:"from_status"`
			ToStatus   *string `json:"to_status"`
		} `json:"timeline"`
		Webhooks []struct {
			ID      int64  `json:"id"`
			Outcome string `json:"outcome"`
		} `json:"webhooks"`
		Writebacks []writebackJSON `json:"writebacks"`
	}
	writebackJSON struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}
	pageJSON[T any] struct {
		Items   []T   `json:"items"`
		Page    int   `json:"page"`
		PerPage int   `json:"per_page"`
		Total   int64 `json:"total"`
	}
)

func refsIn(p pageJSON[chargeJSON]) string {
	refs := make([]string, len(p.Items))
	for i, c := range p.Items {
		refs[i] = c.RefPayment
	}
	return fmt.Sprint(refs)
}

func TestAdminAuth(t *testing.T) {
	off := newStack(t, &erptest.Source{}, nil)
	for _, target := range []string{"/admin/api/charges", "/admin/api/nope"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer anything")
		off.e.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable || decodeError(t, rec).Error.Code != "admin_disabled" {
			t.Fatalf("%s without ADMIN_TOKEN = %d %s, want 503 admin_disabled", target, rec.Code, rec.Body)
		}
	}

	s := adminStack(t, nil)
	tests := []struct {
		name, header string
		status       int
	}{
		{"missing", "", 401},
		{"wrong", "Bearer " + strings.Repeat("x", len(adminToken)), 401},
		{"wrong length", "Bearer " + adminToken + "x", 401},
		{"prefix of the token", "Bearer " + adminToken[:5], 401},
		{"other scheme", "Basic " + adminToken, 401},
		{"no scheme", adminToken, 401},
		{"right", "Bearer " + adminToken, 200},
		{"scheme is case-insensitive", "bearer " + adminToken, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/admin/api/charges", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			s.e.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 401 {
				if code := decodeError(t, rec).Error.Code; code != "unauthorized" {
					t.Fatalf("code = %q, want unauthorized", code)
				}
				if h := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
					t.Fatalf("WWW-Authenticate = %q, want Bearer", h)
				}
			}
		})
	}
	// An unknown admin path does not tell a stranger it does not exist.
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/api/nope", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("unknown admin path without token = %d, want 401", rec.Code)
	}
	if rec := s.adminDo(t, http.MethodGet, "/admin/api/nope"); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown admin path with token = %d, want 404", rec.Code)
	}
}

func TestAdminChargesFilters(t *testing.T) {
	s := adminStack(t, map[string][]erp.Charge{
		"11111111": {charge("A-1", "11111111"), charge("A-2", "11111111")},
		"22222222": {charge("B-1", "22222222")},
	})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	decodePayments(t, s.get(t, "/get-recaudas?id_number=22222222"))
	s.pay(t, "601", "A-2")
	// A-1's last activity: 23 Nov 03:00 UTC, still 22 Nov in Bogotá.
	s.exec(t, `UPDATE charges SET updated_at = ? WHERE ref_payment = 'A-1'`, "2026-11-23 03:00:00+00:00")
	// B-1's: 21 Nov 23:00 Bogotá.
	s.exec(t, `UPDATE charges SET updated_at = ? WHERE ref_payment = 'B-1'`, "2026-11-22 04:00:00+00:00")

	tests := []struct {
		query, want string
		total       int64
	}{
		{"", "[A-1 A-2 B-1]", 3},
		{"?status=paid", "[A-2]", 1},
		{"?status=sent", "[A-1 B-1]", 2},
		{"?status=", "[A-1 A-2 B-1]", 3},
		{"?id_number=11111111", "[A-1 A-2]", 2},
		{"?ref_payment=B-1", "[B-1]", 1},
		{"?ref_payment=B", "[]", 0},
		{"?from=2026-11-22&to=2026-11-22", "[A-1 A-2]", 2},
		{"?to=2026-11-21", "[B-1]", 1},
		{"?from=2026-11-23", "[]", 0},
		{"?status=sent&id_number=11111111&from=2026-11-22", "[A-1]", 1},
		{"?per_page=2", "[A-1 A-2]", 3},
		{"?per_page=2&page=2", "[B-1]", 3},
		{"?per_page=2&page=3", "[]", 3},
		{"?per_page=200&page=1000000", "[]", 3},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var p pageJSON[chargeJSON]
			s.adminOK(t, http.MethodGet, "/admin/api/charges"+tc.query, &p)
			if got := refsIn(p); got != tc.want || p.Total != tc.total {
				t.Fatalf("got %s total %d, want %s total %d", got, p.Total, tc.want, tc.total)
			}
		})
	}

	var p pageJSON[chargeJSON]
	s.adminOK(t, http.MethodGet, "/admin/api/charges?ref_payment=A-2", &p)
	c := p.Items[0]
	if p.Page != 1 || p.PerPage != 50 {
		t.Fatalf("page %d per_page %d, want the defaults 1 and 50", p.Page, p.PerPage)
	}
	if c.Amount != "150000.50" || c.PaidAmount != "150000.50" || c.Balance != "0.00" || c.Status != "paid" ||
		c.PaidAt == nil || c.TransactionID == nil || *c.TransactionID != "601" || c.SendCount != 1 ||
		c.FirstSentAt == nil || *c.FirstSentAt != "2026-11-22T15:00:00Z" {
		t.Fatalf("A-2 = %+v, want paid 150000.50 of 150000.50 by 601, sent at 2026-11-22T15:00:00Z", c)
	}
}

func TestAdminBadParameters(t *testing.T) {
	s := adminStack(t, nil)
	tests := []struct{ target, field, rule string }{
		{"/admin/api/charges?per_page=0", "per_page", "range"},
		{"/admin/api/charges?per_page=201", "per_page", "range"},
		{"/admin/api/charges?page=0", "page", "range"},
		{"/admin/api/charges?page=-1", "page", "range"},
		{"/admin/api/charges?page=two", "page", "range"},
		{"/admin/api/charges?per_page=1.5", "per_page", "range"},
		{"/admin/api/charges?status=pending", "status", "one_of"},
		{"/admin/api/charges?id_number=12ab5678", "id_number", "digits_5_20"},
		{"/admin/api/charges?id_number=1234", "id_number", "digits_5_20"},
		{"/admin/api/charges?from=2026-02-30", "from", "date"},
		{"/admin/api/charges?to=22-11-2026", "to", "date"},
		{"/admin/api/charges?from=2026-11-23&to=2026-11-22", "from", "not_after_to"},
		{"/admin/api/charges?ref_payment=" + strings.Repeat("r", 192), "ref_payment", "max_length"},
		{"/admin/api/charges?stauts=paid", "stauts", "unknown"},
		{"/admin/api/charges?status=paid&status=sent", "status", "single_value"},
		{"/admin/api/charges?status=%zz", "query", "query_syntax"},
		{"/admin/api/rejections?rule=Bad-Rule", "rule", "rule_id"},
		{"/admin/api/rejections?per_page=500", "per_page", "range"},
		{"/admin/api/webhooks?outcome=lost", "outcome", "one_of"},
		{"/admin/api/webhooks/abc", "id", "positive_integer"},
		{"/admin/api/webhooks/0", "id", "positive_integer"},
		{"/admin/api/writebacks?state=failed", "state", "one_of"},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			rec := s.adminDo(t, http.MethodGet, tc.target)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", rec.Code, rec.Body)
			}
			body := decodeError(t, rec)
			if body.Error.Code != "invalid_parameter" || len(body.Error.Details) == 0 ||
				body.Error.Details[0].Field != tc.field || body.Error.Details[0].Rule != tc.rule {
				t.Fatalf("error = %+v, want invalid_parameter for %s (%s)", body.Error, tc.field, tc.rule)
			}
		})
	}
	// Every problem is named at once.
	rec := s.adminDo(t, http.MethodGet, "/admin/api/charges?page=0&per_page=0&status=x")
	if n := len(decodeError(t, rec).Error.Details); n != 3 {
		t.Fatalf("got %d details, want 3", n)
	}
	for _, target := range []string{"/admin/api/writebacks/x/retry", "/admin/api/writebacks/-3/cancel"} {
		if rec := s.adminDo(t, http.MethodPost, target); rec.Code != http.StatusBadRequest {
			t.Fatalf("POST %s = %d, want 400", target, rec.Code)
		}
	}
}

func TestAdminChargeTransitions(t *testing.T) {
	s := adminStack(t, map[string][]erp.Charge{
		"11111111": {charge("T-1", "11111111"), charge("T-PAID", "11111111")},
	})
	if n := len(decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111")).Payments); n != 2 {
		t.Fatalf("first lookup sent %d, want 2", n)
	}
	s.pay(t, "701", "T-PAID")
	offered := func() int {
		return len(decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111")).Payments)
	}
	if n := offered(); n != 0 {
		t.Fatalf("second lookup sent %d, want 0 (already offered)", n)
	}

	var c chargeJSON
	s.adminOK(t, http.MethodPost, "/admin/api/charges/T-1/release", &c)
	if c.OfferedAgainAt == nil || *c.OfferedAgainAt != "2026-11-22T15:00:00Z" || c.Status != "sent" {
		t.Fatalf("released = %+v, want sent, offered again now", c)
	}
	s.adminOK(t, http.MethodPost, "/admin/api/charges/T-1/deactivate", &c)
	if c.Status != "inactive" || c.OfferedAgainAt != nil {
		t.Fatalf("deactivated = %+v, want inactive with no offer time", c)
	}
	s.adminOK(t, http.MethodPost, "/admin/api/charges/T-1/deactivate", &c)
	if c.Status != "inactive" {
		t.Fatalf("deactivated again = %s, want inactive (idempotent)", c.Status)
	}
	if n := offered(); n != 0 {
		t.Fatalf("lookup offered %d charges while T-1 is inactive and the ERP still lists it, want 0", n)
	}
	s.adminOK(t, http.MethodPost, "/admin/api/charges/T-1/activate", &c)
	if c.Status != "sent" || c.OfferedAgainAt == nil {
		t.Fatalf("activated = %+v, want sent and due", c)
	}
	if n := offered(); n != 1 {
		t.Fatalf("lookup after activate offered %d, want T-1 again", n)
	}

	s.adminOK(t, http.MethodGet, "/admin/api/charges/T-1", &c)
	var kinds []string
	for _, ev := range c.Timeline {
		kinds = append(kinds, ev.Kind)
	}
	if got := fmt.Sprint(kinds); got != "[sent released deactivated activated resent]" {
		t.Fatalf("timeline = %s, want [sent released deactivated activated resent]", got)
	}
	if act := c.Timeline[3]; act.FromStatus == nil || *act.FromStatus != "inactive" || act.ToStatus == nil || *act.ToStatus != "sent" {
		t.Fatalf("activated event = %+v, want inactive -> sent", act)
	}

	conflicts := []string{
		"/admin/api/charges/T-PAID/release",
		"/admin/api/charges/T-PAID/deactivate",
		"/admin/api/charges/T-PAID/activate",
	}
	for _, target := range conflicts {
		rec := s.adminDo(t, http.MethodPost, target)
		body := decodeError(t, rec)
		if rec.Code != http.StatusConflict || body.Error.Code != "conflict" || !strings.Contains(body.Error.Message, "paid") {
			t.Fatalf("POST %s = %d %+v, want 409 conflict saying the charge is paid", target, rec.Code, body.Error)
		}
	}
	s.adminDo(t, http.MethodPost, "/admin/api/charges/T-1/deactivate")
	rec := s.adminDo(t, http.MethodPost, "/admin/api/charges/T-1/release")
	if rec.Code != http.StatusConflict || !strings.Contains(decodeError(t, rec).Error.Message, "activate") {
		t.Fatalf("release inactive = %d %s, want 409 telling to activate", rec.Code, rec.Body)
	}
	for _, target := range []string{"/admin/api/charges/NOPE", "/admin/api/charges/NOPE/release"} {
		method := http.MethodGet
		if strings.HasSuffix(target, "release") {
			method = http.MethodPost
		}
		rec := s.adminDo(t, method, target)
		if rec.Code != http.StatusNotFound || decodeError(t, rec).Error.Code != "not_found" {
			t.Fatalf("%s %s = %d %s, want 404 not_found", method, target, rec.Code, rec.Body)
		}
	}
}

func TestAdminRefWithSlashAndPercent(t *testing.T) {
	s := adminStack(t, map[string][]erp.Charge{
		"11111111": {charge("INV/2026/00042", "11111111"), charge("A%41", "11111111"), charge("FAC 7", "11111111")},
	})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	tests := []struct{ path, ref string }{
		{"INV%2F2026%2F00042", "INV/2026/00042"},
		{"inv%2f2026%2f00042", ""},
		{"A%2541", "A%41"},
		{"FAC%207", "FAC 7"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rec := s.adminDo(t, http.MethodGet, "/admin/api/charges/"+tc.path)
			if tc.ref == "" {
				if rec.Code != http.StatusNotFound {
					t.Fatalf("status = %d, want 404 (refs are case-sensitive)", rec.Code)
				}
				return
			}
			var c chargeJSON
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &c) != nil || c.RefPayment != tc.ref {
				t.Fatalf("got %d %s, want 200 for %q", rec.Code, rec.Body, tc.ref)
			}
		})
	}
	var c chargeJSON
	s.adminOK(t, http.MethodPost, "/admin/api/charges/INV%2F2026%2F00042/deactivate", &c)
	if c.RefPayment != "INV/2026/00042" || c.Status != "inactive" {
		t.Fatalf("deactivated %+v, want INV/2026/00042 inactive", c)
	}
	// An unencoded slash splits the path: no such route.
	if rec := s.adminDo(t, http.MethodGet, "/admin/api/charges/INV/2026/00042"); rec.Code != http.StatusNotFound {
		t.Fatalf("unencoded slashes = %d, want 404", rec.Code)
	}
}

func TestAdminReceipt(t *testing.T) {
	s := adminStack(t, map[string][]erp.Charge{
		"11111111": {charge("R-PAID", "11111111"), charge("R-OPEN", "11111111")},
	})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	s.pay(t, "801", "R-PAID")

	var r struct {
		RefPayment    string   `json:"ref_payment"`
		PayerName     string   `json:"payer_name"`
		Amount        string   `json:"amount"`
		PaidAmount    string   `json:"paid_amount"`
		Balance       string   `json:"balance"`
		PaidAt        *string  `json:"paid_at"`
		TransactionID *string  `json:"transaction_id"`
		PaymentMethod *string  `json:"payment_method"`
		References    []string `json:"references"`
	}
	s.adminOK(t, http.MethodGet, "/admin/api/charges/R-PAID/receipt", &r)
	if r.PayerName != "María Fernanda Gómez" || r.PaidAmount != "150000.50" || r.Balance != "0.00" || r.PaidAt == nil ||
		r.TransactionID == nil || *r.TransactionID != "801" || r.PaymentMethod == nil || *r.PaymentMethod != "credit" ||
		fmt.Sprint(r.References) != "[R-PAID]" {
		t.Fatalf("receipt = %+v, want paid 150000.50 by 801 with credit, references [R-PAID]", r)
	}

	for _, accept := range []string{"text/html", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"} {
		rec := s.adminDo(t, http.MethodGet, "/admin/api/charges/R-PAID/receipt", "Accept", accept)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTML receipt = %d %s, want 200", rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.EqualFold(ct, "text/html; charset=utf-8") {
			t.Fatalf("content type = %q, want text/html; charset=utf-8", ct)
		}
		page := rec.Body.String()
		for _, want := range []string{"Comprobante de pago", "María Fernanda Gómez", "150.000,50", "R-PAID", "801", "@media print"} {
			if !strings.Contains(page, want) {
				t.Fatalf("receipt page lacks %q:\n%s", want, page)
			}
		}
		for _, external := range []string{"http://", "https://", "<link", "<script src"} {
			if strings.Contains(page, external) {
				t.Fatalf("receipt page references an external asset (%q)", external)
			}
		}
	}
	langs := []struct {
		name, path, acceptLanguage, want string
	}{
		{"Spanish by default", "/admin/api/charges/R-PAID/receipt", "", "Comprobante de pago"},
		{"Accept-Language", "/admin/api/charges/R-PAID/receipt", "en-US,en;q=0.9", "Payment receipt"},
		{"?lang= wins", "/admin/api/charges/R-PAID/receipt?lang=es", "en", "Comprobante de pago"},
		{"?lang=en", "/admin/api/charges/R-PAID/receipt?lang=en", "", "Payment receipt"},
	}
	for _, tc := range langs {
		t.Run(tc.name, func(t *testing.T) {
			rec := s.adminDo(t, http.MethodGet, tc.path, "Accept", "text/html", "Accept-Language", tc.acceptLanguage)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("got %d without %q, want 200 with it:\n%s", rec.Code, tc.want, rec.Body)
			}
		})
	}
	if rec := s.adminDo(t, http.MethodGet, "/admin/api/charges/R-PAID/receipt", "Accept", "application/json, text/html;q=0.5"); !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("JSON preferred, got %q", rec.Header().Get("Content-Type"))
	}

	rec := s.adminDo(t, http.MethodGet, "/admin/api/charges/R-OPEN/receipt", "Accept", "text/html")
	if rec.Code != http.StatusConflict || decodeError(t, rec).Error.Code != "not_paid" {
		t.Fatalf("receipt of an unpaid charge = %d %s, want 409 not_paid", rec.Code, rec.Body)
	}
	if rec := s.adminDo(t, http.MethodGet, "/admin/api/charges/NOPE/receipt"); rec.Code != http.StatusNotFound {
		t.Fatalf("receipt of an unknown charge = %d, want 404", rec.Code)
	}
}

func TestAdminWebhooksAndRejections(t *testing.T) {
	bad := charge("BAD-1", "11111111")
	bad.Description = "abc" // under 4 characters
	s := adminStack(t, map[string][]erp.Charge{"11111111": {charge("W-1", "11111111"), bad}})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	s.pay(t, "901", "W-1")
	s.signedWebhook(t, webhookBody("901", "Aprobada", "150000.50", "COP", true, "W-1"))  // duplicate
	s.signedWebhook(t, webhookBody("902", "Aprobada", "150000.50", "COP", true, "NOPE")) // unmatched

	type event struct {
		ID      int64   `json:"id"`
		Outcome string  `json:"outcome"`
		Amount  *string `json:"amount"`
		Body    *string `json:"body"`
	}
	var events pageJSON[event]
	s.adminOK(t, http.MethodGet, "/admin/api/webhooks", &events)
	if events.Total != 3 || len(events.Items) != 3 || events.Items[0].Outcome != "unmatched" || events.Items[2].Outcome != "applied" {
		t.Fatalf("webhooks = %+v, want 3, newest first", events)
	}
	if events.Items[0].Body != nil || events.Items[0].Amount == nil || *events.Items[0].Amount != "150000.50" {
		t.Fatalf("listed event = %+v, want amount and no body", events.Items[0])
	}
	s.adminOK(t, http.MethodGet, "/admin/api/webhooks?outcome=duplicate", &events)
	if events.Total != 1 || events.Items[0].Outcome != "duplicate" {
		t.Fatalf("duplicates = %+v, want 1", events)
	}
	var one event
	s.adminOK(t, http.MethodGet, fmt.Sprintf("/admin/api/webhooks/%d", events.Items[0].ID), &one)
	if one.Body == nil || !strings.Contains(*one.Body, `"transaction_id":901`) {
		t.Fatalf("event = %+v, want the raw body", one)
	}
	if rec := s.adminDo(t, http.MethodGet, "/admin/api/webhooks/999"); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown event = %d, want 404", rec.Code)
	}

	var c chargeJSON
	s.adminOK(t, http.MethodGet, "/admin/api/charges/W-1", &c)
	if len(c.Webhooks) != 2 || len(c.Writebacks) != 1 || c.Writebacks[0].State != "pending" {
		t.Fatalf("W-1 detail: %d webhooks %+v writebacks, want 2 and one pending job", len(c.Webhooks), c.Writebacks)
	}

	type heldBack struct {
		RefPayment string `json:"ref_payment"`
		Violations []struct {
			Field, Rule string
		} `json:"violations"`
		SeenCount int `json:"seen_count"`
	}
	var rej pageJSON[heldBack]
	s.adminOK(t, http.MethodGet, "/admin/api/rejections", &rej)
	if rej.Total != 1 || rej.Items[0].RefPayment != "BAD-1" || len(rej.Items[0].Violations) == 0 {
		t.Fatalf("held back = %+v, want BAD-1 with its violations", rej)
	}
	rule := rej.Items[0].Violations[0].Rule
	for query, want := range map[string]int64{
		"?rule=" + rule: 1, "?rule=decimal_places": 0, "?id_number=11111111": 1, "?id_number=22222222": 0,
		"?ref_payment=BAD-1": 1, "?ref_payment=W-1": 0,
	} {
		s.adminOK(t, http.MethodGet, "/admin/api/rejections"+query, &rej)
		if rej.Total != want || int64(len(rej.Items)) != want {
			t.Fatalf("held back%s: total %d, %d items; want %d", query, rej.Total, len(rej.Items), want)
		}
	}
}

func TestAdminWritebacks(t *testing.T) {
	s := adminStack(t, map[string][]erp.Charge{"11111111": {charge("WB-1", "11111111"), charge("WB-2", "11111111")}})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	s.pay(t, "1001", "WB-1")
	s.pay(t, "1002", "WB-2")

	var jobs pageJSON[writebackJSON]
	s.adminOK(t, http.MethodGet, "/admin/api/writebacks?state=pending", &jobs)
	if jobs.Total != 2 || jobs.Items[0].ID <= jobs.Items[1].ID {
		t.Fatalf("pending jobs = %+v, want 2, newest first", jobs)
	}
	first, second := jobs.Items[1].ID, jobs.Items[0].ID

	var w writebackJSON
	s.adminOK(t, http.MethodPost, fmt.Sprintf("/admin/api/writebacks/%d/cancel", first), &w)
	if w.State != "cancelled" {
		t.Fatalf("cancelled job = %+v, want cancelled", w)
	}
	s.adminOK(t, http.MethodGet, "/admin/api/writebacks?state=cancelled", &jobs)
	if jobs.Total != 1 || jobs.Items[0].ID != first {
		t.Fatalf("cancelled jobs = %+v, want job %d", jobs, first)
	}
	s.adminOK(t, http.MethodPost, fmt.Sprintf("/admin/api/writebacks/%d/retry", first), &w)
	if w.State != "pending" {
		t.Fatalf("retried job = %+v, want pending", w)
	}

	if err := s.store.CompleteWriteback(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"retry", "cancel"} {
		rec := s.adminDo(t, http.MethodPost, fmt.Sprintf("/admin/api/writebacks/%d/%s", second, action))
		body := decodeError(t, rec)
		if rec.Code != http.StatusConflict || body.Error.Code != "conflict" || !strings.Contains(body.Error.Message, "done") {
			t.Fatalf("%s of a done job = %d %+v, want 409 conflict saying it is done", action, rec.Code, body.Error)
		}
		if rec := s.adminDo(t, http.MethodPost, "/admin/api/writebacks/999/"+action); rec.Code != http.StatusNotFound {
			t.Fatalf("%s of an unknown job = %d, want 404", action, rec.Code)
		}
	}
	s.adminOK(t, http.MethodGet, "/admin/api/writebacks?per_page=1&page=3", &jobs)
	if jobs.Total != 2 || len(jobs.Items) != 0 {
		t.Fatalf("page past the end = %+v, want no items, total 2", jobs)
	}
}
