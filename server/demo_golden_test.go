package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"recauda-bridge/erp/demo"
	"recauda-bridge/erp/erptest"
)

// TestDemoLookupGolden: the lookup's exact body for each demo customer,
// and for an ID number the demo does not know, on the real lookup over the
// demo source on 1 Mar 2026 (10:00 in Bogota). The demo's dates follow the
// clock, so the bodies are fixed by it. `go test ./server -run
// TestDemoLookupGolden -update` rewrites them.
func TestDemoLookupGolden(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC) }
	raw, err := os.ReadFile(filepath.Join("..", "erp", "demo", "customers.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Customers []struct {
			IDNumber string `json:"id_number"`
		} `json:"customers"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	ids := []string{"99999999"} // unknown to the demo
	for _, c := range file.Customers {
		ids = append(ids, c.IDNumber)
	}
	src := demo.New(now)
	s := newStackAt(t, &erptest.Source{PendingChargesFunc: src.PendingCharges}, now, nil)
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			rec := s.get(t, "/get-recaudas?id_number="+id)
			if rec.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200; body %s", rec.Code, rec.Body)
			}
			got := rec.Body.Bytes()
			golden := filepath.Join("testdata", "demo", id+".golden.json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("body differs from %s (run with -update to accept):\ngot  %s\nwant %s", golden, got, want)
			}
		})
	}
}
