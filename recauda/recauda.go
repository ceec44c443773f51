// Package recauda holds recauda-bridge's use cases, the one place handlers
// and commands call: Offer (ERP -> map -> validate -> claim -> answer, with
// Release when the answer is not delivered) and, with the payment side,
// Settle.
package recauda

import (
	"errors"
	"log/slog"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// Errors of the use cases; handlers map them to statuses.
var (
	// ErrInvalidIDNumber means the ID number asked for is not 5 to 20 ASCII digits.
	ErrInvalidIDNumber = errors.New("invalid id_number")
)

// Config is what the use cases need to know of the configuration.
type Config struct {
	// ResendAfter is how long until an unpaid charge already sent is offered
	// again; 0 means never (until an operator releases it).
	ResendAfter time.Duration
	// WebhookURL, when set, goes into every item's result_urls.webhook.
	WebhookURL string
	// OverduePolicy is what a lookup does with an overdue charge; the zero
	// value is offer.
	OverduePolicy config.OverduePolicy
	// TestMode accepts Efipay's test payments (production=false) as real.
	TestMode bool
}

// Service runs the use cases. It is safe for concurrent use.
type Service struct {
	source    erp.Source
	store     *store.Store
	validator *validation.Validator
	cfg       Config
	now       func() time.Time
	log       *slog.Logger
	// canRecord says whether paid charges get a write-back job.
	canRecord   bool
	onWriteback func()
}

// New wires a Service. source must be wrapped in erp/guard, which bounds
// each lookup by the ERP timeout and survives a panicking adapter: the
// Service calls it directly.
func New(source erp.Source, st *store.Store, v *validation.Validator, cfg Config, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{source: source, store: st, validator: v, cfg: cfg, now: now, log: log, canRecord: erp.CanRecord(source)}
}

// ValidateIDNumber accepts 5 to 20 ASCII digits and nothing else.
func ValidateIDNumber(id string) error {
	if len(id) < 5 || len(id) > 20 {
		return ErrInvalidIDNumber
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return ErrInvalidIDNumber
		}
	}
	return nil
}
