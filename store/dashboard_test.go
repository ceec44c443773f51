package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"recauda-bridge/models"
)

func TestDashboardOverview(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC) // 10:00 in Bogotá
		s := db.open(t, newClock(now))
		ctx := context.Background()
		// The window starts at midnight of 24 Oct in Bogotá.
		since := time.Date(2026, 10, 24, 5, 0, 0, 0, time.UTC)

		charges := []struct {
			ref, status, currency, paid string
		}{
			{"P1", models.StatusPaid, "COP", "0.10"},
			{"P2", models.StatusPaid, "COP", "0.2"},
			{"P3", models.StatusPaid, "COP", "0.10"},
			{"PP", models.StatusPartiallyPaid, "COP", "50000.05"},
			{"U1", models.StatusPaid, "USD", "149.99"},
			{"S1", models.StatusSent, "COP", "0"},
			{"R1", models.StatusReversed, "COP", "0"},
			{"F1", models.StatusFailed, "COP", "0"},
			{"I1", models.StatusInactive, "COP", "0"},
			{"IP", models.StatusInProgress, "USD", "0"},
		}
		ids := map[string]int64{}
		events := []struct {
			ref, kind, from, to string
			at                  time.Time
		}{
			{"S1", "sent", "", "", since.Add(-time.Second)},                                     // before the window
			{"S1", "sent", "", "", since},                                                       // 24 Oct
			{"P1", "resent", "", "", time.Date(2026, 11, 22, 4, 59, 59, 500_000_000, time.UTC)}, // 21 Nov in Bogotá
			{"P1", "sent", "", "", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)},               // 22 Nov in Bogotá
			{"P1", "webhook", "sent", "paid", now},
			{"P1", "webhook", "paid", "paid", now}, // stale: already paid
			{"PP", "webhook", "in_progress", "partially_paid", now},
			{"F1", "webhook", "sent", "failed", now},
			{"S1", "released", "sent", "sent", now},
		}
		err := s.writeTx(ctx, func(tx *gorm.DB) error {
			for _, c := range charges {
				row := models.ChargeRow{RefPayment: c.ref, IDNumber: "12345678", Amount: decimal.RequireFromString("100000"),
					CurrencyType: c.currency, Status: c.status, PaidAmount: decimal.RequireFromString(c.paid), CreatedAt: now, UpdatedAt: now}
				if err := tx.Create(&row).Error; err != nil {
					return err
				}
				ids[c.ref] = row.ID
			}
			for i, ref := range []string{"H1", "H2"} {
				if err := tx.Create(&models.HeldBackRow{RefPayment: ref, IDNumber: fmt.Sprint(10000 + i), Violations: "[]",
					FirstSeenAt: now, LastSeenAt: now, SeenCount: 1}).Error; err != nil {
					return err
				}
			}
			for _, ev := range events {
				if err := tx.Create(&models.ChargeEventRow{ChargeID: ids[ev.ref], Kind: ev.kind, FromStatus: ev.from, ToStatus: ev.to, CreatedAt: ev.at}).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		o, err := s.DashboardOverview(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		if o.HeldBack != 2 {
			t.Errorf("held back = %d, want 2", o.HeldBack)
		}
		counts := map[string]int64{}
		collected := map[string]decimal.Decimal{}
		for _, g := range o.Groups {
			counts[g.Status] += g.Count
			collected[g.Currency] = collected[g.Currency].Add(g.Collected.Mul(decimal.NewFromInt(g.Count)))
		}
		wantCounts := map[string]int64{models.StatusPaid: 4, models.StatusPartiallyPaid: 1, models.StatusSent: 1,
			models.StatusReversed: 1, models.StatusFailed: 1, models.StatusInactive: 1, models.StatusInProgress: 1}
		for st, n := range wantCounts {
			if counts[st] != n {
				t.Errorf("%s: got %d, want %d", st, counts[st], n)
			}
		}
		for cur, want := range map[string]string{"COP": "50000.45", "USD": "149.99"} {
			if got := collected[cur]; !got.Equal(decimal.RequireFromString(want)) {
				t.Errorf("collected %s = %s, want exactly %s", cur, got, want)
			}
		}
		var days []string
		for _, d := range o.Days {
			days = append(days, fmt.Sprintf("%s sent %d paid %d", d.Day, d.Sent, d.Paid))
		}
		want := []string{"2026-10-24 sent 1 paid 0", "2026-11-21 sent 1 paid 0", "2026-11-22 sent 1 paid 2"}
		if !slices.Equal(days, want) {
			t.Errorf("days:\n got %s\nwant %s", strings.Join(days, "; "), strings.Join(want, "; "))
		}
	})
}

func TestDashboardOverviewEmpty(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t, newClock(time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)))
		o, err := s.DashboardOverview(context.Background(), time.Date(2026, 10, 24, 5, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Groups) != 0 || o.HeldBack != 0 || len(o.Days) != 0 {
			t.Fatalf("empty database: got %+v, want nothing", o)
		}
	})
}
