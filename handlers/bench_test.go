package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
)

// BenchmarkLookupSteadyState is one lookup through Echo, the ERP fake, the
// validator and SQLite, for a customer whose 3 charges were all sent already.
func BenchmarkLookupSteadyState(b *testing.B) {
	charges := []erp.Charge{charge("B-1", "12345678"), charge("B-2", "12345678"), charge("B-3", "12345678")}
	s := newStack(b, &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": charges})}, nil)
	s.e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/get-recaudas?id_number=12345678", nil))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/get-recaudas?id_number=12345678", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkLookupFirstOffer is one lookup that claims 3 new refs: a new
// customer every time.
func BenchmarkLookupFirstOffer(b *testing.B) {
	src := &erptest.Source{PendingChargesFunc: func(_ context.Context, id string) ([]erp.Charge, error) {
		return []erp.Charge{charge(id+"-1", id), charge(id+"-2", id), charge(id+"-3", id)}, nil
	}}
	s := newStack(b, src, nil)
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n++
		rec := httptest.NewRecorder()
		s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/get-recaudas?id_number=%08d", 10000000+n), nil))
		if rec.Code != http.StatusOK || rec.Body.Len() < 100 {
			b.Fatalf("status %d body %s", rec.Code, rec.Body)
		}
	}
}
