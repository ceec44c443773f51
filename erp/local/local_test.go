package local_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/local"
	"recauda-bridge/models"
	"recauda-bridge/store"
)

var _ local.LedgerStore = (*store.Store)(nil)

// fakeLedger is a LedgerStore whose behaviour is function fields.
type fakeLedger struct {
	pending func(ctx context.Context, id string) ([]erp.Charge, error)
	record  func(ctx context.Context, p erp.Payment) (bool, error)
	reverse func(ctx context.Context, r erp.Reversal) (bool, error)
	ping    func(ctx context.Context) error
}

func (f *fakeLedger) LedgerPending(ctx context.Context, id string) ([]erp.Charge, error) {
	return f.pending(ctx, id)
}

func (f *fakeLedger) LedgerRecordPayment(ctx context.Context, p erp.Payment) (bool, error) {
	return f.record(ctx, p)
}
func (f *fakeLedger) LedgerRecordReversal(ctx context.Context, r erp.Reversal) (bool, error) {
	return f.reverse(ctx, r)
}
func (f *fakeLedger) Ping(ctx context.Context) error { return f.ping(ctx) }

var errDB = errors.New("database is locked")

func TestErrorsMapToERPSentinels(t *testing.T) {
	failing := local.New(&fakeLedger{
		pending: func(context.Context, string) ([]erp.Charge, error) { return nil, errDB },
		record:  func(context.Context, erp.Payment) (bool, error) { return false, errDB },
		reverse: func(context.Context, erp.Reversal) (bool, error) { return false, errDB },
		ping:    func(context.Context) error { return errDB },
	})
	ctx := context.Background()
	pay := erp.Payment{RefPayment: "L-1", TransactionID: "T1"}
	if _, err := failing.PendingCharges(ctx, "1032456789"); !errors.Is(err, erp.ErrUnavailable) || !errors.Is(err, errDB) {
		t.Errorf("PendingCharges: got %v, want ErrUnavailable wrapping the cause", err)
	}
	if err := failing.RecordPayment(ctx, pay); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("RecordPayment: got %v, want ErrUnavailable", err)
	}
	if err := failing.RecordReversal(ctx, erp.Reversal{RefPayment: "L-1", TransactionID: "T1"}); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("RecordReversal: got %v, want ErrUnavailable", err)
	}
	if err := failing.Check(ctx); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("Check: got %v, want ErrUnavailable", err)
	}

	unknown := local.New(&fakeLedger{
		pending: func(context.Context, string) ([]erp.Charge, error) { return nil, nil },
		record:  func(context.Context, erp.Payment) (bool, error) { return false, nil },
		reverse: func(context.Context, erp.Reversal) (bool, error) { return false, nil },
		ping:    func(context.Context) error { return nil },
	})
	if got, err := unknown.PendingCharges(ctx, "1032456789"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("no charges: got %#v %v, want an empty slice", got, err)
	}
	if err := unknown.RecordPayment(ctx, pay); !errors.Is(err, erp.ErrNotFound) || errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("unknown ref: got %v, want ErrNotFound only", err)
	}
	if err := unknown.RecordPayment(ctx, erp.Payment{RefPayment: "L-1"}); err == nil || errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("no transaction id: got %v, want a non-retryable error", err)
	}
	if err := unknown.RecordReversal(ctx, erp.Reversal{RefPayment: "L-1", TransactionID: "T1"}); !errors.Is(err, erp.ErrNotFound) || errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("reversal of an unknown ref: got %v, want ErrNotFound only", err)
	}
	if err := unknown.Check(ctx); err != nil {
		t.Errorf("Check: got %v, want nil", err)
	}
}

func TestLedgerLoop(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC) }
	st, err := store.Open(ctx, models.DialectSQLite, filepath.Join(t.TempDir(), "ledger.db"), store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	src := local.New(st)
	c := erp.Charge{RefPayment: "L-1", IDNumber: "1032456789", PayerName: "Ana María Gómez", Description: "Matrícula 2027",
		Amount: decimal.RequireFromString("3450000"), Currency: "COP", LimitDate: "2027-01-31",
		Advance: &erp.Advance{Type: models.AdvanceMinimumPercent, Value: decimal.RequireFromString("30")}}
	if _, err := st.CreateLedgerCharge(ctx, c); err != nil {
		t.Fatal(err)
	}

	reverse := func(tx, amount string) *erp.Reversal {
		return &erp.Reversal{RefPayment: "L-1", IDNumber: "1032456789", Amount: decimal.RequireFromString(amount),
			Currency: "COP", TransactionID: tx, ReversedAt: now()}
	}
	steps := []struct {
		name     string
		payment  *erp.Payment
		reversal *erp.Reversal
		want     []string // "ref amount" offered after the step
	}{
		{"unpaid: the whole amount", nil, nil, []string{"L-1 3450000"}},
		{"advance: the balance", &erp.Payment{RefPayment: "L-1", Amount: decimal.RequireFromString("1035000"), Currency: "COP",
			TransactionID: "T1", Status: models.StatusPartiallyPaid}, nil, []string{"L-1 2415000"}},
		{"advance again: idempotent", &erp.Payment{RefPayment: "L-1", Amount: decimal.RequireFromString("1035000"), Currency: "COP",
			TransactionID: "T1", Status: models.StatusPartiallyPaid}, nil, []string{"L-1 2415000"}},
		{"balance: nothing", &erp.Payment{RefPayment: "L-1", Amount: decimal.RequireFromString("2415000"), Currency: "COP",
			TransactionID: "T2", Status: models.StatusPaid}, nil, nil},
		{"reversal of a payment never recorded: nothing", nil, reverse("T9", "2415000"), nil},
		{"balance reversed: offered again", nil, reverse("T2", "2415000"), []string{"L-1 2415000"}},
		{"balance reversed again: idempotent", nil, reverse("T2", "2415000"), []string{"L-1 2415000"}},
		{"balance paid again (a replay): stays reversed", &erp.Payment{RefPayment: "L-1", Amount: decimal.RequireFromString("2415000"),
			Currency: "COP", TransactionID: "T2", Status: models.StatusPaid}, nil, []string{"L-1 2415000"}},
		{"advance reversed: the whole amount", nil, reverse("T1", "1035000"), []string{"L-1 3450000"}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if step.payment != nil {
				if err := src.RecordPayment(ctx, *step.payment); err != nil {
					t.Fatal(err)
				}
			}
			if step.reversal != nil {
				if err := src.RecordReversal(ctx, *step.reversal); err != nil {
					t.Fatal(err)
				}
			}
			charges, err := src.PendingCharges(ctx, "1032456789")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range charges {
				got = append(got, c.RefPayment+" "+c.Amount.String())
			}
			if len(got) != len(step.want) || (len(got) > 0 && got[0] != step.want[0]) {
				t.Errorf("got %v, want %v", got, step.want)
			}
		})
	}
	if err := src.Check(ctx); err != nil {
		t.Errorf("Check: got %v, want nil", err)
	}
}
