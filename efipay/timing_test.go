package efipay

import (
	"slices"
	"testing"
	"time"
)

func TestRetryDelays(t *testing.T) {
	want := []time.Duration{10 * time.Second, 100 * time.Second}
	got := RetryDelays()
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	got[0] = time.Millisecond // a caller shortening its copy
	if again := RetryDelays(); !slices.Equal(again, want) {
		t.Errorf("after a caller changed its copy: got %v, want %v", again, want)
	}
}
