package validation_test

import (
	"testing"
	"time"

	"recauda-bridge/validation"
)

func BenchmarkPaymentValid(b *testing.B) {
	p := &loadExample(b)[0]
	v := validation.New(func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) })
	if got := v.Payment(p); got != nil {
		b.Fatalf("got %v, want a valid item", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		v.Payment(p)
	}
}

func BenchmarkPaymentInvalid(b *testing.B) {
	p := invalidPayment()
	v := validation.New(func() time.Time { return bogotaEvening })
	if got := len(v.Payment(p)); got != 10 {
		b.Fatalf("got %d violations, want 10", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		v.Payment(p)
	}
}
