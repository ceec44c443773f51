package recauda

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
	"recauda-bridge/store"
)

// OverviewDays is how many days the overview's activity series covers,
// today included.
const OverviewDays = 30

// Overview is the operator dashboard's summary: charges by state, held-back
// records, the money collected and the activity of the last OverviewDays days.
type Overview struct {
	// ByStatus counts charges per state; every state is present.
	ByStatus map[string]int64
	// Offered counts every charge ever offered (all tracked charges).
	Offered int64
	// HeldBack counts the records held back now.
	HeldBack int64
	// NeedsOperator counts the write-back jobs the ERP source cannot
	// deliver (a reversal it cannot record), waiting for the operator.
	NeedsOperator int64
	// Collected is the money collected per currency (paid and partially paid
	// charges), summed exactly, sorted by currency; only currencies with
	// charges in those states appear.
	Collected []CurrencyAmount
	// Days are the last OverviewDays days in Colombia, oldest first, today
	// last, every day present (zero when nothing happened).
	Days []DayCount
}

// CurrencyAmount is an exact amount of one currency.
type CurrencyAmount struct {
	Currency string
	Amount   decimal.Decimal
}

// DayCount is the activity of one day.
type DayCount struct {
	// Day is midnight of the day in America/Bogota.
	Day time.Time
	// Sent counts charges offered that day; Paid the charges that became
	// paid or partially paid that day.
	Sent, Paid int64
}

// Overview returns the dashboard's summary as of now.
func (s *Service) Overview(ctx context.Context) (Overview, error) {
	y, m, d := s.now().In(models.Bogota).Date()
	first := time.Date(y, m, d-(OverviewDays-1), 0, 0, 0, 0, models.Bogota)
	o, err := s.store.DashboardOverview(ctx, first)
	if err != nil {
		return Overview{}, fmt.Errorf("recauda: overview: %w", err)
	}
	return newOverview(o, first), nil
}

// newOverview folds the store's groups into counts and exact sums, and lays
// the active days out on the OverviewDays days from first.
func newOverview(o store.Overview, first time.Time) Overview {
	out := Overview{ByStatus: make(map[string]int64, len(models.Statuses)), HeldBack: o.HeldBack, NeedsOperator: o.NeedsOperator}
	for _, st := range models.Statuses {
		out.ByStatus[st] = 0
	}
	collected := map[string]decimal.Decimal{}
	for _, g := range o.Groups {
		out.ByStatus[g.Status] += g.Count
		out.Offered += g.Count
		if g.Status == models.StatusPaid || g.Status == models.StatusPartiallyPaid {
			collected[g.Currency] = collected[g.Currency].Add(g.Collected.Mul(decimal.NewFromInt(g.Count)))
		}
	}
	for cur, amount := range collected {
		out.Collected = append(out.Collected, CurrencyAmount{Currency: cur, Amount: amount})
	}
	slices.SortFunc(out.Collected, func(a, b CurrencyAmount) int { return strings.Compare(a.Currency, b.Currency) })

	active := make(map[string]store.DayActivity, len(o.Days))
	for _, d := range o.Days {
		active[d.Day] = d
	}
	out.Days = make([]DayCount, OverviewDays)
	for i := range out.Days {
		day := first.AddDate(0, 0, i)
		a := active[day.Format(time.DateOnly)]
		out.Days[i] = DayCount{Day: day, Sent: a.Sent, Paid: a.Paid}
	}
	return out
}
