package erp

import (
	"strings"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"TOKEN": "s3cret", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got, err := ExpandEnv("Bearer ${TOKEN}${EMPTY} $TOKEN {TOKEN}", lookup)
	if err != nil || got != "Bearer s3cret $TOKEN {TOKEN}" {
		t.Fatalf("got %q, %v; want only ${NAME} expanded", got, err)
	}
	if _, err := ExpandEnv("${MISSING_A}:${MISSING_B}", lookup); err == nil || !strings.Contains(err.Error(), "MISSING_A, MISSING_B") {
		t.Fatalf("err = %v, want both missing variables named", err)
	}
}
