// Package config reads recauda-bridge's typed configuration from the
// environment, validated whole at start-up. A .env file may fill gaps; the
// real environment always wins. A secret may be given as NAME_FILE, the path
// of a file holding it.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"recauda-bridge/models"
)

// Config is everything the server needs, typed.
type Config struct {
	ListenAddr  string
	DatabaseURL string
	// Database is DatabaseURL parsed: the dialect and the driver's DSN.
	Database Database

	// The database pool.
	// DBMaxOpenConns bounds the connections to the database: SQLite's readers
	// (its writer is one more), or PostgreSQL's whole pool.
	DBMaxOpenConns int
	// DBMaxIdleConns of them stay open when idle.
	DBMaxIdleConns int
	// DBConnMaxLifetime recycles a connection this long after it opened; 0: never.
	DBConnMaxLifetime time.Duration

	// ERPSource names the source (erp/sources); ERPConfig is the YAML file
	// of the sources' sections; ERPTimeout bounds each lookup.
	ERPSource  string
	ERPConfig  string
	ERPTimeout time.Duration

	// ERP is the settings of the ERP_SOURCE source, as its
	// ERPSource.Settings made them from its section of ERP_CONFIG and its
	// variables (for sql, ERP_SQL_* win over the file's fields); nil for a
	// source without settings.
	ERP any
	// ERPCacheTTL is how long a customer's answer is served from memory;
	// 0 (the default) turns the cache off. Lookups are coalesced either way.
	ERPCacheTTL time.Duration
	// ERPBreakerFailures consecutive failures of the source open its circuit
	// breaker, for ERPBreakerOpen; then one probe decides.
	ERPBreakerFailures int
	ERPBreakerOpen     time.Duration

	PublicURL   string
	ResendAfter time.Duration
	EmptyStatus int
	// OverduePolicy is what a lookup does with an overdue charge.
	OverduePolicy OverduePolicy

	LogLevel  slog.Level
	LogFormat string

	WebhookToken string
	TestMode     bool
	AdminToken   string

	ShutdownTimeout time.Duration

	// DebugAddr, when set, serves Go's profiler (/debug/pprof/) on this
	// loopback address: profiles of the real server under real load.
	DebugAddr string

	// Protecting the lookup and metrics.
	// LookupToken (secret), when set, must come as the path segment
	// /get-recaudas/<token> or the X-Lookup-Token header.
	LookupToken string
	// LookupAllowCIDRs are the networks that may call the lookup; empty: any.
	LookupAllowCIDRs []netip.Prefix
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// LookupRate limits lookups per client address; zero: no limit.
	LookupRate Rate
	// RateIPv6Prefix is the IPv6 prefix length counted as one client by the
	// rate limits (RATE_LIMIT_IPV6_PREFIX, default 64).
	RateIPv6Prefix int
	// MetricsToken (secret), when set, guards /metrics with a bearer token.
	MetricsToken string
	// LookupPublic says the operator wants the lookup open, with neither
	// LookupToken nor LookupAllowCIDRs: serve refuses that otherwise, except
	// on the demo source (CheckLookupProtected).
	LookupPublic bool

	// Asobancaria are the settings of the payments report's Asobancaria
	// 2001 file.
	Asobancaria Asobancaria

	// Sandbox configures the `sandbox` command.
	Sandbox Sandbox
}

// Database is where the tracking store lives.
type Database struct {
	Dialect string // models.DialectSQLite or models.DialectPostgres
	DSN     string // a file path for sqlite, the URL for postgres
}

// Lookup returns the value of an environment variable and whether it is set.
type Lookup func(key string) (string, bool)

// Environment returns a Lookup over the process environment, with the
// .env file at dotenvPath (if it exists) filling the gaps.
func Environment(dotenvPath string) (Lookup, error) {
	file := map[string]string{}
	if dotenvPath != "" {
		m, err := godotenv.Read(dotenvPath)
		switch {
		case err == nil:
			file = m
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, fmt.Errorf("config: reading %s: %w", dotenvPath, err)
		}
	}
	return func(key string) (string, bool) {
		if v, ok := os.LookupEnv(key); ok {
			return v, true
		}
		v, ok := file[key]
		return v, ok
	}, nil
}

// Load builds and validates a Config from lookup. ERP_SOURCE is one of
// sources, whose Settings read its own variables (erp/sources.Config()
// gives the binary's). Every problem is reported at once, each naming its
// variable.
func Load(lookup Lookup, sources []ERPSource) (Config, error) {
	r := reader{lookup: lookup}
	c := Config{
		ListenAddr:      r.str("LISTEN_ADDR", ":8080"),
		DatabaseURL:     r.str("DATABASE_URL", "recauda.db"),
		ERPSource:       strings.ToLower(r.str("ERP_SOURCE", "demo")),
		ERPConfig:       r.str("ERP_CONFIG", ""),
		ERPTimeout:      r.duration("ERP_TIMEOUT", 3*time.Second),
		PublicURL:       strings.TrimRight(r.str("PUBLIC_URL", ""), "/"),
		ResendAfter:     r.duration("RESEND_AFTER", 24*time.Hour),
		EmptyStatus:     r.integer("EMPTY_STATUS", 200),
		LogFormat:       strings.ToLower(r.str("LOG_FORMAT", "text")),
		WebhookToken:    r.secret("EFIPAY_WEBHOOK_TOKEN"),
		TestMode:        r.boolean("EFIPAY_TEST_MODE", false),
		AdminToken:      r.secret("ADMIN_TOKEN"),
		ShutdownTimeout: r.duration("SHUTDOWN_TIMEOUT", 15*time.Second),
		DebugAddr:       r.str("DEBUG_ADDR", ""),
	}
	c.LogLevel = r.level("LOG_LEVEL", slog.LevelInfo)

	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		r.fail("LISTEN_ADDR", "must be host:port or :port, got %q", c.ListenAddr)
	}
	if c.DebugAddr != "" && !isLoopback(c.DebugAddr) {
		r.fail("DEBUG_ADDR", "must be a loopback host:port such as 127.0.0.1:6060 (profiles expose the process's memory), got %q", c.DebugAddr)
	}
	db, err := ParseDatabaseURL(c.DatabaseURL)
	if err != nil {
		r.fail("DATABASE_URL", "%v", err)
	}
	c.Database = db
	r.databasePool(&c)
	if c.ERPTimeout <= 0 {
		r.fail("ERP_TIMEOUT", "must be positive")
	}
	if c.ResendAfter < 0 {
		r.fail("RESEND_AFTER", "must be 0 (never) or positive")
	}
	if p, err := ParseOverduePolicy(r.str("OVERDUE_POLICY", "")); err != nil {
		r.fail("OVERDUE_POLICY", "%v", err)
	} else {
		c.OverduePolicy = p
	}
	if c.EmptyStatus != 200 && c.EmptyStatus != 404 {
		r.fail("EMPTY_STATUS", "must be 200 or 404, got %d", c.EmptyStatus)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail("PUBLIC_URL", "must be an absolute http(s) URL, got %q", c.PublicURL)
		}
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		r.fail("LOG_FORMAT", "must be json or text, got %q", c.LogFormat)
	}
	if c.ShutdownTimeout <= 0 {
		r.fail("SHUTDOWN_TIMEOUT", "must be positive")
	}
	r.erpSources(&c, sources)
	r.lookupProtection(&c)
	r.asobancaria(&c)
	r.sandbox(&c)
	if len(r.errs) > 0 {
		return Config{}, errors.Join(r.errs...)
	}
	return c, nil
}

// WebhookURL is where Efipay must POST payment updates, or "" when
// PUBLIC_URL is not set.
func (c Config) WebhookURL() string {
	if c.PublicURL == "" {
		return ""
	}
	return c.PublicURL + "/webhooks/efipay"
}

// isLoopback says whether addr is host:port with host a loopback IP or
// localhost.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ParseDatabaseURL tells SQLite (a path, or sqlite://path) from PostgreSQL
// (postgres:// or postgresql://).
func ParseDatabaseURL(raw string) (Database, error) {
	switch {
	case raw == "":
		return Database{}, errors.New("must not be empty")
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			// url's error quotes the whole URL, password included.
			reason := err.Error()
			var ue *url.Error
			if errors.As(err, &ue) {
				reason = ue.Err.Error()
			}
			return Database{}, fmt.Errorf("not a valid postgres URL: %s: %s", redactURL(raw), quoted.ReplaceAllString(reason, "…"))
		}
		return Database{Dialect: models.DialectPostgres, DSN: raw}, nil
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if path == "" {
			return Database{}, errors.New("sqlite:// needs a file path")
		}
		return Database{Dialect: models.DialectSQLite, DSN: path}, nil
	case strings.Contains(raw, "://"):
		return Database{}, fmt.Errorf("unsupported scheme in %q: use a file path, sqlite://path or postgres://", redactURL(raw))
	default:
		return Database{Dialect: models.DialectSQLite, DSN: raw}, nil
	}
}

// quoted is a quoted part of an error from net/url: a piece of the URL,
// which may be a piece of the password.
var quoted = regexp.MustCompile(`"[^"]*"`)

// redactURL masks the password of a URL that may not parse, as pgx does
// (":xxxxx@"), and more: everything between the user name and the last "@"
// is the password, even when it holds ":" or "/".
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return raw
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

type reader struct {
	lookup Lookup
	errs   []error
}

func (r *reader) fail(key, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (r *reader) str(key, def string) string {
	if v, ok := r.lookup(key); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// secret reads KEY, or the file named by KEY_FILE; never both.
func (r *reader) secret(key string) string {
	v, hasValue := r.lookup(key)
	path, hasFile := r.lookup(key + "_FILE")
	if hasValue && v != "" && hasFile && path != "" {
		r.fail(key, "set either %s or %s_FILE, not both", key, key)
		return ""
	}
	if hasFile && path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			r.fail(key+"_FILE", "cannot read secret file: %v", err)
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return strings.TrimSpace(v)
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	if v == "0" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(key, "not a duration like 3s or 24h: %q", v)
		return def
	}
	return d
}

func (r *reader) integer(key string, def int) int {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(key, "not an integer: %q", v)
		return def
	}
	return n
}

func (r *reader) boolean(key string, def bool) bool {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(key, "not true or false: %q", v)
		return def
	}
	return b
}

func (r *reader) level(key string, def slog.Level) slog.Level {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.fail(key, "must be debug, info, warn or error, got %q", v)
		return def
	}
	return l
}
