package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestCloseCheckpointsWAL: after writes through the group committer, Close
// leaves a clean file: SQLite checkpointed and removed the WAL, which it does
// only when the last connection really closes. A copy of the .db file alone
// (a backup after a clean stop) then holds every commit.
func TestCloseCheckpointsWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bridge.db")
	st, err := Open(ctx, SQLite, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"WAL-1", "WAL-2"} {
		if _, err := st.Claim(ctx, ClaimRequest{Offers: []Offer{{RefPayment: ref, IDNumber: "70000001", Currency: "COP", Payload: []byte("{}")}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil {
		t.Fatalf("%s-wal is still there (%d bytes) after Close, want it checkpointed and removed", path, fi.Size())
	}
}
