package redact

import "testing"

func TestDigits(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no digits", "no digits"},
		{"1234 is short", "1234 is short"},
		{"id 1032456789 not found", "id *******789 not found"},
		{"12345", "**345"},
		{"a79845123b and 52789456", "a*****123b and *****456"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Digits(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name, in string
		names    []string
		want     string
	}{
		{"ID number and name", "customer 1032456789 (María Fernanda Gómez Rojas) has no debt", []string{"María Fernanda Gómez Rojas"},
			"customer *******789 (M*** F*** G*** R***) has no debt"},
		{"name in another order", "Gómez, María: timeout", []string{"María Gómez"}, "G***, M***: timeout"},
		{"short words of a name are left", "Ana de la Cruz", []string{"Ana de la Cruz"}, "A*** de la C***"},
		{"no names", "exit 3 for 52789456", nil, "exit 3 for *****456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in, tt.names...); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
