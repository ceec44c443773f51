package store

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"recauda-bridge/models"
)

// What the operator dashboard's overview reads: charges counted by state
// with the amounts collected, the held-back records, and the activity of
// each day. Amounts are never summed in SQL: SQLite keeps them as text and
// would sum them as floating point. The charges are grouped by state,
// currency and paid amount instead, and the caller multiplies and adds the
// few groups exactly.

// ChargeGroup is how many charges share a state, a currency and a
// collected amount.
type ChargeGroup struct {
	Status   string
	Currency string
	// Collected is the paid amount of each charge of the group when the
	// group is paid or partially paid; zero in any other state (a reversed
	// payment collected nothing).
	Collected decimal.Decimal
	Count     int64
}

// DayActivity is what happened on one calendar day in Colombia.
type DayActivity struct {
	// Day is the date in America/Bogota, YYYY-MM-DD.
	Day string
	// Sent counts charges offered that day (first sends and re-sends).
	Sent int64
	// Paid counts webhooks that turned a charge paid or partially paid.
	Paid int64
}

// Overview is what the dashboard's first page shows.
type Overview struct {
	// Groups cover every charge, in no particular order.
	Groups []ChargeGroup
	// HeldBack counts the records held back now.
	HeldBack int64
	// NeedsOperator counts the write-back jobs waiting for the operator.
	NeedsOperator int64
	// Days are the days since the cut-off that had activity, oldest first;
	// days without activity are absent.
	Days []DayActivity
}

// dayExpr is the date in Colombia (UTC-5, no daylight saving time since
// 1993) of the UTC time in column created_at, as text YYYY-MM-DD. SQLite
// rounds fractional seconds to milliseconds first, so an event in the last
// half millisecond of a day counts on the next one.
var dayExpr = map[string]string{
	models.DialectSQLite:   `date(created_at, '-5 hours')`,
	models.DialectPostgres: `to_char((created_at AT TIME ZONE 'UTC') - INTERVAL '5 hours', 'YYYY-MM-DD')`,
}

// DashboardOverview reads the overview in one read transaction, so that its
// parts agree: charges grouped by state, currency and collected amount (one
// grouped query), the count of held-back records, and the activity per day
// since the instant since (one grouped query over the timeline).
//
// The timeline query walks the primary key backwards to the last event
// before since and reads only what follows it, so its cost is that of the
// period shown, not of the whole history. Events are written in time order
// (one writer on SQLite; on PostgreSQL replicas' clocks and commit order may
// differ by moments, which can move an event sitting on the cut-off).
func (s *Store) DashboardOverview(ctx context.Context, since time.Time) (Overview, error) {
	const op = "store: dashboard overview"
	paid := []string{models.StatusPaid, models.StatusPartiallyPaid}
	var o Overview
	err := s.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var groups []struct {
			Status    string
			Currency  string
			Collected decimal.Decimal
			Count     int64
		}
		if err := tx.Raw(`SELECT status, currency_type AS currency,
				CASE WHEN status IN ? THEN paid_amount ELSE '0' END AS collected, COUNT(*) AS count
			FROM charges GROUP BY 1, 2, 3`, paid).Scan(&groups).Error; err != nil {
			return err
		}
		o.Groups = make([]ChargeGroup, len(groups))
		for i, g := range groups {
			o.Groups[i] = ChargeGroup{Status: g.Status, Currency: g.Currency, Collected: g.Collected, Count: g.Count}
		}
		if err := tx.Model(&models.HeldBackRow{}).Count(&o.HeldBack).Error; err != nil {
			return err
		}
		if err := tx.Model(&models.WritebackRow{}).Where("state = ?", models.WritebackNeedsOperator).
			Count(&o.NeedsOperator).Error; err != nil {
			return err
		}
		since := since.UTC()
		o.Days = []DayActivity{}
		return tx.Raw(`SELECT `+dayExpr[s.dialect]+` AS day,
				SUM(CASE WHEN kind IN ('sent', 'resent') THEN 1 ELSE 0 END) AS sent,
				SUM(CASE WHEN kind = 'webhook' THEN 1 ELSE 0 END) AS paid
			FROM charge_events
			WHERE id > COALESCE((SELECT id FROM charge_events WHERE created_at < ? ORDER BY id DESC LIMIT 1), 0)
				AND created_at >= ?
				AND (kind IN ('sent', 'resent')
					OR kind = 'webhook' AND to_status IN ? AND from_status NOT IN ?)
			GROUP BY 1 ORDER BY 1`, since, since, paid, paid).Scan(&o.Days).Error
	})
	if err != nil {
		return Overview{}, translate(op, err)
	}
	return o, nil
}
