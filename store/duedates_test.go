package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

// Charges sent before the due and limit dates had columns get them from
// the item they were sent: until then the two were the same.
func TestMigrationFillsDueAndLimitDates(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := db.openEmpty(t, Options{})
		all := migrations
		migrations = migrations[:slices.IndexFunc(migrations, func(m migration) bool { return m.name == dueDatesMigration })]
		_, err := s.Migrate(ctx)
		migrations = all
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
		for _, row := range []struct{ ref, payload string }{
			{"WITH", `{"recauda_information":{"ref_payment":"WITH"},"advanced_options":{"limit_date":"2026-12-04","has_comments":false}}`},
			{"WITHOUT", `{"recauda_information":{"ref_payment":"WITHOUT"},"advanced_options":{"has_comments":false}}`},
			{"NULL-OPTIONS", `{"recauda_information":{"ref_payment":"NULL-OPTIONS"},"advanced_options":null}`},
			{"EMPTY", ``},
		} {
			if err := s.write.Exec(`INSERT INTO charges (ref_payment, id_number, amount, currency_type, status, payload, send_count, created_at, updated_at)
				VALUES (?, '12345678', '1000', 'COP', 'sent', ?, 1, ?, ?)`, row.ref, row.payload, now, now).Error; err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"WITH": "2026-12-04", "WITHOUT": "", "NULL-OPTIONS": "", "EMPTY": ""}
		rows, err := s.read.Raw(`SELECT ref_payment, due_date, limit_date FROM charges`).Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var ref, due, limit string
			if err := rows.Scan(&ref, &due, &limit); err != nil {
				t.Fatal(err)
			}
			if due != want[ref] || limit != want[ref] {
				t.Fatalf("%s: got due %q, limit %q, want both %q", ref, due, limit, want[ref])
			}
			n++
		}
		if n != len(want) {
			t.Fatalf("got %d rows, want %d", n, len(want))
		}
	})
}

// A claim records the ERP's due date and the limit date sent, and a
// re-offer replaces them; Tracked reads the limit date back.
func TestClaimRecordsDueAndLimitDates(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		o := offer("D1", "12345678")
		o.DueDate, o.LimitDate = "2026-12-04", "2026-12-08"
		o.Note = "overdue since 2026-12-04, sent with limit date 2026-12-08 (OVERDUE_POLICY=extend:3d)"
		if _, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{o}, ResendAfter: time.Hour}); err != nil {
			t.Fatal(err)
		}
		tr, err := s.Tracked(ctx, []string{"D1"})
		if err != nil || tr["D1"].LimitDate != "2026-12-08" {
			t.Fatalf("tracked = %+v (%v), want limit date 2026-12-08", tr["D1"], err)
		}
		clk.add(time.Hour)
		o.LimitDate = ""
		if c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{o}, ResendAfter: time.Hour}); err != nil || len(c.Refs) != 1 {
			t.Fatalf("re-offer won %v (%v), want D1", c.Refs, err)
		}
		var due, limit string
		if err := s.read.Raw(`SELECT due_date, limit_date FROM charges WHERE ref_payment = 'D1'`).Row().Scan(&due, &limit); err != nil {
			t.Fatal(err)
		}
		if due != "2026-12-04" || limit != "" {
			t.Fatalf("got due %q, limit %q, want 2026-12-04 and none", due, limit)
		}
		// The timeline says what the lookup changed, with the send.
		var details []string
		if err := s.read.Raw(`SELECT e.detail FROM charge_events e JOIN charges c ON c.id = e.charge_id
			WHERE c.ref_payment = 'D1' ORDER BY e.id`).Scan(&details).Error; err != nil {
			t.Fatal(err)
		}
		want := []string{"send #1: overdue since 2026-12-04, sent with limit date 2026-12-08 (OVERDUE_POLICY=extend:3d)", "send #2: " + o.Note}
		if !slices.Equal(details, want) {
			t.Fatalf("timeline = %q, want %q", details, want)
		}
	})
}
