package sources

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"recauda-bridge/config"
	"recauda-bridge/erp/file"
)

// The README's "ERP sources" section has one "### `name`" part per source
// of the table, and the table has every source it describes.
func TestTableMatchesREADME(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## ERP sources\n")
	if !ok {
		t.Fatal(`README.md has no "## ERP sources" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var inREADME []string
	for _, m := range regexp.MustCompile("(?m)^### `([a-z]+)`").FindAllStringSubmatch(section, -1) {
		inREADME = append(inREADME, m[1])
	}
	var inTable []string
	for _, s := range Table() {
		inTable = append(inTable, s.Name)
	}
	if !slices.Equal(inREADME, inTable) {
		t.Errorf("README's ERP sources: got %v, want the table's %v, in its order", inREADME, inTable)
	}
}

// Every entry of the table is whole, and names are unique.
func TestTableEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Table() {
		t.Run(s.Name, func(t *testing.T) {
			if s.Name == "" || seen[s.Name] {
				t.Errorf("name %q: empty or repeated", s.Name)
			}
			seen[s.Name] = true
			if s.Build == nil || s.Proves == "" {
				t.Errorf("Build set %v, Proves %q: want both", s.Build != nil, s.Proves)
			}
			if (s.Section == "") != (s.NewSection == nil) {
				t.Errorf("Section %q with NewSection set %v: want both or neither", s.Section, s.NewSection != nil)
			}
			if got, ok := Find(s.Name); !ok || got.Name != s.Name {
				t.Errorf("Find(%q): got %q, %v", s.Name, got.Name, ok)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	demoCfg, err := config.Load(lookupFrom(nil), Config())
	if err != nil {
		t.Fatal(err)
	}
	src, closer, err := Open(t.Context(), demoCfg, Deps{}, prometheus.NewRegistry())
	if err != nil || closer != nil {
		t.Fatalf("demo: got closer %v, %v; want none, nil", closer != nil, err)
	}
	if charges, err := src.PendingCharges(t.Context(), "1032456789"); err != nil || len(charges) == 0 {
		t.Errorf("demo lookup: got %d charges, %v; want some", len(charges), err)
	}

	tests := []struct {
		name string
		cfg  config.Config
		want string
	}{
		{"unknown source", config.Config{ERPSource: "sap"}, `source "sap" is not available in this build`},
		{"settings not read", config.Config{ERPSource: "sql"}, "no sql settings"},
		{"settings of another source", config.Config{ERPSource: "http", ERP: file.Config{Path: "x.csv"}}, "no http settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Open(t.Context(), tt.cfg, Deps{}, prometheus.NewRegistry())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
