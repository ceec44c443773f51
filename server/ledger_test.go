package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"recauda-bridge/models"
)

// ledgerDo sends an authenticated admin request with a JSON body.
func (s *stack) ledgerDo(t *testing.T, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return rec
}

const ledgerItem = `{"ref_payment":"LG-1","id_number":"1032456789","payer_name":"María Fernanda Gómez",
	"description":"Cuota de administración diciembre","amount":"150000.50","currency_type":"COP","limit_date":"2026-12-15",
	"advance":{"type":"Porcentaje Minimo","value":"30"},"references":["APTO-301"],"has_comments":true,
	"delivery":{"type":"Gratis"},"metadata":{"torre":"B"}}`

type ledgerAnswer struct {
	RefPayment string           `json:"ref_payment"`
	Amount     string           `json:"amount"`
	Balance    string           `json:"balance"`
	Status     string           `json:"status"`
	Advance    *json.RawMessage `json:"advance"`
	Discount   *struct {
		Value    string `json:"value"`
		BeforeOn string `json:"before_on"`
	} `json:"discount"`
	Delivery   *struct{ Type, Value string } `json:"delivery"`
	References []string                      `json:"references"`
	Metadata   json.RawMessage               `json:"metadata"`
}

func decodeLedger(t *testing.T, rec *httptest.ResponseRecorder, status int) ledgerAnswer {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	var a ledgerAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	return a
}

func TestLedgerCreatePatchCancel(t *testing.T) {
	s := adminStack(t, nil)
	ctx := context.Background()

	created := decodeLedger(t, s.ledgerDo(t, http.MethodPost, "/admin/api/ledger", ledgerItem), http.StatusCreated)
	if created.Amount != "150000.50" || created.Status != models.LedgerOpen || created.Advance == nil ||
		created.Delivery == nil || created.Delivery.Value != "0.00" || string(created.Metadata) != `{"torre":"B"}` {
		t.Errorf("created: got %+v", created)
	}

	// A merge patch: amount changed, advance removed, discount added, the rest kept.
	patched := decodeLedger(t, s.ledgerDo(t, http.MethodPatch, "/admin/api/ledger/LG-1",
		`{"amount":"180000","advance":null,"discount":{"type":"Valor","value":"5000","before_on":"2026-12-01"}}`), http.StatusOK)
	if patched.Amount != "180000.00" || patched.Advance != nil || patched.Discount == nil || patched.Discount.Value != "5000.00" ||
		len(patched.References) != 1 || string(patched.Metadata) != `{"torre":"B"}` {
		t.Errorf("patched: got %+v", patched)
	}
	stored, err := s.store.LedgerCharge(ctx, "LG-1")
	if err != nil || stored.Charge.Amount.String() != "180000" || stored.Charge.Advance != nil {
		t.Errorf("stored after patch: got %+v %v", stored.Charge, err)
	}

	tests := []struct {
		name, method, target, body string
		status                     int
		code                       string
		fields                     []string // "field rule" of each detail
	}{
		{"broken rules", http.MethodPost, "/admin/api/ledger",
			`{"ref_payment":"LG-2","id_number":"1032456789","payer_name":"Ana","description":"Cuota","amount":"18.333","currency_type":"ARS","limit_date":"2026-02-30"}`,
			422, "invalid_charge", []string{
				"advanced_options.limit_date date",
				"recauda_information.amount decimal_places",
				"recauda_information.currency_type one_of",
				"recauda_information.payer_name min_length",
			}},
		{"unreadable amount", http.MethodPost, "/admin/api/ledger",
			strings.Replace(strings.Replace(ledgerItem, `"150000.50"`, `"1.500.000"`, 1), "LG-1", "LG-3", 1),
			422, "invalid_charge", []string{"recauda_information.amount unreadable", "recauda_information.amount positive"}},
		{"unknown field", http.MethodPost, "/admin/api/ledger", `{"ref_payment":"LG-2","advance":{"typ":"x"}}`,
			400, "invalid_body", []string{"advance.typ unknown"}},
		{"wrong type", http.MethodPost, "/admin/api/ledger", `{"ref_payment":"LG-2","has_comments":"si"}`,
			400, "invalid_body", []string{"has_comments type"}},
		{"ref exists", http.MethodPost, "/admin/api/ledger", ledgerItem, 409, "ref_payment_exists", nil},
		{"id_number is immutable", http.MethodPatch, "/admin/api/ledger/LG-1", `{"id_number":"79845123"}`,
			422, "invalid_charge", []string{"recauda_information.id_number immutable"}},
		{"status is not content", http.MethodPatch, "/admin/api/ledger/LG-1", `{"status":"paid"}`,
			400, "invalid_body", []string{"status unknown"}},
		{"patch breaks a rule", http.MethodPatch, "/admin/api/ledger/LG-1", `{"discount":{"value":"200000"}}`,
			422, "invalid_charge", []string{"advanced_options.discount.value below_amount"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := s.ledgerDo(t, tt.method, tt.target, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			body := decodeError(t, rec)
			var got []string
			for _, d := range body.Error.Details {
				got = append(got, d.Field+" "+d.Rule)
			}
			if body.Error.Code != tt.code || strings.Join(got, "|") != strings.Join(tt.fields, "|") {
				t.Errorf("got %s %v, want %s %v", body.Error.Code, got, tt.code, tt.fields)
			}
		})
	}
	if after, _ := s.store.LedgerCharge(ctx, "LG-1"); after.Charge.Amount.String() != "180000" || after.Charge.IDNumber != "1032456789" {
		t.Errorf("refused changes reached the ledger: %+v", after.Charge)
	}

	cancelled := decodeLedger(t, s.ledgerDo(t, http.MethodDelete, "/admin/api/ledger/LG-1", ""), http.StatusOK)
	if cancelled.Status != models.LedgerCancelled {
		t.Errorf("cancel: got status %s, want cancelled", cancelled.Status)
	}
	if got := decodeLedger(t, s.ledgerDo(t, http.MethodDelete, "/admin/api/ledger/LG-1", ""), http.StatusOK); got.Status != models.LedgerCancelled {
		t.Errorf("cancel again: got status %s, want cancelled", got.Status)
	}
	if rec := s.ledgerDo(t, http.MethodPatch, "/admin/api/ledger/LG-1", `{"amount":"1000"}`); rec.Code != http.StatusConflict {
		t.Errorf("patch cancelled: got %d, want 409", rec.Code)
	}
	var page struct {
		Items []ledgerAnswer `json:"items"`
		Total int64          `json:"total"`
	}
	s.adminOK(t, http.MethodGet, "/admin/api/ledger?status=cancelled&id_number=1032456789", &page)
	if page.Total != 1 || len(page.Items) != 1 || page.Items[0].RefPayment != "LG-1" {
		t.Errorf("list cancelled: got %+v", page)
	}
	s.adminOK(t, http.MethodGet, "/admin/api/ledger?status=open", &page)
	if page.Total != 0 || len(page.Items) != 0 {
		t.Errorf("list open: got %+v, want none", page)
	}
}
