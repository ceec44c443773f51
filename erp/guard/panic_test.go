package guard

import (
	"context"
	"errors"
	"testing"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
)

func TestPanickingSourceIsUnavailable(t *testing.T) {
	g := New(&erptest.Source{PendingChargesFunc: func(context.Context, string) ([]erp.Charge, error) {
		panic("adapter bug")
	}}, Options{})
	_, err := g.PendingCharges(context.Background(), "12345678")
	if !errors.Is(err, erp.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}
