package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ERPSource is what Load needs to know of one ERP_SOURCE to read its
// settings. The table of sources (erp/sources) lives above config and hands
// Load one of these per source, so that config imports no adapter.
type ERPSource struct {
	// Name is the source's ERP_SOURCE value.
	Name string
	// Section is the key of the source's section in the ERP_CONFIG file, ""
	// when it has none. NewSection returns a pointer to a new, zero section
	// (the adapter's own Config), into which Load decodes the file's section.
	Section    string
	NewSection func() any
	// SectionRequired says that the source cannot do without its section:
	// ERP_CONFIG must be set and have it.
	SectionRequired bool
	// Settings completes and checks the settings of the chosen source (nil
	// for a source without settings): section is what NewSection returned, decoded from the
	// file (nil when the file has no such section), and env reads the
	// source's own variables and reports each problem under its name. What
	// it returns becomes Config.ERP, which the source is built from. The
	// adapter checks its settings in depth when it is built.
	Settings func(section any, env *Env) any
}

// Env is how an ERPSource's Settings reads the environment: like Load, it
// trims values, reads secrets from NAME_FILE, and collects every problem.
type Env struct{ r *reader }

// Str returns the trimmed value of key, or def when it is unset or blank.
func (e *Env) Str(key, def string) string { return e.r.str(key, def) }

// Secret returns the value of key, or the content of the file named by
// key_FILE.
func (e *Env) Secret(key string) string { return e.r.secret(key) }

// Lookup returns the raw value of key and whether it is set.
func (e *Env) Lookup(key string) (string, bool) { return e.r.lookup(key) }

// Fail reports a problem with the setting key.
func (e *Env) Fail(key, format string, args ...any) { e.r.fail(key, format, args...) }

// maxERPFileBytes bounds the file: it holds settings, not data.
const maxERPFileBytes = 1 << 20

// LoadERPFile reads and decodes the ERP configuration file at path (see
// ParseERPFile).
func LoadERPFile(path string, sources []ERPSource) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxERPFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxERPFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxERPFileBytes)
	}
	return ParseERPFile(raw, sources)
}

// ParseERPFile decodes the file named by ERP_CONFIG: the settings of the
// sources that need more than a few environment variables (queries,
// mappings, templates), one section per source. It returns each section
// the file has, by key, as the source's NewSection made it. A file may hold
// several sections: only the one of ERP_SOURCE is used, but every key of
// every section must be known, so that a misspelt setting is not silently
// ignored. An empty file is an error.
func ParseERPFile(raw []byte, sources []ERPSource) (map[string]any, error) {
	var keys []string
	for _, s := range sources {
		if s.Section != "" {
			keys = append(keys, s.Section)
		}
	}
	var top yaml.Node
	if err := yaml.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("not a valid ERP configuration: %w", err)
	}
	if len(top.Content) == 0 {
		return nil, fmt.Errorf("the file is empty; it needs a %s section", orList(keys))
	}
	if m := top.Content[0]; m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := m.Content[i]; !slices.Contains(keys, k.Value) {
				return nil, fmt.Errorf("not a valid ERP configuration: line %d: field %s not found; the sections are %s", k.Line, k.Value, strings.Join(keys, ", "))
			}
		}
	}
	// One pass of a strict decoder over the whole document, into a struct
	// with one field per section, so that an unknown key anywhere is an
	// error carrying its line number.
	var fields []reflect.StructField
	for i, k := range keys {
		s := sources[slices.IndexFunc(sources, func(s ERPSource) bool { return s.Section == k })]
		fields = append(fields, reflect.StructField{Name: "S" + strconv.Itoa(i), Type: reflect.TypeOf(s.NewSection()),
			Tag: reflect.StructTag(`yaml:"` + k + `"`)})
	}
	doc := reflect.New(reflect.StructOf(fields))
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(doc.Interface()); err != nil {
		return nil, fmt.Errorf("not a valid ERP configuration: %w", err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("holds more than one YAML document; put every section in one")
	}
	out := make(map[string]any)
	for i, k := range keys {
		if f := doc.Elem().Field(i); !f.IsNil() {
			out[k] = f.Interface()
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("has none of the sections %s", strings.Join(keys, ", "))
	}
	return out, nil
}

// orList is "a:, b: or c:".
func orList(keys []string) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k + ":"
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// erpSources reads the ERP source settings: ERP_SOURCE must name one of
// sources; the file named by ERP_CONFIG, ERP_CACHE_TTL and the breaker's;
// and what the chosen source's Settings reads.
func (r *reader) erpSources(c *Config, sources []ERPSource) {
	c.ERPCacheTTL = r.duration("ERP_CACHE_TTL", 0)
	c.ERPBreakerFailures = r.integer("ERP_BREAKER_FAILURES", 5)
	c.ERPBreakerOpen = r.duration("ERP_BREAKER_OPEN", 10*time.Second)
	if c.ERPCacheTTL < 0 {
		r.fail("ERP_CACHE_TTL", "must be 0 (off) or positive")
	}
	if c.ERPBreakerFailures < 1 || c.ERPBreakerFailures > 1000 {
		r.fail("ERP_BREAKER_FAILURES", "must be between 1 and 1000, got %d", c.ERPBreakerFailures)
	}
	if c.ERPBreakerOpen <= 0 {
		r.fail("ERP_BREAKER_OPEN", "must be positive")
	}

	var sections map[string]any
	if c.ERPConfig != "" {
		f, err := LoadERPFile(c.ERPConfig, sources)
		if err != nil {
			r.fail("ERP_CONFIG", "%s: %v", c.ERPConfig, err)
		}
		sections = f
	}
	i := slices.IndexFunc(sources, func(s ERPSource) bool { return s.Name == c.ERPSource })
	if i < 0 {
		names := make([]string, len(sources))
		for i, s := range sources {
			names[i] = s.Name
		}
		r.fail("ERP_SOURCE", "unknown source %q; one of %s", c.ERPSource, strings.Join(names, ", "))
		return
	}
	src := sources[i]
	var section any
	if src.Section != "" {
		section = sections[src.Section]
	}
	if src.SectionRequired {
		switch {
		case c.ERPConfig == "":
			r.fail("ERP_CONFIG", "is required when ERP_SOURCE=%s: a YAML file with an %s: section", src.Name, src.Section)
		case sections != nil && section == nil:
			r.fail("ERP_CONFIG", "%s has no %s: section, which ERP_SOURCE=%s needs", c.ERPConfig, src.Section, src.Name)
		}
	}
	if src.Settings != nil {
		c.ERP = src.Settings(section, &Env{r: r})
	}
}
