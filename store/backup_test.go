package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"recauda-bridge/models"
)

// TestBackupHoldsEveryWriteCommittedBeforeIt takes a backup while claims
// commit without pause: every claim answered before Backup was called is in
// the copy, the copy passes integrity_check and its row counts are the
// copy's own.
func TestBackupHoldsEveryWriteCommittedBeforeIt(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
	ctx := context.Background()

	var (
		mu      sync.Mutex
		claimed []string
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ref := fmt.Sprintf("BK-%d-%d", w, i)
				c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer(ref, fmt.Sprintf("5000%04d", w))}, ResendAfter: time.Hour})
				if err != nil {
					t.Errorf("claim %s: %v", ref, err)
					return
				}
				if len(c.Refs) == 1 {
					mu.Lock()
					claimed = append(claimed, ref)
					mu.Unlock()
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(200 * time.Millisecond)

	mu.Lock()
	before := append([]string(nil), claimed...)
	mu.Unlock()
	dest := filepath.Join(t.TempDir(), "copy.db")
	rep, err := s.Backup(ctx, dest)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if len(before) == 0 {
		t.Fatal("no claim committed before the backup; the test proves nothing")
	}

	db, err := sql.Open("sqlite3", "file:"+dest+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	missing := 0
	for _, ref := range before {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM charges WHERE ref_payment = ?`, ref).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("got %d of the %d claims committed before the backup missing from the copy, want 0", missing, len(before))
	}
	var charges int64
	if err := db.QueryRow(`SELECT COUNT(*) FROM charges`).Scan(&charges); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, tr := range rep.Tables {
		got[tr.Table] = tr.Rows
	}
	if got["charges"] != charges || charges < int64(len(before)) {
		t.Fatalf("report counts %d charges, the copy holds %d, %d were claimed before; want the report equal to the copy and at least the claims", got["charges"], charges, len(before))
	}
	if rep.SchemaVersion != LatestVersion() || rep.Path != dest || rep.Bytes <= 0 {
		t.Fatalf("report = %+v, want version %d, path %s and a size", rep, LatestVersion(), dest)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".copy.db.partial-*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, newClock(time.Now()))
	tests := []struct {
		name    string
		dest    func(t *testing.T) string
		wantErr string
	}{
		{"an existing file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "old.db")
			if err := os.WriteFile(p, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, "exists"},
		{"a directory that does not exist", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "missing", "copy.db")
		}, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := tt.dest(t)
			before, _ := os.ReadFile(dest)
			_, err := s.Backup(ctx, dest)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error saying %q", err, tt.wantErr)
			}
			if after, _ := os.ReadFile(dest); string(after) != string(before) {
				t.Fatalf("got %q at dest after a refused backup, want it untouched (%q)", after, before)
			}
		})
	}
}

func TestBackupOfPostgresPointsToPgDump(t *testing.T) {
	s := testDBs[1].open(t, newClock(time.Now()))
	_, err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "copy.db"))
	if !errors.Is(err, ErrBackupUnsupported) || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("got %v, want ErrBackupUnsupported naming pg_dump", err)
	}
}

func TestCheckBackupRejects(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		write   func(t *testing.T, path string)
		wantErr string
	}{
		{"a file that is not SQLite", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a database"},
		{"a SQLite file of something else", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite3", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
				t.Fatal(err)
			}
		}, "not a recauda-bridge database"},
		{"a damaged store", func(t *testing.T, path string) {
			s, err := Open(ctx, models.DialectSQLite, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("D1", "12345678")}}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			// Overwrite the charges index's root page with zeros, as a torn
			// write or a bad disk would.
			db, err := sql.Open("sqlite3", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			var page, size int64
			if err := db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = 'idx_charges_id_number'`).Scan(&page); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
				t.Fatal(err)
			}
			db.Close()
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(make([]byte, size), (page-1)*size); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}, "integrity_check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "file.db")
			tt.write(t, path)
			if _, err := CheckBackup(ctx, path); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error saying %q", err, tt.wantErr)
			}
		})
	}
}

// TestNewerSchemaIsRefused: a database a newer binary migrated is never
// migrated, checked as fine or listed as pending by this one.
func TestNewerSchemaIsRefused(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := db.open(t, newClock(time.Now()))
		next := LatestVersion() + 1
		if err := s.write.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', '2027-01-01T00:00:00Z')`, next).Error; err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			name string
			run  func() error
		}{
			{"Migrate", func() error { _, err := s.Migrate(ctx); return err }},
			{"CheckSchema", func() error { return s.CheckSchema(ctx) }},
			{"Pending", func() error { _, err := s.Pending(ctx); return err }},
		}
		for _, c := range checks {
			t.Run(c.name, func(t *testing.T) {
				err := c.run()
				if !errors.Is(err, ErrSchemaNewer) {
					t.Fatalf("got %v, want ErrSchemaNewer", err)
				}
				want := fmt.Sprintf("schema version %d, newer than the %d this binary knows", next, LatestVersion())
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("got %q, want it to say %q", err, want)
				}
			})
		}
		if v, err := s.SchemaVersion(ctx); err != nil || v != next {
			t.Fatalf("got version %d (err %v), want %d untouched", v, err, next)
		}
	})
}

func TestPendingListsWhatMigrateApplies(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := db.openEmpty(t, Options{})
		steps, err := s.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != len(migrations) || steps[0].Version != 1 || steps[0].Name != migrations[0].name {
			t.Fatalf("got %+v pending on an empty database, want all %d migrations", steps, len(migrations))
		}
		applied, err := s.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, st := range steps {
			if applied[i] != st.Version {
				t.Fatalf("got applied %v, want the pending versions %+v", applied, steps)
			}
		}
		if steps, err := s.Pending(ctx); err != nil || len(steps) != 0 {
			t.Fatalf("got %+v (err %v) pending after Migrate, want none", steps, err)
		}
	})
}
