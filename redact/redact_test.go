package redact

import "testing"

func TestID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1032456789", "*******789"},
		{"12345", "**345"},
		{"123", "***"},
		{"", "***"},
	}
	for _, tc := range tests {
		if got := ID(tc.in); got != tc.want {
			t.Errorf("ID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ana Gómez", "A***"},
		{"Ñoño", "Ñ***"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Name(tc.in); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
