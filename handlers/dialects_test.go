package handlers_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/handlers"
	"recauda-bridge/recauda"
	"recauda-bridge/store"
	"recauda-bridge/store/storetest"
	"recauda-bridge/validation"
)

// eachDialect runs fn with a fresh, migrated store of each dialect: SQLite
// always, PostgreSQL on the server named by RECAUDA_TEST_POSTGRES_DSN (the
// text a record may carry is refused there and not on SQLite).
func eachDialect(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dsn := filepath.Join(t.TempDir(), "bridge.db")
			if dialect == store.Postgres {
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
	cfg := recauda.Config{ERPTimeout: 500 * time.Millisecond, ResendAfter: 24 * time.Hour, WebhookURL: "https://bridge.example.co/webhooks/efipay"}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	svc := recauda.New(src, st, validation.New(now), cfg, now, log)
	return &stack{e: handlers.New(handlers.Deps{Logger: log, Recauda: svc}), store: st, source: src, svc: svc}
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
		rows, _, err := st.ListRejections(context.Background(), store.RejectionFilter{IDNumber: id})
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
