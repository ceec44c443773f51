package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"recauda-bridge/models"
	"recauda-bridge/store/internal/sqliteengine"
)

// TestCloseCheckpointsWAL: after writes through the group committer, Close
// leaves a clean file: SQLite checkpointed and removed the WAL, which it does
// only when the last connection really closes. A copy of the .db file alone
// (a backup after a clean stop) then holds every commit.
func TestCloseCheckpointsWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bridge.db")
	st, err := Open(ctx, models.DialectSQLite, path, Options{})
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

// claimJob queues nothing: it is a job as Claim makes it, for CommitBatch,
// and its work.
func claimJob(s *Store, now time.Time, id string, refs ...string) (*sqliteengine.Job, *claimWork) {
	w := &claimWork{now: now}
	for _, r := range refs {
		w.offers = append(w.offers, offer(r, id))
	}
	w.args = s.claimArgs(w.offers, now, ptrTime(now.Add(time.Hour)))
	return s.claims.Job(w, func(tx *gorm.DB) error {
		w.won = nil
		return s.runClaims(tx, []*claimWork{w})
	}), w
}

func ptrTime(t time.Time) *time.Time { return &t }

func wonRefs(w *claimWork) []string {
	var out []string
	for _, r := range w.won {
		out = append(out, r.RefPayment)
	}
	slices.Sort(out)
	return out
}

// A batch's claims run as one statement: each job gets what it offered,
// a ref two jobs offer goes to one of them, and every send is on the
// timeline once.
func TestMergedClaims(t *testing.T) {
	s := openTest(t, newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
	now := s.now()
	aJob, a := claimJob(s, now, "11111111", "M-1", "M-2")
	bJob, b := claimJob(s, now, "22222222", "M-3")
	dupJob, dup := claimJob(s, now, "11111111", "M-2", "M-4")
	otherJob, other := claimJob(s, now, "33333333", "M-1") // another customer's ref
	for _, err := range s.engine.CommitBatch([]*sqliteengine.Job{aJob, bJob, dupJob, otherJob}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := wonRefs(a); !slices.Equal(got, []string{"M-1", "M-2"}) {
		t.Errorf("first job won %v, want M-1 M-2", got)
	}
	if got := wonRefs(b); !slices.Equal(got, []string{"M-3"}) {
		t.Errorf("second job won %v, want M-3", got)
	}
	if got := wonRefs(dup); !slices.Equal(got, []string{"M-4"}) {
		t.Errorf("job repeating M-2 won %v, want only M-4", got)
	}
	if got := wonRefs(other); len(got) != 0 {
		t.Errorf("another customer's job won %v, want nothing", got)
	}
	var sends int64
	if err := s.read.Raw(`SELECT count(*) FROM charge_events WHERE kind = 'sent'`).Scan(&sends).Error; err != nil || sends != 4 {
		t.Errorf("%d sends on the timeline (%v), want 4", sends, err)
	}
}

// A claim that fails makes the merged statement fail: the batch's claims
// then run alone, and only the failing one reports the error and leaves
// nothing behind.
func TestMergedClaimsFallBackWhenOneFails(t *testing.T) {
	s := openTest(t, newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
	if err := s.write.Exec(`CREATE TRIGGER boom BEFORE INSERT ON charges WHEN NEW.ref_payment = 'BOOM'
		BEGIN SELECT RAISE(ABORT, 'boom'); END`).Error; err != nil {
		t.Fatal(err)
	}
	now := s.now()
	aJob, a := claimJob(s, now, "11111111", "F-1")
	badJob, _ := claimJob(s, now, "22222222", "F-2", "BOOM")
	cJob, c := claimJob(s, now, "33333333", "F-3")
	errs := s.engine.CommitBatch([]*sqliteengine.Job{aJob, badJob, cJob})
	if err := errs[0]; err != nil || !slices.Equal(wonRefs(a), []string{"F-1"}) {
		t.Errorf("first job: %v, won %v", err, wonRefs(a))
	}
	if err := errs[1]; err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing job: err %v, want boom", err)
	}
	if err := errs[2]; err != nil || !slices.Equal(wonRefs(c), []string{"F-3"}) {
		t.Errorf("third job: %v, won %v", err, wonRefs(c))
	}
	tr, err := s.Tracked(context.Background(), []string{"F-1", "F-2", "F-3", "BOOM"})
	if err != nil || len(tr) != 2 || tr["F-2"].RefPayment != "" {
		t.Errorf("tracked after the batch: %v, %v; want F-1 and F-3 only", tr, err)
	}
}

// Claims of every size share a few statement texts, so the statements
// kept prepared stay few, and room is left for the other writes'.
func TestClaimStatementsAreFew(t *testing.T) {
	s := openTest(t, newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
	ctx := context.Background()
	for n := 1; n <= 262; n++ { // past twice the statements the engine keeps
		req := ClaimRequest{ResendAfter: time.Hour}
		for k := range n {
			req.Offers = append(req.Offers, offer(fmt.Sprintf("S-%d-%d", n, k), fmt.Sprintf("%d", 10000000+n)))
		}
		c, err := s.Claim(ctx, req)
		if err != nil || len(c.Refs) != n {
			t.Fatalf("claim of %d offers: won %d, %v", n, len(c.Refs), err)
		}
		tr, err := s.Tracked(ctx, c.Refs)
		if err != nil || len(tr) != n {
			t.Fatalf("claim of %d offers: %d tracked, %v", n, len(tr), err)
		}
	}
	// Three texts (claim, timeline, held-back) per row count, besides
	// BEGIN, COMMIT and the savepoints.
	rowStatements := 0
	for _, q := range s.engine.Prepared() {
		if strings.Contains(q, "VALUES") {
			rowStatements++
		}
	}
	if limit := 3 * len(statementRowCounts); rowStatements > limit {
		t.Errorf("%d multi-row statements kept prepared, want at most %d", rowStatements, limit)
	}
}

func TestStatementSizes(t *testing.T) {
	for _, tc := range []struct {
		rows int
		want []int
	}{
		{0, nil},
		{1, []int{1}},
		{3, []int{3}},
		{7, []int{7}},
		{8, []int{8}},
		{13, []int{8, 5}},
		{100, []int{64, 32, 4}},
		{500, []int{64, 64, 64, 64, 64, 64, 64, 32, 16, 4}},
	} {
		if got := statementSizes(tc.rows); !slices.Equal(got, tc.want) {
			t.Errorf("statementSizes(%d) = %v, want %v", tc.rows, got, tc.want)
		}
	}
}

// One lookup may offer more refs than one statement holds: the claim runs
// in several, in one transaction, and wins every ref once.
func TestClaimLargerThanOneStatement(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t, newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
		ctx := context.Background()
		req := ClaimRequest{ResendAfter: time.Hour}
		for k := range 1200 {
			req.Offers = append(req.Offers, offer(fmt.Sprintf("BIG-%04d", k), "10000001"))
		}
		c, err := s.Claim(ctx, req)
		if err != nil || len(c.Refs) != 1200 {
			t.Fatalf("claim of 1,200 offers: won %d, %v", len(c.Refs), err)
		}
		if again, err := s.Claim(ctx, req); err != nil || len(again.Refs) != 0 {
			t.Fatalf("the same claim again: won %d, %v; want none", len(again.Refs), err)
		}
	})
}
