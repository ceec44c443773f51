package efipay

import "testing"

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		status string
		want   Outcome
	}{
		{"Aprobada", OutcomeApproved},
		{"APROBADA", OutcomeApproved},
		{"  aprobada\n", OutcomeApproved},
		{"Aprobadá", OutcomeApproved},
		{"Iniciada", OutcomeInProgress},
		{"Pendiente", OutcomeInProgress},
		{"PENDIENTE", OutcomeInProgress},
		{"Por Pagar", OutcomeInProgress},
		{"por  pagar", OutcomeInProgress},
		{"Pending", OutcomeInProgress},
		{"PENDING", OutcomeInProgress},
		{"Reversada", OutcomeReversed},
		{"Reversion Escalada", OutcomeReversed},
		{"Reversión Escalada", OutcomeReversed},
		{"Reversio\u0301n Escalada", OutcomeReversed}, // decomposed accent
		{"REVERSIÓN ESCALADA", OutcomeReversed},
		{"Rechazada", OutcomeFailed},
		{"Fallida", OutcomeFailed},
		{"Cancelada", OutcomeFailed},
		{"", OutcomeFailed},
		{"Aprobada parcialmente", OutcomeFailed},
		{"\xff\xfe", OutcomeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			if got := OutcomeOf(tt.status); got != tt.want {
				t.Fatalf("OutcomeOf(%q): got %q, want %q", tt.status, got, tt.want)
			}
		})
	}
}
