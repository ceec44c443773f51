package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/erp/guard"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
	"recauda-bridge/store"
	"recauda-bridge/store/storetest"
	"recauda-bridge/validation"
)

// eachDialect runs fn with a fresh, migrated store of each dialect: SQLite
// always, PostgreSQL on the server named by RECAUDA_TEST_POSTGRES_DSN (the
// text a record may carry is refused there and not on SQLite).
func eachDialect(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	for _, dialect := range []string{models.DialectSQLite, models.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dsn := filepath.Join(t.TempDir(), "bridge.db")
			if dialect == models.DialectPostgres {
				dsn = storetest.PostgresDSN(t)
			}
			st, err := store.Open(ctx, dialect, dsn, store.Options{Now: func() time.Time { return fixedNow }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			fn(t, st)
		})
	}
}

// newStackOn is newStack on a store of the test's choosing.
func newStackOn(t *testing.T, st *store.Store, src *erptest.Source, log *slog.Logger) *stack {
	now := func() time.Time { return fixedNow }
	cfg := recauda.Config{ResendAfter: 24 * time.Hour, WebhookURL: "https://bridge.example.co/webhooks/efipay"}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	svc := recauda.New(guard.New(src, guard.Options{CallTimeout: 500 * time.Millisecond}), st, validation.New(now), cfg, now, log)
	deps := server.Config{Logger: log, Recauda: svc, WebhookToken: webhookToken, AdminToken: adminToken}
	return &stack{e: server.New(deps), store: st, source: src, svc: svc}
}

// A NUL, a newline or a bidirectional control in one ERP record holds that
// record back (control_characters) on every dialect; the customer's other
// charges are still answered.
func TestControlCharactersHoldBackOneRecord(t *testing.T) {
	const id = "1032456789"
	with := func(ref string, f func(*erp.Charge)) erp.Charge {
		c := charge(ref, id)
		f(&c)
		return c
	}
	charges := []erp.Charge{
		charge("OK-1", id),
		with("FAC\x001", func(*erp.Charge) {}),
		with("FAC-2", func(c *erp.Charge) { c.PayerName = "Ana\x00Gómez" }),
		with("FAC-3", func(c *erp.Charge) { c.Description = "Cuota marzo\nSaldo: 0" }),
		with("FAC\u202e4", func(*erp.Charge) {}),
		with("FAC\xff5", func(*erp.Charge) {}),
		charge("OK-2", id),
	}
	eachDialect(t, func(t *testing.T, st *store.Store) {
		src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{id: charges})}
		s := newStackOn(t, st, src, nil)
		for _, round := range []string{"first lookup", "second lookup"} {
			rec := s.get(t, "/get-recaudas?id_number="+id)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: got status %d (%s), want 200", round, rec.Code, rec.Body.String())
			}
			var refs []string
			for _, p := range decodePayments(t, rec).Payments {
				refs = append(refs, p.RecaudaInformation.RefPayment)
			}
			want := []string{"OK-1", "OK-2"}
			if round == "second lookup" {
				want = nil // sent already
			}
			if !slices.Equal(refs, want) {
				t.Fatalf("%s: got refs %q, want %q", round, refs, want)
			}
		}
		l, err := s.svc.Preview(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Items {
			if it.RefPayment == "OK-1" || it.RefPayment == "OK-2" {
				continue
			}
			var rules []string
			for _, v := range it.Violations {
				rules = append(rules, v.Rule)
			}
			if it.Decision != recauda.DecisionHeldBack || !slices.Contains(rules, "control_characters") {
				t.Errorf("%q: got %s %q, want held back for control_characters", it.RefPayment, it.Decision, rules)
			}
		}
		rows, _, err := st.ListHeldBack(context.Background(), store.HeldBackFilter{IDNumber: id})
		if err != nil {
			t.Fatal(err)
		}
		var held []string
		for _, r := range rows {
			held = append(held, r.RefPayment)
		}
		slices.Sort(held)
		want := []string{`"FAC\x001"`, `"FAC\xff5"`, "FAC-2", "FAC-3", "FAC\u202e4"}
		if !slices.Equal(held, want) {
			t.Errorf("held back: got %q, want %q", held, want)
		}
	})
}

// A validly signed body is always stored, its bytes exactly, and answered
// 200, on every dialect: Efipay never sends it again after its two retries.
func TestSignedWebhookIsAlwaysStored(t *testing.T) {
	// More distinct references than SQLite's 32,766 variables and
	// PostgreSQL's 65,535 parameters, within the 1 MiB a body may have.
	var many strings.Builder
	many.WriteString(`{"transaction":{"transaction_id":7001,"status":"Aprobada","amount":150000.50,"currency_type":"COP","production":true},` +
		`"checkout":{"payment_gateway":{"advanced_option":{"references":["PAY-1"`)
	for i := range 70000 {
		fmt.Fprintf(&many, `,"%d"`, i)
	}
	many.WriteString(`]}}}}`)
	bodies := []struct {
		name    string
		body    []byte
		outcome string
	}{
		{"70,001 references", []byte(many.String()), models.OutcomeApplied},
		{`\u0000 in a field the bridge does not keep`,
			bytes.Replace(webhookBody("7002", "Pendiente", "150000.50", "COP", true, "PAY-2"), []byte("PRUEBA TARJETA"), []byte(`PRUEBA\u0000TARJETA`), 1),
			models.OutcomeApplied},
		{`\u0000 in the transaction id`, []byte(`{"transaction":{"transaction_id":"7003\u0000","status":"Aprobada"}}`), models.OutcomeUnparseable},
		{`\u0000 in a reference`, webhookBody("7004", "Aprobada", "150000.50", "COP", true, "PAY-3\u0000"), models.OutcomeUnmatched},
		{"a byte that is not UTF-8",
			bytes.Replace(webhookBody("7005", "Pendiente", "150000.50", "COP", true, "PAY-3"), []byte("PRUEBA TARJETA"), []byte("JOS\xc9 P\xc9REZ"), 1),
			models.OutcomeApplied},
		{"a NUL byte", []byte("{\"transaction\":\x00}"), models.OutcomeUnparseable},
	}
	eachDialect(t, func(t *testing.T, st *store.Store) {
		s := newStackOn(t, st, &erptest.Source{}, nil)
		var offers []store.Offer
		for _, ref := range []string{"PAY-1", "PAY-2", "PAY-3"} {
			offers = append(offers, store.Offer{RefPayment: ref, IDNumber: "1032456789", PayerName: "Ana Gómez", Description: "Cuota",
				Amount: decimal.RequireFromString("150000.50"), Currency: "COP", Payload: []byte(`{}`)})
		}
		if _, err := st.Claim(context.Background(), store.ClaimRequest{Offers: offers}); err != nil {
			t.Fatal(err)
		}
		for _, b := range bodies {
			rec := s.postWebhook(t, b.body, efipay.Sign(b.body, webhookToken))
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: got status %d (%s), want 200", b.name, rec.Code, rec.Body.String())
			}
		}
		events, _, err := st.ListWebhookEvents(context.Background(), store.WebhookEventFilter{PerPage: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != len(bodies) {
			t.Fatalf("got %d stored events, want %d", len(events), len(bodies))
		}
		slices.Reverse(events) // oldest first
		for i, b := range bodies {
			ev, err := st.GetWebhookEvent(context.Background(), events[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Outcome != b.outcome {
				t.Errorf("%s: got outcome %q (%s), want %q", b.name, ev.Outcome, ev.Detail, b.outcome)
			}
			kept := []byte(ev.Body)
			if ev.BodyRaw != nil {
				kept = ev.BodyRaw
			}
			if !bytes.Equal(kept, b.body) {
				t.Errorf("%s: the stored body differs from the one received", b.name)
			}
			// The admin API gives the exact bytes back.
			var dto struct {
				Body       string  `json:"body"`
				BodyBase64 *string `json:"body_base64"`
			}
			s.adminOK(t, http.MethodGet, fmt.Sprintf("/admin/api/webhooks/%d", ev.ID), &dto)
			got := []byte(dto.Body)
			if dto.BodyBase64 != nil {
				if got, err = base64.StdEncoding.DecodeString(*dto.BodyBase64); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, b.body) {
				t.Errorf("%s: the admin API's body differs from the one received", b.name)
			}
		}
	})
}

// An ERP that fills all three reference slots sends no ref_payment in them:
// when one of them equals another customer's ref_payment, a payment of the
// item must not be booked to that other customer.
func TestReferenceOfAnotherCustomerDoesNotRouteAPayment(t *testing.T) {
	const idA, idB = "1032456789", "79845123"
	a := charge("FAC-A1", idA)
	b := charge("FAC-B1", idB)
	b.References = []string{"FAC-A1", "CTA-77", "LOTE-9"}
	eachDialect(t, func(t *testing.T, st *store.Store) {
		src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{idA: {a}, idB: {b}})}
		s := newStackOn(t, st, src, nil)
		for _, id := range []string{idA, idB} {
			if rec := s.get(t, "/get-recaudas?id_number="+id); rec.Code != http.StatusOK || len(decodePayments(t, rec).Payments) != 1 {
				t.Fatalf("lookup %s: got %d %s, want one payment", id, rec.Code, rec.Body.String())
			}
		}
		// B pays its item: Efipay echoes the item's references.
		body := webhookBody("8001", "Aprobada", "150000.50", "COP", true, b.References...)
		if rec := s.postWebhook(t, body, efipay.Sign(body, webhookToken)); rec.Code != http.StatusOK {
			t.Fatalf("webhook: got %d %s", rec.Code, rec.Body.String())
		}
		tracked, err := st.Tracked(context.Background(), []string{"FAC-A1", "FAC-B1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := tracked["FAC-A1"].Status; got != models.StatusSent {
			t.Errorf("A's charge: got status %q, want %q (B's payment booked to A)", got, models.StatusSent)
		}
		events, _, err := st.ListWebhookEvents(context.Background(), store.WebhookEventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Outcome != models.OutcomeUnmatched {
			t.Fatalf("got events %+v, want one unmatched", events)
		}
		// A's own payment still matches A.
		body = webhookBody("8002", "Aprobada", "150000.50", "COP", true, "FAC-A1")
		if rec := s.postWebhook(t, body, efipay.Sign(body, webhookToken)); rec.Code != http.StatusOK {
			t.Fatalf("webhook: got %d %s", rec.Code, rec.Body.String())
		}
		if tracked, _ = st.Tracked(context.Background(), []string{"FAC-A1"}); tracked["FAC-A1"].Status != models.StatusPaid {
			t.Errorf("A's own payment: got status %q, want %q", tracked["FAC-A1"].Status, models.StatusPaid)
		}
	})
}
