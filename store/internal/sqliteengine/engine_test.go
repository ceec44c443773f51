package sqliteengine

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"gorm.io/gorm"
)

// part is a test merge's part: the keys one job inserts, and what the
// merged run did with it.
type part struct {
	keys   []string
	skip   bool // the merged run leaves it to run alone
	merged bool
}

// countingMerge inserts the keys of every part it does not skip in one
// statement, counting its runs.
func countingMerge(runs *int) *Merge[*part] {
	return NewMerge(func(tx *gorm.DB, parts []*part) ([]bool, error) {
		*runs++
		var args []any
		left := make([]bool, len(parts))
		for i, p := range parts {
			if p.skip {
				left[i] = true
				continue
			}
			for _, k := range p.keys {
				args = append(args, k)
			}
		}
		q := "INSERT INTO t (k) VALUES (?)"
		for range len(args) - 1 {
			q += ", (?)"
		}
		if err := tx.Exec(q, args...).Error; err != nil {
			return nil, err
		}
		for i, p := range parts {
			p.merged = !left[i]
		}
		return left, nil
	})
}

func partJob(m *Merge[*part], p *part) *Job {
	return m.Job(p, func(tx *gorm.DB) error {
		for _, k := range p.keys {
			if err := tx.Exec("INSERT INTO t (k) VALUES (?)", k).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

func keys(t *testing.T, e testEngine) []string {
	t.Helper()
	rows, err := e.read.Query("SELECT k FROM t ORDER BY k")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

// The jobs of a batch that carry one Merge run together, once; a part the
// merged run leaves runs alone; jobs of another Merge or of none run
// apart; when the merged run fails, each job runs alone and only the one
// failing by itself reports it.
func TestCommitBatchMerges(t *testing.T) {
	for _, tc := range []struct {
		name       string
		parts      []*part
		wantRuns   int
		wantErrs   []bool
		wantMerged []bool
		wantKeys   []string
	}{
		{
			name:     "merged together, one left alone",
			parts:    []*part{{keys: []string{"a", "b"}}, {keys: []string{"c"}, skip: true}, {keys: []string{"d"}}},
			wantRuns: 1, wantErrs: []bool{false, false, false}, wantMerged: []bool{true, false, true},
			wantKeys: []string{"a", "b", "c", "d", "plain"},
		},
		{
			name:     "the merged run fails, each runs alone",
			parts:    []*part{{keys: []string{"a"}}, {keys: []string{"plain"}}, {keys: []string{"c"}}},
			wantRuns: 1, wantErrs: []bool{false, true, false}, wantMerged: []bool{false, false, false},
			wantKeys: []string{"a", "c", "plain"},
		},
		{
			name:     "one job of a merge runs alone",
			parts:    []*part{{keys: []string{"a"}}},
			wantRuns: 0, wantErrs: []bool{false}, wantMerged: []bool{false},
			wantKeys: []string{"a", "plain"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := openSynced(t, nil)
			var runs, otherRuns int
			m, other := countingMerge(&runs), countingMerge(&otherRuns)
			jobs := []*Job{insert("plain")}
			for _, p := range tc.parts {
				jobs = append(jobs, partJob(m, p))
			}
			jobs = append(jobs, partJob(other, &part{keys: []string{"z"}}))
			errs := e.CommitBatch(jobs)
			if errs[0] != nil {
				t.Fatalf("the plain job: got %v, want no error", errs[0])
			}
			for i, p := range tc.parts {
				if got := errs[i+1] != nil; got != tc.wantErrs[i] {
					t.Errorf("part %d: got error %v, want one: %v", i, errs[i+1], tc.wantErrs[i])
				}
				if p.merged != tc.wantMerged[i] {
					t.Errorf("part %d: got merged %v, want %v", i, p.merged, tc.wantMerged[i])
				}
			}
			if runs != tc.wantRuns || otherRuns != 0 {
				t.Errorf("got %d merged runs and %d of the lone other merge, want %d and 0", runs, otherRuns, tc.wantRuns)
			}
			want := append(slices.Clone(tc.wantKeys), "z")
			slices.Sort(want)
			if got := keys(t, e); !slices.Equal(got, want) {
				t.Errorf("got keys %v, want %v", got, want)
			}
		})
	}
}

// Each Do moves the write generation on, whatever its outcome.
func TestGenerationMovesOnEachWrite(t *testing.T) {
	e := openSynced(t, nil)
	gen := e.Generation()
	if err := e.Do(context.Background(), insert("g")); err != nil {
		t.Fatal(err)
	}
	if err := e.Do(context.Background(), insert("g")); err == nil {
		t.Fatal("a duplicate key was inserted")
	}
	if got := e.Generation(); got != gen+2 {
		t.Fatalf("got generation %d, want %d", got, gen+2)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Do(cancelled, insert("h")); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled write: got %v, want context.Canceled", err)
	}
}

// A hit hands out the answer read before, without a copy; lists that differ
// only in how their keys are cut never share an entry; the bound holds.
func TestCacheEntries(t *testing.T) {
	c := NewCache[map[string]int]()
	ab := map[string]int{"a": 1, "b": 2}
	c.Put([]string{"a", "b"}, ab, 0)
	if got, ok := c.Get([]string{"a", "b"}, 0); !ok || len(got) != 2 || got["b"] != 2 {
		t.Fatalf("Get(a, b) = %v, %v; want the stored answer", got, ok)
	}
	for _, other := range [][]string{{"ab"}, {"a\x01b"}, {"b", "a"}, {"a"}, {"a", "b", ""}} {
		if got, ok := c.Get(other, 0); ok {
			t.Errorf("Get(%q) hit %v; want a miss", other, got)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { c.Get([]string{"a", "b"}, 0) }); allocs != 0 {
		t.Errorf("a hit allocates %.0f times; want 0", allocs)
	}
	if _, ok := c.Get([]string{"a", "b"}, 1); ok {
		t.Fatal("a newer generation still hits")
	}
	c.Put([]string{"a", "b"}, ab, 0) // read before the write: not kept
	if _, ok := c.Get([]string{"a", "b"}, 1); ok {
		t.Fatal("an answer read before the last write was kept")
	}
	for i := range cacheMaxKeys + 10 {
		c.Put([]string{strconv.Itoa(i)}, map[string]int{}, 1)
	}
	if c.keys > cacheMaxKeys || len(c.sets) > cacheMaxKeys {
		t.Fatalf("%d keys in %d entries; bound %d", c.keys, len(c.sets), cacheMaxKeys)
	}
}
