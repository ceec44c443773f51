package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/erp/file"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCase is one row of testdata/overdue/charges.csv and what the
// lookups for its customer answered on two days.
type goldenCase struct {
	Case     string      `json:"case"`
	IDNumber string      `json:"id_number"`
	Days     []goldenDay `json:"lookups"`
}

type goldenDay struct {
	Day    string          `json:"day"`
	Answer json.RawMessage `json:"answer"`
	// Preview is what preview says of each charge just before the lookup:
	// decision, notes, violations.
	Preview []string `json:"preview"`
}

// The lookup answers for one case per row, under each OVERDUE_POLICY, on
// 5 Dec 2026 in Bogota and again on 16 Dec, after every limit date of the
// first offers has passed (re-issues as -V1). `go test ./server -run
// TestOverdueGolden -update` rewrites them.
func TestOverdueGolden(t *testing.T) {
	csvPath := filepath.Join("..", "testdata", "overdue", "charges.csv")
	ids := csvColumn(t, csvPath, "id_number")
	descriptions := csvColumn(t, csvPath, "description")
	for _, policy := range []string{"offer", "extend:3d", "hold"} {
		t.Run(policy, func(t *testing.T) {
			p, err := config.ParseOverduePolicy(policy)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := file.New(file.Config{Path: csvPath, JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fs.Close() })
			src := &erptest.Source{PendingChargesFunc: fs.PendingCharges}
			clk := &clock{now: bogota(5)}
			s := newStackAt(t, src, clk.Now, func(cfg *recauda.Config, _ *server.Config) {
				cfg.OverduePolicy = p
			})
			cases := make([]goldenCase, len(ids))
			for _, day := range []int{5, 16} {
				clk.set(bogota(day))
				for i, id := range ids {
					cases[i].Case, cases[i].IDNumber = descriptions[i], id
					cases[i].Days = append(cases[i].Days, s.goldenLookup(t, id, bogota(day).Format(time.DateOnly)))
				}
			}
			got, err := json.MarshalIndent(cases, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("..", "testdata", "overdue", "answers-"+map[string]string{"offer": "offer", "extend:3d": "extend-3d", "hold": "hold"}[policy]+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("answers differ from %s (run with -update to accept):\n%s", golden, got)
			}
		})
	}
}

// goldenLookup previews then answers the lookup for id.
func (s *stack) goldenLookup(t *testing.T, id, day string) goldenDay {
	t.Helper()
	l, err := s.svc.Preview(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	d := goldenDay{Day: day}
	for _, it := range l.Items {
		d.Preview = append(d.Preview, strings.TrimSpace(fmt.Sprintf("%s %s %s", it.Decision, it.RefPayment, it.Reason)))
		for _, n := range it.Due.Notes {
			d.Preview = append(d.Preview, "note: "+n)
		}
		for _, v := range it.Violations {
			d.Preview = append(d.Preview, "violation: "+v.Field+" "+v.Rule+": "+v.Message)
		}
	}
	d.Answer = s.get(t, "/get-recaudas?id_number="+id).Body.Bytes()
	return d
}

// csvColumn is the values of column name in the CSV file at path, one per row.
func csvColumn(t *testing.T, path, name string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range rows[0] {
		if h == name {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("%s has no column %s", path, name)
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[col])
	}
	return out
}
