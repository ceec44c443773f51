package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stubSection stands for an adapter's Config.
type stubSection struct {
	URL   string `yaml:"url"`
	Token string `yaml:"token"`
}

// testSources stands for erp/sources' table, which config cannot import:
// the names the tests use, one source with an optional section read with
// its variables (like sql), one that needs its section (like http).
var testSources = []ERPSource{
	{Name: "demo"},
	{Name: "file"},
	{Name: "local"},
	{Name: "stub", Section: "stub", NewSection: func() any { return new(stubSection) },
		Settings: func(section any, env *Env) any {
			var s stubSection
			if f, _ := section.(*stubSection); f != nil {
				s = *f
			}
			if v := env.Secret("STUB_TOKEN"); v != "" {
				s.Token = v
			}
			if s.URL == "" {
				env.Fail("STUB_URL", "is required when ERP_SOURCE=stub")
			}
			return s
		}},
	{Name: "needs", Section: "needs", NewSection: func() any { return new(stubSection) }, SectionRequired: true,
		Settings: func(section any, _ *Env) any { return section }},
}

// load is Load with testSources.
func load(l Lookup) (Config, error) { return Load(l, testSources) }

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestERPSourceSettings(t *testing.T) {
	both := writeFile(t, "erp.yaml", "stub:\n  url: https://erp.example.co\n  token: from-file\nneeds:\n  url: x\n")
	stubOnly := writeFile(t, "stub.yaml", "stub:\n  url: https://erp.example.co\n")
	tests := []struct {
		name string
		env  map[string]string
		want stubSection
	}{
		{"the section", map[string]string{"ERP_SOURCE": "stub", "ERP_CONFIG": both}, stubSection{URL: "https://erp.example.co", Token: "from-file"}},
		{"a variable wins", map[string]string{"ERP_SOURCE": "stub", "ERP_CONFIG": both, "STUB_TOKEN": "from-env"}, stubSection{URL: "https://erp.example.co", Token: "from-env"}},
		{"another source's section is not needed", map[string]string{"ERP_SOURCE": "stub", "ERP_CONFIG": stubOnly}, stubSection{URL: "https://erp.example.co"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(lookupFrom(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := c.ERP.(stubSection); !ok || got != tt.want {
				t.Errorf("ERP: got %#v, want %#v", c.ERP, tt.want)
			}
		})
	}
	c, err := load(lookupFrom(map[string]string{"ERP_SOURCE": "demo", "ERP_CONFIG": both}))
	if err != nil || c.ERP != nil {
		t.Errorf("demo: got ERP %#v, %v; want nil, nil", c.ERP, err)
	}
}

func TestERPSourceErrors(t *testing.T) {
	typo := writeFile(t, "typo.yaml", "stub:\n  url: x\nneeds:\n  url: y\n  tokn: z\n")
	unknown := writeFile(t, "sap.yaml", "stub:\n  url: x\nsap:\n  url: x\n")
	stubOnly := writeFile(t, "stub.yaml", "stub:\n  url: x\n")
	empty := writeFile(t, "empty.yaml", "# nothing\n")
	null := writeFile(t, "null.yaml", "stub:\n")
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown source", map[string]string{"ERP_SOURCE": "sap"}, `ERP_SOURCE: unknown source "sap"; one of demo, file, local, stub, needs`},
		{"the source's own check", map[string]string{"ERP_SOURCE": "stub"}, "STUB_URL: is required when ERP_SOURCE=stub"},
		{"a misspelt key in a section not used", map[string]string{"ERP_SOURCE": "stub", "ERP_CONFIG": typo}, "line 5: field tokn not found"},
		{"an unknown section", map[string]string{"ERP_SOURCE": "stub", "ERP_CONFIG": unknown}, "line 3: field sap not found; the sections are stub, needs"},
		{"an empty file", map[string]string{"ERP_SOURCE": "stub", "ERP_CONFIG": empty}, "the file is empty; it needs a stub: or needs: section"},
		{"no section", map[string]string{"ERP_SOURCE": "stub", "ERP_CONFIG": null}, "has none of the sections stub, needs"},
		{"a required section without ERP_CONFIG", map[string]string{"ERP_SOURCE": "needs"}, "ERP_CONFIG: is required when ERP_SOURCE=needs: a YAML file with an needs: section"},
		{"a required section missing", map[string]string{"ERP_SOURCE": "needs", "ERP_CONFIG": stubOnly}, "has no needs: section, which ERP_SOURCE=needs needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(lookupFrom(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
