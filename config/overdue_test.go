package config

import (
	"strings"
	"testing"
)

func TestOverduePolicy(t *testing.T) {
	tests := []struct {
		value string
		want  OverduePolicy
		text  string
	}{
		{"", OverduePolicy{Mode: OverdueOffer}, "offer"},
		{"offer", OverduePolicy{Mode: OverdueOffer}, "offer"},
		{"OFFER", OverduePolicy{Mode: OverdueOffer}, "offer"},
		{"hold", OverduePolicy{Mode: OverdueHold}, "hold"},
		{"extend:3d", OverduePolicy{Mode: OverdueExtend, ExtendDays: 3}, "extend:3d"},
		{" extend:1d ", OverduePolicy{Mode: OverdueExtend, ExtendDays: 1}, "extend:1d"},
		{"extend:366d", OverduePolicy{Mode: OverdueExtend, ExtendDays: 366}, "extend:366d"},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			c, err := load(lookupFrom(map[string]string{"OVERDUE_POLICY": tc.value}))
			if err != nil {
				t.Fatal(err)
			}
			if c.OverduePolicy != tc.want {
				t.Fatalf("got %+v, want %+v", c.OverduePolicy, tc.want)
			}
			if got := c.OverduePolicy.String(); got != tc.text {
				t.Fatalf("String() = %q, want %q", got, tc.text)
			}
		})
	}
}

func TestOverduePolicyRejectsBadValues(t *testing.T) {
	for _, value := range []string{"extend", "extend:", "extend:3", "extend:0d", "extend:-2d", "extend:+2d", "extend:367d",
		"extend:3w", "extend:3dd", "extend: 3d", "forgive", "offer,hold"} {
		t.Run(value, func(t *testing.T) {
			_, err := load(lookupFrom(map[string]string{"OVERDUE_POLICY": value}))
			if err == nil {
				t.Fatalf("got no error, want one")
			}
			for _, want := range []string{"OVERDUE_POLICY", "offer", "extend:<N>d", "hold"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("got %q, want it to name %q", err, want)
				}
			}
		})
	}
}
