package handlers_test

import (
	"testing"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/handlers"
	"recauda-bridge/recauda"
)

// setLocal runs the test as on a machine whose time zone is loc: "today"
// must still be Bogota's.
func setLocal(t *testing.T, loc *time.Location) {
	t.Helper()
	old := time.Local
	time.Local = loc
	t.Cleanup(func() { time.Local = old })
}

// A charge due on 4 Dec is due, not overdue, until 00:00 of 5 Dec in
// Bogota, whatever the machine's zone.
func TestOverdueAtMidnightInBogota(t *testing.T) {
	setLocal(t, time.FixedZone("UTC+14", 14*3600))
	tests := []struct {
		name      string
		now       time.Time
		policy    config.OverduePolicy
		wantSent  bool
		wantLimit string
	}{
		{"23:59:59 on the due date", time.Date(2026, 12, 5, 4, 59, 59, 0, time.UTC), config.OverduePolicy{}, true, "2026-12-04"},
		{"00:00 the day after, offer", time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC), config.OverduePolicy{}, true, ""},
		{"00:00 the day after, extend", time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC),
			config.OverduePolicy{Mode: config.OverdueExtend, ExtendDays: 3}, true, "2026-12-08"},
		{"23:59:59 on the due date, hold", time.Date(2026, 12, 5, 4, 59, 59, 0, time.UTC),
			config.OverduePolicy{Mode: config.OverdueHold}, true, "2026-12-04"},
		{"00:00 the day after, hold", time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC), config.OverduePolicy{Mode: config.OverdueHold}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := charge("FAC-NOV", "12345678")
			c.LimitDate = "2026-12-04"
			src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": {c}})}
			s := newStackAt(t, src, func() time.Time { return tc.now.In(time.Local) }, func(cfg *recauda.Config, _ *handlers.Deps) {
				cfg.OverduePolicy = tc.policy
			})
			resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
			if !tc.wantSent {
				if len(resp.Payments) != 0 {
					t.Fatalf("got %d payments, want the charge held back", len(resp.Payments))
				}
				if n := s.count(t, `SELECT COUNT(*) FROM held_back WHERE ref_payment = 'FAC-NOV' AND violations LIKE '%not_before_today%'`); n != 1 {
					t.Fatalf("held-back records = %d, want 1 with not_before_today", n)
				}
				return
			}
			if len(resp.Payments) != 1 {
				t.Fatalf("got %d payments, want 1", len(resp.Payments))
			}
			if got := resp.Payments[0].AdvancedOptions.LimitDate; got != tc.wantLimit {
				t.Fatalf("limit_date = %q, want %q", got, tc.wantLimit)
			}
		})
	}
}
