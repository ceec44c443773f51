package store

import (
	"context"
	"testing"
	"time"

	"recauda-bridge/models"
	"recauda-bridge/store/internal/sqliteengine"
)

// settlesParentForTest is decideForTest, mirrored on the charge's parent
// when it has one.
func settlesParentForTest(d WebhookDelivery, now time.Time) Decide {
	decide := decideForTest(d, now)
	return func(c ChargeState) Decision {
		dec := decide(c)
		dec.SettlesParent = c.ParentRef != ""
		return dec
	}
}

// parentState is what a settle mirrored on a parent row leaves there.
type parentState struct {
	Status        string
	PaidAmount    string
	TransactionID string
	Paid          bool
	OfferAfterSet bool
}

func readParentState(t *testing.T, s *Store, ref string) parentState {
	t.Helper()
	tr, err := s.Tracked(context.Background(), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	var row struct {
		TransactionID string
		Paid          bool
	}
	if err := s.read.Raw(`SELECT transaction_id, paid_at IS NOT NULL AS paid FROM charges WHERE ref_payment = ?`, ref).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	c := tr[ref]
	return parentState{Status: c.Status, PaidAmount: c.PaidAmount.String(), TransactionID: row.TransactionID, Paid: row.Paid,
		OfferAfterSet: c.OfferAfter != nil}
}

// claimWithDerived tracks P-1 and its re-issue P-1-V1, and X-1 beside them.
func claimWithDerived(t *testing.T, s *Store) {
	t.Helper()
	derived := offer("P-1-V1", "55555555")
	derived.ParentRef = "P-1"
	if _, err := s.Claim(context.Background(), ClaimRequest{Offers: []Offer{offer("P-1", "55555555"), derived, offer("X-1", "55555555")}}); err != nil {
		t.Fatal(err)
	}
}

// TestSettleMirrorsOnParentOnEachDialect: a decision that settles the
// parent writes the derived charge's state to the parent row, all but
// offer_after, with a timeline entry naming the derived ref.
func TestSettleMirrorsOnParentOnEachDialect(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := db.open(t, newClock(at))
		claimWithDerived(t, s)
		steps := []struct {
			d        WebhookDelivery
			want     parentState
			timeline string
		}{
			{delivery("T-1", "Aprobada", "150000.50", "P-1-V1"),
				parentState{Status: models.StatusPaid, PaidAmount: "150000.5", TransactionID: "T-1", Paid: true},
				"sent paid paid through P-1-V1 (transaction T-1)"},
			// The derived charge is due again; the parent takes the state but
			// no offer_after: re-offers go through the derived ref.
			{delivery("T-2", "Rechazada", "150000.50", "P-1-V1"),
				parentState{Status: models.StatusFailed, PaidAmount: "150000.5", TransactionID: "T-2", Paid: true},
				"paid failed failed through P-1-V1 (transaction T-2)"},
		}
		for _, st := range steps {
			res, err := s.Settle(ctx, st.d, settlesParentForTest(st.d, at))
			if err != nil || res.Outcome != models.OutcomeApplied || res.RefPayment != "P-1-V1" {
				t.Fatalf("%s: got %+v, %v; want applied to P-1-V1", st.d.TransactionID, res, err)
			}
			if got := readParentState(t, s, "P-1"); got != st.want {
				t.Fatalf("%s: P-1 got %+v, want %+v", st.d.TransactionID, got, st.want)
			}
			var line struct{ FromStatus, ToStatus, Detail string }
			if err := s.read.Raw(`SELECT e.from_status, e.to_status, e.detail FROM charge_events e JOIN charges c ON c.id = e.charge_id
				WHERE c.ref_payment = 'P-1' ORDER BY e.id DESC LIMIT 1`).Scan(&line).Error; err != nil {
				t.Fatal(err)
			}
			if got := line.FromStatus + " " + line.ToStatus + " " + line.Detail; got != st.timeline {
				t.Fatalf("%s: P-1's last timeline entry got %q, want %q", st.d.TransactionID, got, st.timeline)
			}
		}
		if got := readParentState(t, s, "X-1"); got.Status != models.StatusSent {
			t.Fatalf("X-1 got %s, want sent: only the parent is mirrored", got.Status)
		}
	})
}

// TestMergedSettleMirrorsOnParent: the SQLite committer settles a derived
// charge alone, so its parent is mirrored even in a batch of settles.
func TestMergedSettleMirrorsOnParent(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s := openTest(t, newClock(at))
	claimWithDerived(t, s)
	deliveries := []WebhookDelivery{delivery("T-1", "Aprobada", "150000.50", "P-1-V1"), delivery("T-2", "Aprobada", "150000.50", "X-1")}
	jobs := make([]*sqliteengine.Job, len(deliveries))
	read := make([]func() SettleResult, len(deliveries))
	for i, d := range deliveries {
		jobs[i], _, read[i] = s.settleJob(d, settlesParentForTest(d, at))
	}
	errs := s.engine.CommitBatch(jobs)
	for i := range jobs {
		if err := errs[i]; err != nil {
			t.Fatal(err)
		}
		if res := read[i](); res.Outcome != models.OutcomeApplied {
			t.Fatalf("%s: got %+v, want applied", deliveries[i].TransactionID, res)
		}
	}
	want := parentState{Status: models.StatusPaid, PaidAmount: "150000.5", TransactionID: "T-1", Paid: true}
	if got := readParentState(t, s, "P-1"); got != want {
		t.Fatalf("P-1 got %+v, want %+v", got, want)
	}
	if got := readParentState(t, s, "X-1"); got.Status != models.StatusPaid {
		t.Fatalf("X-1 got %s, want paid", got.Status)
	}
}
