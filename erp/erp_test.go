package erp

import (
	"context"
	"testing"
)

type source struct{}

func (source) PendingCharges(context.Context, string) ([]Charge, error) { return nil, nil }

type recorder struct{ source }

func (recorder) RecordPayment(context.Context, Payment) error { return nil }

type reverser struct{ recorder }

func (reverser) RecordReversal(context.Context, Reversal) error { return nil }

// switched is a recorder and reverser configured with or without each.
type switched struct {
	reverser
	record, reverse bool
}

func (s switched) CanRecord() bool  { return s.record }
func (s switched) CanReverse() bool { return s.reverse }

func TestCanRecordAndCanReverse(t *testing.T) {
	tests := []struct {
		name                   string
		src                    any
		wantRecord, wantRevert bool
	}{
		{"lookups only", source{}, false, false},
		{"records", recorder{}, true, false},
		{"records and reverses", reverser{}, true, true},
		{"configured for both", switched{record: true, reverse: true}, true, true},
		{"configured without reversals", switched{record: true}, true, false},
		{"configured without write-back", switched{}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanRecord(tt.src); got != tt.wantRecord {
				t.Errorf("CanRecord: got %v, want %v", got, tt.wantRecord)
			}
			if got := CanReverse(tt.src); got != tt.wantRevert {
				t.Errorf("CanReverse: got %v, want %v", got, tt.wantRevert)
			}
		})
	}
}
