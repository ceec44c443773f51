package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"recauda-bridge/models"
)

// TestSettleWritesAlikeOnEachDialect settles the same deliveries, one by
// one, on SQLite and on PostgreSQL (which settle through different code: the
// committer's statements, and one transaction of its own per webhook) and
// compares every row they leave in the four tables a settle writes, and
// every result. Job ids may differ (a PostgreSQL sequence also advances on
// a conflict), so each write-back line is checked against its own job and
// compared with the id left out.
func TestSettleWritesAlikeOnEachDialect(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	deliveries := []WebhookDelivery{
		delivery("T-1", "Aprobada", "150000.50", "D-1"),                                 // paid, write-back queued
		delivery("T-1", "Aprobada", "150000.50", "D-1"),                                 // the same again: a duplicate
		delivery("T-2", "Rechazada", "150000.50", "D-2"),                                // due again
		delivery("T-3", "Aprobada", "99", "D-3"),                                        // flagged
		delivery("T-4", "Aprobada", "150000.50", "NOPE", "D-4"),                         // its write-back is queued already
		delivery("T-5", "Aprobada", "150000.50", "NOPE"),                                // unmatched
		delivery("T-6", "Aprobada", "150000.50", "D-5", "D-6"),                          // ambiguous
		delivery("T-7", "Aprobada", "150000.50", "D-2"),                                 // paid after the rejection
		{Body: []byte(`{}`), TransactionID: "T-8", Status: "Aprobada", Currency: "COP"}, // no reference
		delivery("T-9", "Aprobada", "150000.50", "D-7"),                                 // D-7 is not tracked yet: unmatched
		// Bytes no PostgreSQL text holds: kept exactly all the same.
		withBody(delivery("T-10", "Aprobada", "150000.50", "D-8"), "{\"name\":\"Jos\xe9\"}"),
		{Body: []byte("{\"a\":\x00\xff}"), ParseError: "efipay: unparseable webhook: invalid character '\x00' \xff"},
	}
	// After D-7 is claimed.
	later := []WebhookDelivery{
		delivery("T-9", "Aprobada", "150000.50", "D-7"), // replayed: a duplicate, not applied
		delivery("T-3", "Aprobada", "150000.50", "D-6"), // stored before for D-3: a duplicate
		delivery("T-9", "Rechazada", "150000.50", "D-7"),
	}
	var dumps []string
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := db.open(t, newClock(at))
		var offers []Offer
		for _, i := range []int{1, 2, 3, 4, 5, 6, 8} {
			offers = append(offers, offer(fmt.Sprintf("D-%d", i), "55555555"))
		}
		if _, err := s.Claim(ctx, ClaimRequest{Offers: offers}); err != nil {
			t.Fatal(err)
		}
		if err := s.write.Exec(`INSERT INTO writebacks (charge_id, ref_payment, transaction_id, payment, state, next_attempt_at, created_at, updated_at)
			SELECT id, ref_payment, 'T-4', '{}', 'pending', updated_at, updated_at, updated_at FROM charges WHERE ref_payment = 'D-4'`).Error; err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		settle := func(ds []WebhookDelivery) {
			for _, d := range ds {
				res, err := s.Settle(ctx, d, decideForTest(d, at))
				if err != nil {
					t.Fatalf("%s: %v", d.TransactionID, err)
				}
				fmt.Fprintf(&b, "result %s: %s %q ref=%s event=%t job=%t\n", d.TransactionID, res.Outcome, res.Detail, res.RefPayment,
					res.EventID != 0, res.WritebackID != 0)
			}
		}
		settle(deliveries)
		if _, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("D-7", "55555555")}}); err != nil {
			t.Fatal(err)
		}
		settle(later)
		// Job ids may differ between the dialects: left out.
		jobID := regexp.MustCompile(`write-back #\d+ `)
		dump := func(query string) { b.WriteString(jobID.ReplaceAllString(dumpRows(t, s, query), "write-back #N ")) }
		dump(`SELECT ref_payment, status, paid_amount, transaction_id, CASE WHEN paid_at IS NULL THEN 1 ELSE 0 END AS unpaid,
			CASE WHEN offer_after IS NULL THEN 1 ELSE 0 END AS not_due,
			send_count FROM charges ORDER BY ref_payment`)
		dump(`SELECT c.ref_payment, e.kind, e.from_status, e.to_status, e.detail FROM charge_events e JOIN charges c ON c.id = e.charge_id
			ORDER BY e.id`)
		dump(`SELECT w.ref_payment, w.transaction_id, w.payment, w.state FROM writebacks w ORDER BY w.id`)
		dump(`SELECT transaction_id, status, amount, outcome, detail, ref_payment, CASE WHEN charge_id IS NULL THEN 1 ELSE 0 END AS no_charge, body,
			body_raw FROM webhook_events ORDER BY id`)
		var raws [][]byte
		if err := s.read.Raw(`SELECT body_raw FROM webhook_events WHERE body_raw IS NOT NULL ORDER BY id`).Scan(&raws).Error; err != nil {
			t.Fatal(err)
		}
		if len(raws) != 2 || string(raws[0]) != "{\"name\":\"Jos\xe9\"}" || string(raws[1]) != "{\"a\":\x00\xff}" {
			t.Errorf("raw bodies: got %q, want the two bodies no text holds, exactly", raws)
		}
		dumps = append(dumps, b.String())

		// Each write-back line names its own job.
		var lines []struct {
			Detail string
			Job    int64
		}
		if err := s.read.Raw(`SELECT e.detail, w.id AS job FROM charge_events e JOIN charges c ON c.id = e.charge_id
			JOIN writebacks w ON w.charge_id = c.id WHERE e.kind = 'writeback_enqueued' ORDER BY e.id`).Scan(&lines).Error; err != nil {
			t.Fatal(err)
		}
		if len(lines) != 3 {
			t.Fatalf("write-back lines %+v, want 3 (T-1, T-7 and T-10)", lines)
		}
		for _, l := range lines {
			tx := l.Detail[strings.LastIndexByte(l.Detail, ' ')+1:]
			if want := writebackLine(l.Job, tx, models.WritebackPayment); l.Detail != want {
				t.Errorf("timeline says %q, want %q", l.Detail, want)
			}
		}
		for _, want := range []string{
			"result T-1: " + models.OutcomeApplied,
			"result T-9: " + models.OutcomeUnmatched,
			"result T-9: " + models.OutcomeDuplicate,
			"result T-3: " + models.OutcomeDuplicate,
			"result T-10: " + models.OutcomeApplied,
			"result : " + models.OutcomeUnparseable,
			// The replay applied nothing; the rejection after it did.
			"ref_payment=D-7 kind=webhook from_status=sent to_status=failed",
		} {
			if !strings.Contains(b.String(), want) {
				t.Fatalf("no %q in:\n%s", want, b.String())
			}
		}
		if strings.Contains(b.String(), "ref_payment=D-7 kind=webhook from_status=sent to_status=paid") {
			t.Fatalf("the replayed T-9 paid D-7:\n%s", b.String())
		}
	})
	if len(dumps) == 2 && dumps[0] != dumps[1] {
		t.Errorf("the dialects differ:\n%s:\n%s\n%s:\n%s", testDBs[0].name, dumps[0], testDBs[1].name, dumps[1])
	}
}

// withBody is d with body as its raw body.
func withBody(d WebhookDelivery, body string) WebhookDelivery {
	d.Body = []byte(body)
	return d
}
