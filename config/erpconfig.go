package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"recauda-bridge/erp/execsource"
	"recauda-bridge/erp/httpsource"
	"recauda-bridge/erp/odoo"
	"recauda-bridge/erp/sqlsource"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// ERPFile is the YAML file named by ERP_CONFIG: the settings of the sources
// that need more than a few environment variables (queries, mappings,
// templates). Each section is the adapter's own Config; a section is nil
// when the file does not have it. A file may hold several sections: only
// the one named by ERP_SOURCE is used.
//
//	sql:  {driver, dsn, query, writeback_query, max_open_conns, ...}  erp/sqlsource
//	http: {preset, url, auth, items_path, mapping, ...}               erp/httpsource
//	exec: {command, dir, env, timeout, writeback_command, ...}        erp/execsource
//	odoo: {url, protocol, database, api_key, journal_id, ...}         erp/odoo
//
// Unknown keys are errors, so that a misspelt setting is not silently
// ignored. The http, exec and odoo sections expand ${VAR} themselves when
// their source is built (from the process environment); in the sql section
// only dsn may use ${VAR}, expanded here.
type ERPFile struct {
	SQL  *sqlsource.Config  `yaml:"sql"`
	HTTP *httpsource.Config `yaml:"http"`
	Exec *execsource.Config `yaml:"exec"`
	Odoo *odoo.Config       `yaml:"odoo"`
}

// maxERPFileBytes bounds the file: it holds settings, not data.
const maxERPFileBytes = 1 << 20

// LoadERPFile reads and decodes the ERP configuration file at path. Every
// key must be known; an empty file is an error.
func LoadERPFile(path string) (ERPFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return ERPFile{}, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxERPFileBytes+1))
	if err != nil {
		return ERPFile{}, err
	}
	if len(raw) > maxERPFileBytes {
		return ERPFile{}, fmt.Errorf("%s is larger than %d bytes", path, maxERPFileBytes)
	}
	return ParseERPFile(raw)
}

// ParseERPFile decodes an ERP configuration document (see ERPFile).
func ParseERPFile(raw []byte) (ERPFile, error) {
	var out ERPFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&out); err != nil {
		if errors.Is(err, io.EOF) {
			return ERPFile{}, errors.New("the file is empty; it needs a sql:, http:, exec: or odoo: section")
		}
		return ERPFile{}, fmt.Errorf("not a valid ERP configuration: %w", err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return ERPFile{}, errors.New("holds more than one YAML document; put every section in one")
	}
	if out.SQL == nil && out.HTTP == nil && out.Exec == nil && out.Odoo == nil {
		return ERPFile{}, errors.New("has none of the sections sql:, http:, exec:, odoo:")
	}
	return out, nil
}

// has reports whether the file has the section of source.
func (f ERPFile) has(source string) bool {
	switch source {
	case "sql":
		return f.SQL != nil
	case "http":
		return f.HTTP != nil
	case "exec":
		return f.Exec != nil
	case "odoo":
		return f.Odoo != nil
	}
	return false
}

// erpSources reads the ERP source settings that Load leaves to this file:
// ERP_SQL_*, the file named by ERP_CONFIG, ERP_CACHE_TTL and the breaker's,
// and checks that the source named by ERP_SOURCE has what it needs. The
// adapters check their own sections in depth when they are built.
func (r *reader) erpSources(c *Config) {
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

	if c.ERPConfig != "" {
		f, err := LoadERPFile(c.ERPConfig)
		if err != nil {
			r.fail("ERP_CONFIG", "%s: %v", c.ERPConfig, err)
		}
		c.ERP = f
	}
	driver := r.str("ERP_SQL_DRIVER", "")
	dsn := r.secret("ERP_SQL_DSN")
	query := r.str("ERP_SQL_QUERY", "")
	writeback := r.str("ERP_SQL_WRITEBACK", "")
	reversal := r.str("ERP_SQL_REVERSAL", "")

	switch c.ERPSource {
	case "sql":
		var s sqlsource.Config
		if c.ERP.SQL != nil {
			s = *c.ERP.SQL
			if dsn == "" { // the file's dsn is used: expand it
				expanded, err := erp.ExpandEnv(s.DSN, r.lookup)
				if err != nil {
					r.fail("ERP_CONFIG", "sql.dsn: %v", err)
				}
				s.DSN = expanded
			}
		}
		for _, o := range []struct {
			dst *string
			v   string
		}{
			{&s.Driver, driver}, {&s.DSN, dsn}, {&s.Query, query}, {&s.WritebackQuery, writeback}, {&s.ReversalQuery, reversal},
		} {
			if o.v != "" {
				*o.dst = o.v
			}
		}
		s.Driver = strings.ToLower(strings.TrimSpace(s.Driver))
		_, knownDriver := models.SQLDialect(s.Driver)
		switch {
		case s.Driver == "":
			r.fail("ERP_SQL_DRIVER", "is required when ERP_SOURCE=sql (or sql.driver in ERP_CONFIG): one of postgres, mysql, sqlite, sqlserver")
		case !knownDriver:
			r.fail("ERP_SQL_DRIVER", "unknown driver %q; one of postgres, mysql (also MariaDB), sqlite, sqlserver", s.Driver)
		}
		if strings.TrimSpace(s.DSN) == "" {
			r.fail("ERP_SQL_DSN", "is required when ERP_SOURCE=sql (or ERP_SQL_DSN_FILE, or sql.dsn in ERP_CONFIG)")
		}
		if strings.TrimSpace(s.Query) == "" {
			r.fail("ERP_SQL_QUERY", "is required when ERP_SOURCE=sql (or sql.query in ERP_CONFIG): a SELECT using :id_number")
		}
		c.ERP.SQL = &s
	case "http", "exec", "odoo":
		if c.ERPConfig == "" {
			r.fail("ERP_CONFIG", "is required when ERP_SOURCE=%s: a YAML file with an %s: section", c.ERPSource, c.ERPSource)
		} else if c.ERP != (ERPFile{}) && !c.ERP.has(c.ERPSource) {
			r.fail("ERP_CONFIG", "%s has no %s: section, which ERP_SOURCE=%s needs", c.ERPConfig, c.ERPSource, c.ERPSource)
		}
	}
}
