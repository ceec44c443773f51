package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
	"recauda-bridge/store/internal/sqliteengine"
)

// decideForTest uses every field of a Decision: an approval of the whole
// amount pays the charge and queues a write-back, a wrong amount is
// flagged, a rejection makes the charge due again.
func decideForTest(d WebhookDelivery, now time.Time) Decide {
	return func(c ChargeState) Decision {
		switch {
		case d.Status == "Rechazada":
			return Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusFailed, TransactionID: d.TransactionID, OfferNow: true}
		case !d.Amount.Equal(c.Amount):
			return Decision{Outcome: models.OutcomeFlagged, Detail: "amount " + d.Amount.String() + " is not " + c.Amount.String()}
		default:
			paid := d.Amount
			return Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusPaid, PaidAmount: &paid, PaidAt: &now,
				TransactionID: d.TransactionID, Writeback: []byte(`{"ref":"` + c.RefPayment + `","tx":"` + d.TransactionID + `"}`)}
		}
	}
}

func delivery(tx, status, amount string, refs ...string) WebhookDelivery {
	return WebhookDelivery{Body: []byte(`{"tx":"` + tx + `","status":"` + status + `"}`), TransactionID: tx, Status: status,
		Amount: decimal.RequireFromString(amount), Currency: "COP", Production: true, PaymentMethod: "PSE", References: refs}
}

// TestMergedSettlesMatchSettlingAlone: a batch of deliveries settled by the
// committer together leaves the database exactly as settling them one
// batch each, in the same order, does (ids, timeline, write-backs, events),
// and each caller gets the same result. The batch holds what merges and
// what must not: two deliveries of one charge, one for a charge that had a
// webhook before, unmatched and ambiguous ones, one without references,
// a write-back already queued, a transaction stored before unmatched and
// one named by two deliveries of the batch.
func TestMergedSettlesMatchSettlingAlone(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	prepare := func() *Store {
		s := openTest(t, newClock(at))
		var offers []Offer
		for i := 1; i <= 12; i++ {
			offers = append(offers, offer(fmt.Sprintf("MS-%02d", i), "44444444"))
		}
		if _, err := s.Claim(context.Background(), ClaimRequest{Offers: offers}); err != nil {
			t.Fatal(err)
		}
		// MS-10 and MS-11 had a webhook before; a write-back for MS-04 and
		// T-4 is queued (as by an event since deleted).
		// T-20 came before its reference was tracked.
		for _, d := range []WebhookDelivery{delivery("T-0", "Pendiente", "1", "MS-10"), delivery("T-11", "Aprobada", "150000.50", "MS-11"),
			delivery("T-20", "Aprobada", "150000.50", "NOPE-20")} {
			if _, err := s.Settle(context.Background(), d, decideForTest(d, at)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.write.Exec(`INSERT INTO writebacks (charge_id, ref_payment, transaction_id, payment, state, next_attempt_at, created_at, updated_at)
			SELECT id, ref_payment, 'T-4', '{}', 'pending', updated_at, updated_at, updated_at FROM charges WHERE ref_payment = 'MS-04'`).Error; err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A delivery without references is no settle the committer can merge:
	// it runs first, in batch order. Those that merge come next, then the
	// rest, so that the ids match settling them in order.
	deliveries := []WebhookDelivery{
		{Body: []byte(`{}`), TransactionID: "T-12", Status: "Aprobada", Amount: decimal.NewFromInt(1), Currency: "COP"},
		delivery("T-1", "Aprobada", "150000.50", "MS-01"),
		delivery("T-2", "Aprobada", "99", "MS-02"),                // flagged
		delivery("T-3", "Rechazada", "150000.50", "MS-03"),        // due again
		delivery("T-4", "Aprobada", "150000.50", "NOPE", "MS-04"), // one of two refs tracked; its write-back is queued already
		delivery("T-5", "Aprobada", "150000.50", "MS-05", "MS-05"),
		delivery("T-11", "Aprobada", "150000.50", "MS-11"), // received before: a duplicate
		delivery("T-6", "Aprobada", "150000.50", "MS-06"),
		delivery("T-6", "Aprobada", "150000.50", "MS-06"),          // the same again: a duplicate
		delivery("T-7", "Aprobada", "150000.50", "MS-06"),          // another payment of MS-06
		delivery("T-10", "Aprobada", "150000.50", "MS-10"),         // MS-10 had a webhook
		delivery("T-8", "Aprobada", "150000.50", "NOPE"),           // unmatched
		delivery("T-9", "Aprobada", "150000.50", "MS-07", "MS-08"), // ambiguous
		delivery("T-20", "Aprobada", "150000.50", "MS-09"),         // stored before, unmatched: a duplicate
		delivery("T-21", "Aprobada", "99", "NOPE"),                 // unmatched
		delivery("T-21", "Aprobada", "150000.50", "MS-12"),         // the same transaction and status: a duplicate
	}
	const merging = 5 // the five after the first

	settle := func(s *Store, batches [][]int) []SettleResult {
		results := make([]SettleResult, len(deliveries))
		for _, batch := range batches {
			jobs := make([]*sqliteengine.Job, len(batch))
			read := make([]func() SettleResult, len(batch))
			for k, i := range batch {
				jobs[k], _, read[k] = s.settleJob(deliveries[i], decideForTest(deliveries[i], at))
			}
			errs := s.engine.CommitBatch(jobs)
			for k, i := range batch {
				if err := errs[k]; err != nil {
					t.Fatalf("delivery %d: %v", i, err)
				}
				results[i] = read[k]()
			}
		}
		return results
	}
	alone, together := prepare(), prepare()
	var one, all [][]int
	var everyone []int
	for i := range deliveries {
		one = append(one, []int{i})
		everyone = append(everyone, i)
	}
	all = append(all, everyone)
	want, got := settle(alone, one), settle(together, all)
	for i := range deliveries {
		if got[i] != want[i] {
			t.Errorf("delivery %d (%s): together %+v, alone %+v", i, deliveries[i].TransactionID, got[i], want[i])
		}
	}
	for i := 1; i <= merging; i++ {
		if got[i].Outcome == "" || got[i].EventID == 0 {
			t.Errorf("delivery %d: result %+v", i, got[i])
		}
	}
	for _, i := range []int{len(deliveries) - 3, len(deliveries) - 1} {
		if got[i].Outcome != models.OutcomeDuplicate {
			t.Errorf("delivery %d (%s): got %q, want %q", i, deliveries[i].TransactionID, got[i].Outcome, models.OutcomeDuplicate)
		}
	}
	if got[1].WritebackID == 0 || got[4].WritebackID != 0 || got[6].Outcome != models.OutcomeDuplicate {
		t.Errorf("T-1 got write-back %d (want one), T-4 got %d (want none: already queued), T-11 %q (want a duplicate)",
			got[1].WritebackID, got[4].WritebackID, got[6].Outcome)
	}
	for _, table := range []string{"charges", "charge_events", "webhook_events", "writebacks"} {
		a, b := dumpTable(t, alone, table), dumpTable(t, together, table)
		if a != b {
			t.Errorf("%s differs:\nalone:\n%s\ntogether:\n%s", table, a, b)
		}
	}

	// The merged run did settle the five, and only them: they were
	// marked, and their results came from it.
	s := prepare()
	jobs := make([]*sqliteengine.Job, len(deliveries))
	works := make([]*settleWork, len(deliveries))
	for i, d := range deliveries {
		jobs[i], works[i], _ = s.settleJob(d, decideForTest(d, at))
	}
	for i, err := range s.engine.CommitBatch(jobs) {
		if err != nil {
			t.Fatal(err)
		}
		if merged := works[i] != nil && works[i].merged; merged != (i >= 1 && i <= merging) {
			t.Errorf("delivery %d (%s): merged %v", i, deliveries[i].TransactionID, merged)
		}
	}
}

// TestMergedSettleFailureFallsBack: when the merged run fails, nothing of it
// stays, and each delivery is settled alone: only the one that fails by
// itself reports an error.
func TestMergedSettleFailureFallsBack(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s := openTest(t, newClock(at))
	if _, err := s.Claim(context.Background(), ClaimRequest{Offers: []Offer{offer("MF-1", "55555555"), offer("MF-2", "55555555")}}); err != nil {
		t.Fatal(err)
	}
	good := delivery("T-1", "Aprobada", "150000.50", "MF-1")
	bad := delivery("T-2", "Aprobada", "150000.50", "MF-2")
	// A status no charge may take: the charges table refuses it, in the
	// merged run and alone.
	s.write.Exec(`CREATE TRIGGER refuse BEFORE UPDATE OF status ON charges WHEN NEW.status = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END`)
	refuse := func(ChargeState) Decision {
		return Decision{Outcome: models.OutcomeApplied, NewStatus: "refused"}
	}
	goodJob, goodWork, goodResult := s.settleJob(good, decideForTest(good, at))
	badJob, badWork, _ := s.settleJob(bad, refuse)
	errs := s.engine.CommitBatch([]*sqliteengine.Job{goodJob, badJob})
	if err := errs[0]; err != nil {
		t.Fatalf("the good delivery failed with the bad one: %v", err)
	}
	if err := errs[1]; err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("bad delivery: err %v, want the trigger's refusal", err)
	}
	if goodWork.merged || badWork.merged {
		t.Error("a delivery is marked merged after the merged run failed")
	}
	if r := goodResult(); r.Outcome != models.OutcomeApplied || r.WritebackID == 0 {
		t.Errorf("good delivery: %+v", r)
	}
	var events, status string
	s.write.Raw(`SELECT group_concat(transaction_id) FROM webhook_events`).Scan(&events)
	s.write.Raw(`SELECT group_concat(ref_payment || '=' || status) FROM charges ORDER BY ref_payment`).Scan(&status)
	if events != "T-1" || status != "MF-1=paid,MF-2=sent" {
		t.Errorf("stored events %q, charges %q; want only T-1's, MF-1 paid", events, status)
	}
}

// dumpTable is every row of table in id order, as text.
func dumpTable(t *testing.T, s *Store, table string) string {
	t.Helper()
	return dumpRows(t, s, `SELECT * FROM `+table+` ORDER BY id`)
}

// dumpRows is what query returns, a line per row of column=value pairs.
func dumpRows(t *testing.T, s *Store, query string) string {
	t.Helper()
	rows, err := s.write.Raw(query).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%v ", cols[i], v)
		}
		b.WriteString("\n")
	}
	return b.String()
}
