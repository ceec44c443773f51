package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
	"recauda-bridge/store"
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

// BenchmarkWebhookIntake is one signed approved webhook through Echo:
// verified, stored raw, applied to its charge and a write-back queued, all
// committed (fsync) before the 200.
func BenchmarkWebhookIntake(b *testing.B) {
	src := &erptest.Source{}
	s := newStack(b, src, func(_ *recauda.Config, d *server.Config) { d.WebhookToken = webhookToken })
	refs := make([]store.Offer, b.N)
	for i := range refs {
		refs[i] = store.Offer{RefPayment: fmt.Sprintf("WH-%d", i), IDNumber: "12345678", PayerName: "Ana María", Description: "Cuota",
			Amount: decimal.NewFromInt(150000), Currency: "COP", Payload: []byte(`{}`)}
	}
	if _, err := s.store.Claim(context.Background(), store.ClaimRequest{Offers: refs}); err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, b.N)
	sigs := make([]string, b.N)
	for i := range bodies {
		bodies[i] = webhookBody(fmt.Sprint(i+1), "Aprobada", "150000", "COP", true, fmt.Sprintf("WH-%d", i))
		sigs[i] = efipay.Sign(bodies[i], webhookToken)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/efipay", bytes.NewReader(bodies[i]))
		req.Header.Set("Signature", sigs[i])
		rec := httptest.NewRecorder()
		s.e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"applied"`)) {
			b.Fatalf("status %d body %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkLookupFirstOfferParallel is BenchmarkLookupFirstOffer from many
// goroutines, so that commits are grouped.
func BenchmarkLookupFirstOfferParallel(b *testing.B) {
	src := &erptest.Source{PendingChargesFunc: func(_ context.Context, id string) ([]erp.Charge, error) {
		return []erp.Charge{charge(id+"-1", id), charge(id+"-2", id), charge(id+"-3", id)}, nil
	}}
	s := newStack(b, src, nil)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/get-recaudas?id_number=%08d", 10000000+n.Add(1)), nil))
			if rec.Code != http.StatusOK || rec.Body.Len() < 100 {
				b.Fatalf("status %d body %s", rec.Code, rec.Body)
			}
		}
	})
}
