package server

import (
	"strings"
	"testing"
)

// Generated request IDs are 16 hex digits, pass our own check on incoming
// IDs, and do not repeat.
func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := newRequestID()
		if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" || !validRequestID(id) {
			t.Fatalf("request ID %q: want 16 lower-case hex digits", id)
		}
		if seen[id] {
			t.Fatalf("request ID %q repeated", id)
		}
		seen[id] = true
	}
}
