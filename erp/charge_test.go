package erp

import (
	"reflect"
	"testing"

	"github.com/shopspring/decimal"
)

// TestCloneSharesNothing fills every field and checks that no slice or
// pointer of the clone is the original's, so a field added later without
// its line in Clone fails here.
func TestCloneSharesNothing(t *testing.T) {
	yes := true
	c := Charge{
		RefPayment: "F-1", Amount: decimal.NewFromInt(100),
		Advance:                &Advance{Type: "minimum_value", Value: decimal.NewFromInt(10)},
		References:             []string{"R-1"},
		RequestAddressDelivery: &yes,
		Discount:               &Discount{BeforeOn: "2030-01-01", Type: "percent", Value: decimal.NewFromInt(5)},
		Delivery:               &Delivery{Type: "paid", Value: decimal.NewFromInt(3)},
		SelectedTaxes:          []int64{1},
		Metadata:               []byte(`{"a":1}`),
		Defects:                []Defect{{Field: "f", Message: "m"}},
	}
	clone := c.Clone()
	if !reflect.DeepEqual(clone, c) {
		t.Fatalf("clone %+v differs from %+v", clone, c)
	}
	orig, cl := reflect.ValueOf(c), reflect.ValueOf(clone)
	for i := 0; i < orig.NumField(); i++ {
		f := orig.Type().Field(i)
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice:
			if orig.Field(i).IsNil() {
				t.Errorf("%s: the test leaves it nil; fill it", f.Name)
				continue
			}
			if orig.Field(i).Pointer() == cl.Field(i).Pointer() {
				t.Errorf("%s: the clone shares it with the original", f.Name)
			}
		}
	}
	clone.References[0] = "changed"
	clone.Advance.Type = "changed"
	if c.References[0] != "R-1" || c.Advance.Type != "minimum_value" {
		t.Errorf("changing the clone changed the original: %+v", c)
	}
	if (Charge{}).Clone().References != nil {
		t.Error("a nil slice should stay nil")
	}
}
