// Package sources is the table of ERP sources the binary knows: for each
// ERP_SOURCE, its section of the ERP_CONFIG file, how its settings are read
// from that section and the environment, how it is built, and what building
// it proves. Adding a source is one entry in Table; config reads the
// settings through the entries (Config) without importing any adapter, and
// Open builds the chosen one inside erp/guard.
package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/erp/demo"
	"recauda-bridge/erp/execsource"
	"recauda-bridge/erp/file"
	"recauda-bridge/erp/guard"
	"recauda-bridge/erp/httpsource"
	"recauda-bridge/erp/local"
	"recauda-bridge/erp/odoo"
	"recauda-bridge/erp/sqlsource"
	"recauda-bridge/models"
	"recauda-bridge/store"
)

// Source is one entry of the table.
type Source struct {
	// ERPSource is what config needs: the name, the section and how the
	// settings are read (Config.ERP then holds them).
	config.ERPSource
	// Build makes the adapter from cfg (cfg.ERP holds the settings). The
	// closer, when not nil, releases what the adapter holds (a connection
	// pool, a file watcher).
	Build func(ctx context.Context, cfg config.Config, d Deps) (erp.Source, func() error, error)
	// Proves is what a successful Build has already checked, for
	// check-source's output.
	Proves string
	// InMemory: the adapter answers from memory at once
	// (guard.Options.InMemory).
	InMemory bool
}

// Deps is what building a source may need besides its settings.
type Deps struct {
	Log *slog.Logger
	Now func() time.Time
	// Store is the tracking store, which the local source shares (its
	// ledger lives there); nil makes local open its own.
	Store *store.Store
}

// Table returns the sources, in the order the README describes them.
func Table() []Source {
	return []Source{
		{
			ERPSource: config.ERPSource{Name: "demo"},
			Build: func(_ context.Context, _ config.Config, d Deps) (erp.Source, func() error, error) {
				return demo.New(d.Now), nil, nil
			},
			Proves:   "built-in data",
			InMemory: true,
		},
		{
			ERPSource: config.ERPSource{Name: "file", Settings: fileSettings},
			Build: func(_ context.Context, cfg config.Config, d Deps) (erp.Source, func() error, error) {
				c, err := settingsOf[file.Config](cfg)
				if err != nil {
					return nil, nil, err
				}
				f, err := file.New(c, d.Log)
				if err != nil {
					return nil, nil, err
				}
				return f, f.Close, nil
			},
			Proves:   "the file was read",
			InMemory: true,
		},
		{
			ERPSource: config.ERPSource{Name: "sql", Section: "sql", NewSection: newSection[sqlsource.Config], Settings: sqlSettings},
			Build: func(ctx context.Context, cfg config.Config, d Deps) (erp.Source, func() error, error) {
				c, err := settingsOf[sqlsource.Config](cfg)
				if err != nil {
					return nil, nil, err
				}
				s, err := sqlsource.New(ctx, c, d.Log.With("erp", "sql"))
				if err != nil {
					return nil, nil, err
				}
				return s, s.Close, nil
			},
			Proves: "the database answers; the query runs and returns the required columns",
		},
		{
			ERPSource: sectionOnly[httpsource.Config]("http"),
			Build: func(_ context.Context, cfg config.Config, d Deps) (erp.Source, func() error, error) {
				c, err := settingsOf[httpsource.Config](cfg)
				if err != nil {
					return nil, nil, err
				}
				s, err := httpsource.New(c, d.Log)
				return s, nil, err
			},
			Proves: "the settings are valid",
		},
		{
			ERPSource: sectionOnly[execsource.Config]("exec"),
			Build: func(_ context.Context, cfg config.Config, d Deps) (erp.Source, func() error, error) {
				c, err := settingsOf[execsource.Config](cfg)
				if err != nil {
					return nil, nil, err
				}
				s, err := execsource.New(c, d.Log)
				return s, nil, err
			},
			Proves: "the settings are valid; the command exists and is executable",
		},
		{
			ERPSource: sectionOnly[odoo.Config]("odoo"),
			Build: func(_ context.Context, cfg config.Config, d Deps) (erp.Source, func() error, error) {
				c, err := settingsOf[odoo.Config](cfg)
				if err != nil {
					return nil, nil, err
				}
				s, err := odoo.New(c, d.Log)
				return s, nil, err
			},
			Proves: "the settings are valid",
		},
		{
			ERPSource: config.ERPSource{Name: "local"},
			Build:     buildLocal,
			Proves:    "the database answers at the schema version this binary expects",
		},
	}
}

// Config is the table as config.Load takes it.
func Config() []config.ERPSource {
	t := Table()
	out := make([]config.ERPSource, len(t))
	for i, s := range t {
		out[i] = s.ERPSource
	}
	return out
}

// Find returns the entry named name.
func Find(name string) (Source, bool) {
	t := Table()
	i := slices.IndexFunc(t, func(s Source) bool { return s.Name == name })
	if i < 0 {
		return Source{}, false
	}
	return t[i], true
}

// Open builds the source cfg.ERPSource names and wraps it in erp/guard,
// through which the core only ever sees it: the lookup's deadline
// (ERP_TIMEOUT), a per-customer cache (ERP_CACHE_TTL, off by default),
// request coalescing, a circuit breaker (ERP_BREAKER_FAILURES,
// ERP_BREAKER_OPEN) and the recauda_erp_* metrics on reg. The guard
// forwards the adapter's optional abilities (erp.CanRecord, erp.CanReverse,
// a health check that answers erp.ErrUnsupported when the adapter has
// none). The closer, when not nil, releases what the adapter holds.
func Open(ctx context.Context, cfg config.Config, d Deps, reg prometheus.Registerer) (*guard.Source, func() error, error) {
	s, ok := Find(cfg.ERPSource)
	if !ok {
		return nil, nil, fmt.Errorf("source %q is not available in this build", cfg.ERPSource)
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	src, closer, err := s.Build(ctx, cfg, d)
	if err != nil {
		return nil, nil, err
	}
	metrics, err := guard.NewMetrics(reg)
	if err != nil {
		if closer != nil {
			_ = closer()
		}
		return nil, nil, fmt.Errorf("erp metrics: %w", err)
	}
	return guard.New(src, guard.Options{
		Name:        cfg.ERPSource,
		CallTimeout: cfg.ERPTimeout,
		InMemory:    s.InMemory,
		CacheTTL:    cfg.ERPCacheTTL,
		Breaker: guard.BreakerOptions{
			FailureThreshold: uint32(cfg.ERPBreakerFailures),
			OpenTimeout:      cfg.ERPBreakerOpen,
		},
		Metrics: metrics,
		Logger:  d.Log,
		Now:     d.Now,
	}), closer, nil
}

// newSection is a config.ERPSource's NewSection for a section of type C.
func newSection[C any]() any { return new(C) }

// sectionOnly is a source whose settings are its section of ERP_CONFIG, as
// the file has it (the adapter expands its ${VAR} when it is built).
func sectionOnly[C any](name string) config.ERPSource {
	return config.ERPSource{Name: name, Section: name, NewSection: newSection[C], SectionRequired: true,
		Settings: func(section any, _ *config.Env) any {
			if c, ok := section.(*C); ok && c != nil {
				return *c
			}
			return nil
		}}
}

// settingsOf returns cfg.ERP as the settings of type C its source builds
// from.
func settingsOf[C any](cfg config.Config) (C, error) {
	c, ok := cfg.ERP.(C)
	if !ok {
		return c, fmt.Errorf("no %s settings (ERP_CONFIG or the source's variables)", cfg.ERPSource)
	}
	return c, nil
}

// fileSettings reads ERP_FILE and ERP_JOURNAL.
func fileSettings(_ any, env *config.Env) any {
	c := file.Config{Path: env.Str("ERP_FILE", ""), JournalPath: env.Str("ERP_JOURNAL", "")}
	if c.Path == "" {
		env.Fail("ERP_FILE", "is required when ERP_SOURCE=file")
	} else if ext := strings.ToLower(c.Path); !strings.HasSuffix(ext, ".json") && !strings.HasSuffix(ext, ".csv") {
		env.Fail("ERP_FILE", "must end in .json or .csv, got %q", c.Path)
	}
	return c
}

// sqlSettings merges the sql section with ERP_SQL_*, which win over the
// file's fields. Only the file's dsn may use ${VAR}, expanded here (from
// the environment or .env).
func sqlSettings(section any, env *config.Env) any {
	driver := env.Str("ERP_SQL_DRIVER", "")
	dsn := env.Secret("ERP_SQL_DSN")
	query := env.Str("ERP_SQL_QUERY", "")
	writeback := env.Str("ERP_SQL_WRITEBACK", "")
	reversal := env.Str("ERP_SQL_REVERSAL", "")

	var s sqlsource.Config
	if f, _ := section.(*sqlsource.Config); f != nil {
		s = *f
		if dsn == "" { // the file's dsn is used: expand it
			expanded, err := erp.ExpandEnv(s.DSN, env.Lookup)
			if err != nil {
				env.Fail("ERP_CONFIG", "sql.dsn: %v", err)
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
		env.Fail("ERP_SQL_DRIVER", "is required when ERP_SOURCE=sql (or sql.driver in ERP_CONFIG): one of postgres, mysql, sqlite, sqlserver")
	case !knownDriver:
		env.Fail("ERP_SQL_DRIVER", "unknown driver %q; one of postgres, mysql (also MariaDB), sqlite, sqlserver", s.Driver)
	}
	if strings.TrimSpace(s.DSN) == "" {
		env.Fail("ERP_SQL_DSN", "is required when ERP_SOURCE=sql (or ERP_SQL_DSN_FILE, or sql.dsn in ERP_CONFIG)")
	}
	if strings.TrimSpace(s.Query) == "" {
		env.Fail("ERP_SQL_QUERY", "is required when ERP_SOURCE=sql (or sql.query in ERP_CONFIG): a SELECT using :id_number")
	}
	return s
}

// buildLocal serves the bridge's own ledger from the tracking store; with
// none given (check-source), it opens the ledger's, which must be migrated.
func buildLocal(ctx context.Context, cfg config.Config, d Deps) (erp.Source, func() error, error) {
	if d.Store != nil {
		return local.New(d.Store), nil, nil
	}
	own, err := store.Open(ctx, cfg.Database.Dialect, cfg.Database.DSN, store.Options{Now: d.Now, Logger: d.Log,
		MaxOpenConns: cfg.DBMaxOpenConns, MaxIdleConns: cfg.DBMaxIdleConns, ConnMaxLifetime: cfg.DBConnMaxLifetime})
	if err != nil {
		return nil, nil, err
	}
	if err := own.CheckSchema(ctx); err != nil {
		own.Close()
		if errors.Is(err, store.ErrSchemaOutdated) { // a newer schema carries its own advice
			err = fmt.Errorf("%w (run `recauda-bridge migrate`)", err)
		}
		return nil, nil, err
	}
	return local.New(own), own.Close, nil
}
