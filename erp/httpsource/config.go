package httpsource

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"recauda-bridge/erp"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultRetryBackoff     = 200 * time.Millisecond
	DefaultMaxResponseBytes = 5 << 20
	DefaultTokenTTL         = 10 * time.Minute
	DefaultTokenPath        = "access_token"
	DefaultExpiresInPath    = "expires_in"
	maxRetries              = 10
)

// Auth types.
const (
	AuthNone   = "none"
	AuthBearer = "bearer"
	AuthBasic  = "basic"
	AuthAPIKey = "api_key"
	AuthLogin  = "login"
)

// Config is the "http" section of the ERP configuration file. Every string
// may use ${ENV_VAR}: it is replaced by the variable's value when New runs,
// so secrets stay out of the file; a variable that is not set is a
// configuration error.
type Config struct {
	// Preset fills every field below that is left empty with the settings of
	// a known ERP: "alegra" or "siigo". Fields set here win, one by one (one
	// mapping entry, one header, one auth field).
	Preset string `yaml:"preset"`
	// URL of the lookup; {id_number} is replaced by the customer's ID number,
	// URL-escaped. Required (unless a preset gives it).
	URL string `yaml:"url"`
	// Method of the lookup: GET (default) or POST.
	Method string `yaml:"method"`
	// Headers sent with every request to the ERP (lookup, login, write-back).
	Headers map[string]string `yaml:"headers"`
	// Auth says how to authenticate.
	Auth Auth `yaml:"auth"`
	// Body of the lookup, for ERPs that search with a POST; {id_number} is
	// replaced JSON-escaped (the template supplies the quotes).
	Body string `yaml:"body"`
	// ItemsPath is the gjson path to the array of records in the answer;
	// empty means the answer is the array.
	ItemsPath string `yaml:"items_path"`
	// Mapping maps a field name (ref_payment, id_number, payer_name,
	// description, amount, currency_type, limit_date, advance_type,
	// advance_value, references, picture, has_comments, comments_label,
	// discount_type, discount_value, discount_before_on, delivery_type,
	// delivery_value, request_address_delivery, metadata) to a gjson path
	// inside one record. "a || b" tries a, then b.
	Mapping map[string]string `yaml:"mapping"`
	// Templates maps a field name to a text with {gjson.path} placeholders,
	// e.g. description: "Factura {numberTemplate.fullNumber}". A field in
	// Mapping wins over the same field here.
	Templates map[string]string `yaml:"templates"`
	// Defaults are constant values for fields the ERP lacks or leaves empty,
	// e.g. currency_type: COP.
	Defaults map[string]string `yaml:"defaults"`
	// Filter is a gjson query condition that keeps only the records matching
	// it, e.g. `balance>0` or `status=="open"`. Empty keeps all.
	Filter string `yaml:"filter"`
	// PayerNameLookup fetches the customer's name from a second URL when the
	// records lack it (Siigo's invoices carry only the customer's ID).
	PayerNameLookup Lookup `yaml:"payer_name_lookup"`
	// Timeout of one request to the ERP (default 10s). The caller's deadline
	// bounds the whole lookup, retries included.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many times a failed lookup (network error, timeout, 408,
	// 429 or 5xx) is tried again, with exponential backoff, when the lookup is
	// a GET or Idempotent is set. Write-backs are never retried here.
	Retries int `yaml:"retries"`
	// RetryBackoff is the wait before the first retry (default 200ms),
	// doubled at each further one.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// Idempotent marks a POST lookup as safe to retry.
	Idempotent bool `yaml:"idempotent"`
	// MaxResponseBytes caps an answer (default 5 MiB); a larger one is an
	// error.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// NotFoundIsEmpty makes a 404 answer to the lookup mean "no pending
	// charges" for ERPs that answer so for an unknown customer. Off by
	// default: a 404 usually means a wrong URL.
	NotFoundIsEmpty bool `yaml:"not_found_is_empty"`
	// HealthURL, when set, is fetched (GET, with auth) by Check; any 2xx
	// means healthy.
	HealthURL string `yaml:"health_url"`
	// Writeback records payments in the ERP; empty URL means the source does
	// not record payments.
	Writeback Writeback `yaml:"writeback"`
	// Reversal undoes a payment the write-back recorded (Efipay's
	// "Reversada"); empty URL means each reversal waits for the operator. It
	// needs Writeback. Its URL, Body and Headers may use reversalFields.
	Reversal Writeback `yaml:"reversal"`
}

// Auth is how requests authenticate.
type Auth struct {
	// Type is none (default), bearer, basic, api_key or login.
	Type string `yaml:"type"`
	// Token is the bearer token, or the api_key header's value.
	Token string `yaml:"token"`
	// Username and Password are for basic, and for login's body.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Header is the api_key header's name (e.g. X-API-Key, or Authorization
	// with token "token KEY:SECRET" for ERPNext).
	Header string `yaml:"header"`
	// LoginURL (login) receives a POST of LoginBody, where {username} and
	// {password} are replaced JSON-escaped; the answer's TokenPath is then
	// sent as a bearer token until ExpiresInPath seconds (or TokenTTL) pass,
	// or the ERP answers 401.
	LoginURL      string        `yaml:"login_url"`
	LoginBody     string        `yaml:"login_body"`
	TokenPath     string        `yaml:"token_path"`
	ExpiresInPath string        `yaml:"expires_in_path"`
	TokenTTL      time.Duration `yaml:"token_ttl"`
}

// Lookup is a second GET whose answer gives one value.
type Lookup struct {
	// URL with {id_number}; empty turns the lookup off.
	URL string `yaml:"url"`
	// Path is the gjson path of the value in the answer; a list of texts is
	// joined with spaces.
	Path string `yaml:"path"`
}

// Writeback is the request that records a payment. Its URL, Body and
// Headers may use {ref_payment}, {transaction_id}, {id_number}, {amount},
// {currency}, {paid_at} (RFC 3339, UTC), {paid_date} (YYYY-MM-DD in
// Colombia), {status} and {payment_method}: URL-escaped in the URL,
// JSON-escaped in the body, as they are in headers. An Idempotency-Key header
// carries the transaction ID.
type Writeback struct {
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"` // default POST
	Body    string            `yaml:"body"`
	Headers map[string]string `yaml:"headers"`
}

var writebackFields = []string{
	"ref_payment", "transaction_id", "id_number", "amount", "currency",
	"paid_at", "paid_date", "status", "payment_method",
}

// reversalFields are the placeholders of the reversal request: the reversed
// payment's, {status} "reversed", and when the bridge learned of it.
var reversalFields = []string{
	"ref_payment", "transaction_id", "id_number", "amount", "currency",
	"reversed_at", "reversed_date", "status", "payment_method",
}

// prepare applies the preset and the defaults, expands ${ENV} and checks
// everything, returning all problems at once.
func (c Config) prepare(lookupEnv func(string) (string, bool)) (Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("httpsource: %s: %s", field, fmt.Sprintf(format, args...)))
	}

	if c.Preset != "" {
		p, ok := presets[strings.ToLower(c.Preset)]
		if !ok {
			names := make([]string, 0, len(presets))
			for n := range presets {
				names = append(names, n)
			}
			sort.Strings(names)
			return c, fmt.Errorf("httpsource: preset: unknown preset %q (known: %s)", c.Preset, strings.Join(names, ", "))
		}
		c = overlay(p(), c)
	}

	// Expand ${ENV} in every string that may hold a secret or a host.
	expand := func(field string, s *string) {
		v, err := erp.ExpandEnv(*s, lookupEnv)
		if err != nil {
			bad(field, "%v", err)
			return
		}
		*s = v
	}
	expandMap := func(field string, m map[string]string) map[string]string {
		out := make(map[string]string, len(m))
		for k, v := range m {
			expand(field+"."+k, &v)
			out[k] = v
		}
		return out
	}
	expand("url", &c.URL)
	expand("body", &c.Body)
	expand("health_url", &c.HealthURL)
	expand("payer_name_lookup.url", &c.PayerNameLookup.URL)
	c.Headers = expandMap("headers", c.Headers)
	expand("auth.token", &c.Auth.Token)
	expand("auth.username", &c.Auth.Username)
	expand("auth.password", &c.Auth.Password)
	expand("auth.login_url", &c.Auth.LoginURL)
	expand("auth.login_body", &c.Auth.LoginBody)
	expand("writeback.url", &c.Writeback.URL)
	expand("writeback.body", &c.Writeback.Body)
	c.Writeback.Headers = expandMap("writeback.headers", c.Writeback.Headers)
	expand("reversal.url", &c.Reversal.URL)
	expand("reversal.body", &c.Reversal.Body)
	c.Reversal.Headers = expandMap("reversal.headers", c.Reversal.Headers)

	// Defaults.
	c.Method = strings.ToUpper(strings.TrimSpace(c.Method))
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	c.Auth.Type = strings.ToLower(strings.TrimSpace(c.Auth.Type))
	if c.Auth.Type == "" {
		c.Auth.Type = AuthNone
	}
	if c.Auth.Type == AuthLogin {
		if c.Auth.TokenPath == "" {
			c.Auth.TokenPath = DefaultTokenPath
		}
		if c.Auth.ExpiresInPath == "" {
			c.Auth.ExpiresInPath = DefaultExpiresInPath
		}
		if c.Auth.TokenTTL == 0 {
			c.Auth.TokenTTL = DefaultTokenTTL
		}
	}
	c.Writeback.Method = strings.ToUpper(strings.TrimSpace(c.Writeback.Method))
	if c.Writeback.Method == "" {
		c.Writeback.Method = http.MethodPost
	}
	c.Reversal.Method = strings.ToUpper(strings.TrimSpace(c.Reversal.Method))
	if c.Reversal.Method == "" {
		c.Reversal.Method = http.MethodPost
	}

	// Checks.
	if c.URL == "" {
		bad("url", "is required")
	} else {
		checkURL(bad, "url", c.URL, []string{"id_number"})
		if !strings.Contains(c.URL, "{id_number}") && !strings.Contains(c.Body, "{id_number}") {
			bad("url", "neither url nor body contains {id_number}: the ERP would not know whose charges to return")
		}
	}
	if err := checkPlaceholders(c.Body, []string{"id_number"}); err != nil {
		bad("body", "%v", err)
	}
	switch c.Method {
	case http.MethodGet, http.MethodPost:
	default:
		bad("method", "%q is not GET or POST", c.Method)
	}
	if c.Timeout < 0 {
		bad("timeout", "must not be negative")
	}
	if c.RetryBackoff < 0 {
		bad("retry_backoff", "must not be negative")
	}
	if c.Retries < 0 || c.Retries > maxRetries {
		bad("retries", "must be between 0 and %d", maxRetries)
	}
	if c.MaxResponseBytes < 0 {
		bad("max_response_bytes", "must not be negative")
	}
	if c.HealthURL != "" {
		checkURL(bad, "health_url", c.HealthURL, nil)
	}
	if c.PayerNameLookup.URL != "" {
		checkURL(bad, "payer_name_lookup.url", c.PayerNameLookup.URL, []string{"id_number"})
		if c.PayerNameLookup.Path == "" {
			bad("payer_name_lookup.path", "is required when payer_name_lookup.url is set")
		}
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			bad("headers", "%q is not a header name", k)
		}
	}

	switch c.Auth.Type {
	case AuthNone:
	case AuthBearer:
		if c.Auth.Token == "" {
			bad("auth.token", "is required for auth type bearer")
		}
	case AuthBasic:
		if c.Auth.Username == "" {
			bad("auth.username", "is required for auth type basic")
		}
	case AuthAPIKey:
		if c.Auth.Header == "" {
			bad("auth.header", "is required for auth type api_key (e.g. X-API-Key)")
		}
		if c.Auth.Token == "" {
			bad("auth.token", "is required for auth type api_key")
		}
	case AuthLogin:
		if c.Auth.LoginURL == "" {
			bad("auth.login_url", "is required for auth type login")
		} else {
			checkURL(bad, "auth.login_url", c.Auth.LoginURL, nil)
		}
		if err := checkPlaceholders(c.Auth.LoginBody, []string{"username", "password"}); err != nil {
			bad("auth.login_body", "%v", err)
		}
		if c.Auth.TokenTTL < 0 {
			bad("auth.token_ttl", "must not be negative")
		}
	default:
		bad("auth.type", "%q is not none, bearer, basic, api_key or login", c.Auth.Type)
	}

	for _, section := range []struct {
		name string
		m    map[string]string
	}{{"mapping", c.Mapping}, {"templates", c.Templates}, {"defaults", c.Defaults}} {
		for k := range section.m {
			if !isField(k) {
				bad(section.name+"."+k, "unknown field (known: %s)", strings.Join(FieldNames(), ", "))
			}
		}
	}
	for _, f := range []string{FieldRefPayment, FieldAmount} {
		if c.Mapping[f] == "" && c.Templates[f] == "" && c.Defaults[f] == "" {
			bad("mapping."+f, "is required: say where each record's %s is", f)
		}
	}

	if c.Writeback.URL != "" {
		checkURL(bad, "writeback.url", c.Writeback.URL, writebackFields)
		if err := checkPlaceholders(c.Writeback.Body, writebackFields); err != nil {
			bad("writeback.body", "%v", err)
		}
		for k, v := range c.Writeback.Headers {
			if err := checkPlaceholders(v, writebackFields); err != nil {
				bad("writeback.headers."+k, "%v", err)
			}
		}
		switch c.Writeback.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
		default:
			bad("writeback.method", "%q is not POST, PUT or PATCH", c.Writeback.Method)
		}
	} else if c.Writeback.Body != "" || len(c.Writeback.Headers) > 0 {
		bad("writeback.url", "is required when writeback.body or writeback.headers is set")
	}
	if c.Reversal.URL != "" {
		if c.Writeback.URL == "" {
			bad("reversal.url", "needs writeback.url: only a payment the bridge recorded is reversed")
		}
		checkURL(bad, "reversal.url", c.Reversal.URL, reversalFields)
		if err := checkPlaceholders(c.Reversal.Body, reversalFields); err != nil {
			bad("reversal.body", "%v", err)
		}
		for k, v := range c.Reversal.Headers {
			if err := checkPlaceholders(v, reversalFields); err != nil {
				bad("reversal.headers."+k, "%v", err)
			}
		}
		switch c.Reversal.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			bad("reversal.method", "%q is not POST, PUT, PATCH or DELETE", c.Reversal.Method)
		}
	} else if c.Reversal.Body != "" || len(c.Reversal.Headers) > 0 {
		bad("reversal.url", "is required when reversal.body or reversal.headers is set")
	}
	if strings.EqualFold(c.Preset, "siigo") && !hasHeader(c.Headers, "Partner-Id") {
		bad("headers.Partner-Id", "is required by Siigo's API (your integration's name)")
	}
	return c, errors.Join(errs...)
}

// checkURL renders the template with sample values and checks that it is an
// absolute http(s) URL with a host, and that it has no unknown placeholder.
func checkURL(bad func(string, string, ...any), field, t string, allowed []string) {
	if err := checkPlaceholders(t, allowed); err != nil {
		bad(field, "%v", err)
		return
	}
	sample := make(map[string]string, len(allowed))
	for _, a := range allowed {
		sample[a] = "x"
	}
	u, err := url.Parse(render(t, sample, escapeURL))
	if err != nil {
		bad(field, "is not a URL: %v", err)
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad(field, "must be an absolute http or https URL")
	}
}

// overlay returns base with every field set in top replacing base's.
func overlay(base, top Config) Config {
	out := base
	out.Preset = top.Preset
	setStr := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setStr(&out.URL, top.URL)
	setStr(&out.Method, top.Method)
	setStr(&out.Body, top.Body)
	setStr(&out.ItemsPath, top.ItemsPath)
	setStr(&out.Filter, top.Filter)
	setStr(&out.HealthURL, top.HealthURL)
	setStr(&out.PayerNameLookup.URL, top.PayerNameLookup.URL)
	setStr(&out.PayerNameLookup.Path, top.PayerNameLookup.Path)
	if top.Timeout != 0 {
		out.Timeout = top.Timeout
	}
	if top.Retries != 0 {
		out.Retries = top.Retries
	}
	if top.RetryBackoff != 0 {
		out.RetryBackoff = top.RetryBackoff
	}
	if top.MaxResponseBytes != 0 {
		out.MaxResponseBytes = top.MaxResponseBytes
	}
	out.Idempotent = base.Idempotent || top.Idempotent
	out.NotFoundIsEmpty = base.NotFoundIsEmpty || top.NotFoundIsEmpty

	out.Headers = merge(base.Headers, top.Headers)
	out.Defaults = merge(base.Defaults, top.Defaults)
	// An explicit path replaces the preset's template for that field and the
	// other way round, so that the user's choice is the one used.
	out.Mapping = merge(base.Mapping, top.Mapping)
	out.Templates = merge(base.Templates, top.Templates)
	for k := range top.Mapping {
		if _, both := top.Templates[k]; !both {
			delete(out.Templates, k)
		}
	}
	for k := range top.Templates {
		if _, both := top.Mapping[k]; !both {
			delete(out.Mapping, k)
		}
	}

	if top.Auth.Type != "" && !strings.EqualFold(top.Auth.Type, base.Auth.Type) {
		out.Auth = top.Auth
	} else {
		a := &out.Auth
		setStr(&a.Type, top.Auth.Type)
		setStr(&a.Token, top.Auth.Token)
		setStr(&a.Username, top.Auth.Username)
		setStr(&a.Password, top.Auth.Password)
		setStr(&a.Header, top.Auth.Header)
		setStr(&a.LoginURL, top.Auth.LoginURL)
		setStr(&a.LoginBody, top.Auth.LoginBody)
		setStr(&a.TokenPath, top.Auth.TokenPath)
		setStr(&a.ExpiresInPath, top.Auth.ExpiresInPath)
		if top.Auth.TokenTTL != 0 {
			a.TokenTTL = top.Auth.TokenTTL
		}
	}

	w := &out.Writeback
	setStr(&w.URL, top.Writeback.URL)
	setStr(&w.Method, top.Writeback.Method)
	setStr(&w.Body, top.Writeback.Body)
	w.Headers = merge(base.Writeback.Headers, top.Writeback.Headers)
	r := &out.Reversal
	setStr(&r.URL, top.Reversal.URL)
	setStr(&r.Method, top.Reversal.Method)
	setStr(&r.Body, top.Reversal.Body)
	r.Headers = merge(base.Reversal.Headers, top.Reversal.Headers)
	return out
}

func merge(base, top map[string]string) map[string]string {
	if base == nil && top == nil {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = make(map[string]string, len(top))
	}
	maps.Copy(out, top)
	return out
}

// hasHeader reports whether h sets name (header names ignore case).
func hasHeader(h map[string]string, name string) bool {
	for k, v := range h {
		if strings.EqualFold(k, name) && v != "" {
			return true
		}
	}
	return false
}
