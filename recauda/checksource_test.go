package recauda

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/erp/guard"
	"recauda-bridge/validation"
)

// checkedSource is erptest.Source with a health check.
type checkedSource struct {
	erptest.Source
	check func(context.Context) error
}

func (s *checkedSource) Check(ctx context.Context) error { return s.check(ctx) }

// lookupOnly has neither write-back nor health check.
type lookupOnly struct{}

func (lookupOnly) PendingCharges(context.Context, string) ([]erp.Charge, error) { return nil, nil }

func TestSourceCheckHealthAndWriteback(t *testing.T) {
	errDown := errors.New("dial tcp: connection refused")
	tests := []struct {
		name                   string
		src                    erp.Source
		wantErr                error
		wantPayments, wantRevs bool
	}{
		{name: "no health check, no write-back", src: lookupOnly{}, wantErr: erp.ErrUnsupported},
		{name: "healthy, records payments", src: &checkedSource{check: func(context.Context) error { return nil }}, wantPayments: true},
		{name: "down", src: &checkedSource{check: func(context.Context) error { return errDown }}, wantErr: errDown, wantPayments: true},
		{name: "given at least minCheckTimeout", src: &checkedSource{check: func(ctx context.Context) error {
			if d, ok := ctx.Deadline(); !ok || time.Until(d) < minCheckTimeout-time.Second {
				return errors.New("deadline shorter than minCheckTimeout")
			}
			return nil
		}}, wantPayments: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := SourceCheck{Source: guard.New(tt.src, guard.Options{}), Timeout: time.Second}
			if _, err := c.Health(t.Context()); !errors.Is(err, tt.wantErr) {
				t.Errorf("Health: got %v, want %v", err, tt.wantErr)
			}
			if p, r := c.Writeback(); p != tt.wantPayments || r != tt.wantRevs {
				t.Errorf("Writeback: got %v, %v; want %v, %v", p, r, tt.wantPayments, tt.wantRevs)
			}
		})
	}
}

func TestSourceCheckSample(t *testing.T) {
	const id = "12345678"
	today := func() time.Time { return assessToday }
	rules := Rules{Validator: validation.New(today), WebhookURL: "https://bridge.example/webhooks/efipay"}
	other := assessCharge("FAC-2", "87654321")
	tests := []struct {
		name         string
		pending      func(context.Context, string) ([]erp.Charge, error)
		wantErr      string
		wantCharges  int
		wantHeldBack int
		wantRules    []string // the rules broken, charge by charge, "" for none
	}{
		{name: "no charges", pending: erptest.Static(nil)},
		{name: "valid and another customer's",
			pending:     erptest.Static(map[string][]erp.Charge{id: {assessCharge("FAC-1", id), other}}),
			wantCharges: 2, wantHeldBack: 1, wantRules: []string{"", RuleIDMismatch}},
		{name: "no answer in time", pending: func(ctx context.Context, _ string) ([]erp.Charge, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, wantErr: "no answer within ERP_TIMEOUT=50ms"},
		{name: "down", pending: func(context.Context, string) ([]erp.Charge, error) {
			return nil, errors.New("connection refused")
		}, wantErr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := guard.New(&erptest.Source{PendingChargesFunc: tt.pending}, guard.Options{CallTimeout: time.Minute})
			c := SourceCheck{Source: src, Timeout: 50 * time.Millisecond, Rules: rules}
			s, err := c.Sample(t.Context(), id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Charges) != tt.wantCharges || len(s.Verdicts) != tt.wantCharges || s.HeldBack != tt.wantHeldBack {
				t.Fatalf("got %d charges, %d verdicts, %d held back; want %d, %d, %d",
					len(s.Charges), len(s.Verdicts), s.HeldBack, tt.wantCharges, tt.wantCharges, tt.wantHeldBack)
			}
			for i, v := range s.Verdicts {
				got := ""
				for _, x := range v.Violations {
					got = x.Rule
				}
				if got != tt.wantRules[i] {
					t.Errorf("charge %d: got rule %q, want %q", i, got, tt.wantRules[i])
				}
			}
		})
	}
}
