package ledgerimport

import (
	"fmt"
	"testing"
	"time"
)

func TestAddMonths(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2030-01-31", 0, "2030-01-31"},
		{"2030-01-31", 1, "2030-02-28"},
		{"2032-01-31", 1, "2032-02-29"},
		{"2030-01-31", 2, "2030-03-31"},
		{"2030-01-31", 3, "2030-04-30"},
		{"2030-11-15", 2, "2031-01-15"},
		{"2030-08-30", 6, "2031-02-28"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s+%d", tt.from, tt.n), func(t *testing.T) {
			from, _ := time.Parse(time.DateOnly, tt.from)
			if got := AddMonths(from, tt.n).Format(time.DateOnly); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
