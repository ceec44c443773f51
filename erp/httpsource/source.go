// Package httpsource is an erp.Source for ERPs with a REST API (Alegra,
// Siigo Nube, ERPNext, SAP Business One behind a gateway, a merchant's own
// service): it sends one configurable request per lookup, picks the records
// out of the JSON answer with gjson paths, and maps each record's fields to a
// Charge. It can record payments with a second configurable request.
//
// Ready-made settings for Alegra and Siigo Nube are selected with
// `preset: alegra` or `preset: siigo`; see README.md.
package httpsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// Source asks a REST ERP for a customer's pending charges. It is safe for
// concurrent use.
type Source struct {
	cfg     Config
	mapping Mapping
	client  *http.Client
	log     *slog.Logger
	now     func() time.Time

	tokenMu  sync.Mutex
	token    string
	tokenExp time.Time
}

// New checks cfg (after applying its preset, defaults and ${ENV}
// expansion) and returns a Source. Every problem of cfg is reported at once.
// A nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Source, error) {
	c, err := cfg.prepare(nil)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = c.Timeout
	return &Source{
		cfg:     c,
		mapping: Mapping{Paths: c.Mapping, Templates: c.Templates, Defaults: c.Defaults},
		client:  &http.Client{Transport: transport},
		log:     logger.With("erp", "http"),
		now:     time.Now,
	}, nil
}

// CanRecord reports whether a write-back request is configured.
func (s *Source) CanRecord() bool { return s.cfg.Writeback.URL != "" }

// PendingCharges asks the ERP for idNumber's records and maps each to a
// Charge, screened as Screen says: records without ref_payment or of
// another identification (an ERP that ignored the filter) are dropped and
// counted in a warning. A record with a field that cannot be read comes back
// with Defects. Any failure to ask or
// to read the answer wraps erp.ErrUnavailable.
func (s *Source) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	vals := map[string]string{"id_number": idNumber}
	req := request{
		op:     "lookup",
		method: s.cfg.Method,
		url:    render(s.cfg.URL, vals, escapeURL),
		retry:  s.cfg.Method == http.MethodGet || s.cfg.Idempotent,
	}
	if s.cfg.Body != "" {
		req.body = []byte(render(s.cfg.Body, vals, escapeJSON))
	}
	ans, err := s.do(ctx, req)
	if err != nil {
		return nil, err
	}
	if ans.status == http.StatusNotFound && s.cfg.NotFoundIsEmpty {
		return []erp.Charge{}, nil
	}
	if err := ans.wantOK(req); err != nil {
		return nil, err
	}
	items, err := s.items(ans.body)
	if err != nil {
		return nil, fmt.Errorf("httpsource: lookup: %s: %w", err, erp.ErrUnavailable)
	}

	charges := make([]erp.Charge, 0, len(items))
	for _, item := range items {
		charges = append(charges, ChargeFromItem(item, s.mapping))
	}
	charges, st := Screen(idNumber, charges)
	if st.OtherCustomer > 0 {
		s.log.WarnContext(ctx, "erp answered records of other customers; dropped them (does the ERP honour the filter in the URL?)",
			"dropped", st.OtherCustomer, "kept", len(charges))
	}
	if st.NoRef > 0 {
		s.log.WarnContext(ctx, "erp answered records without ref_payment; dropped them (check mapping.ref_payment)", "dropped", st.NoRef)
	}
	if err := s.fillPayerName(ctx, idNumber, charges); err != nil {
		return nil, err
	}
	return charges, nil
}

// items picks the records out of an answer and applies the filter.
func (s *Source) items(body []byte) ([]gjson.Result, error) {
	if !gjson.ValidBytes(body) {
		return nil, errors.New("answer is not valid JSON")
	}
	list := gjson.ParseBytes(body)
	if s.cfg.ItemsPath != "" {
		list = list.Get(s.cfg.ItemsPath)
		if !list.Exists() {
			return nil, fmt.Errorf("answer has nothing at items_path %q", s.cfg.ItemsPath)
		}
	}
	if list.Type == gjson.Null {
		return nil, nil
	}
	if !list.IsArray() {
		return nil, fmt.Errorf("answer at items_path %q is not a list", s.cfg.ItemsPath)
	}
	if s.cfg.Filter != "" {
		list = gjson.Get(list.Raw, "#("+s.cfg.Filter+")#")
	}
	return list.Array(), nil
}

// fillPayerName asks PayerNameLookup once for the name of the charges that
// lack one.
func (s *Source) fillPayerName(ctx context.Context, idNumber string, charges []erp.Charge) error {
	if s.cfg.PayerNameLookup.URL == "" {
		return nil
	}
	missing := false
	for _, c := range charges {
		if c.PayerName == "" {
			missing = true
			break
		}
	}
	if !missing {
		return nil
	}
	req := request{
		op:     "payer name lookup",
		method: http.MethodGet,
		url:    render(s.cfg.PayerNameLookup.URL, map[string]string{"id_number": idNumber}, escapeURL),
		retry:  true,
	}
	ans, err := s.do(ctx, req)
	if err != nil {
		return err
	}
	if err := ans.wantOK(req); err != nil {
		return err
	}
	if !gjson.ValidBytes(ans.body) {
		return fmt.Errorf("httpsource: payer name lookup: answer is not valid JSON: %w", erp.ErrUnavailable)
	}
	name, err := scalarString(gjson.GetBytes(ans.body, s.cfg.PayerNameLookup.Path))
	if err != nil || name == "" {
		// No name is not an outage: validation holds the charges back with
		// the reason.
		return nil
	}
	for i := range charges {
		if charges[i].PayerName == "" {
			charges[i].PayerName = name
		}
	}
	return nil
}

// RecordPayment sends the write-back request once. 2xx is success; 404 and
// 410 wrap erp.ErrNotFound; a network failure, timeout, 408, 425, 429 or 5xx
// wraps erp.ErrUnavailable (the caller retries later, with the same
// Idempotency-Key); any other answer is a permanent error. It is never
// retried here: a write that timed out may have been recorded, and only the
// ERP's handling of the Idempotency-Key makes a second try harmless.
func (s *Source) RecordPayment(ctx context.Context, p erp.Payment) error {
	if !s.CanRecord() {
		return fmt.Errorf("httpsource: no writeback configured: %w", erp.ErrUnsupported)
	}
	if p.TransactionID == "" {
		return errors.New("httpsource: write-back: payment has no transaction ID")
	}
	vals := map[string]string{
		"ref_payment":    p.RefPayment,
		"transaction_id": p.TransactionID,
		"id_number":      p.IDNumber,
		"amount":         p.Amount.String(),
		"currency":       p.Currency,
		"paid_at":        p.PaidAt.UTC().Format(time.RFC3339),
		"paid_date":      p.PaidAt.In(models.Bogota).Format(time.DateOnly),
		"status":         p.Status,
		"payment_method": p.PaymentMethod,
	}
	return s.write(ctx, "write-back", s.cfg.Writeback, vals, p.TransactionID)
}

// CanReverse reports whether a reversal request is configured.
func (s *Source) CanReverse() bool { return s.cfg.Reversal.URL != "" }

// RecordReversal sends the reversal request once, with the reversed
// payment's fields, {status} "reversed", {reversed_at} and {reversed_date},
// and an Idempotency-Key of the transaction ID followed by "-reversal" (the
// payment's own key must not answer for it). Answers as RecordPayment's;
// without a reversal request it answers erp.ErrUnsupported.
func (s *Source) RecordReversal(ctx context.Context, r erp.Reversal) error {
	if !s.CanReverse() {
		return fmt.Errorf("httpsource: no reversal configured: %w", erp.ErrUnsupported)
	}
	if r.TransactionID == "" {
		return errors.New("httpsource: reversal: no transaction ID")
	}
	vals := map[string]string{
		"ref_payment":    r.RefPayment,
		"transaction_id": r.TransactionID,
		"id_number":      r.IDNumber,
		"amount":         r.Amount.String(),
		"currency":       r.Currency,
		"reversed_at":    r.ReversedAt.UTC().Format(time.RFC3339),
		"reversed_date":  r.ReversedAt.In(models.Bogota).Format(time.DateOnly),
		"status":         "reversed",
		"payment_method": r.PaymentMethod,
	}
	return s.write(ctx, "reversal", s.cfg.Reversal, vals, r.TransactionID+"-reversal")
}

// write renders and sends a write request (a write-back or a reversal) once
// and maps the answer.
func (s *Source) write(ctx context.Context, op string, wr Writeback, vals map[string]string, key string) error {
	headers := make(map[string]string, len(wr.Headers)+1)
	for k, v := range wr.Headers {
		headers[k] = render(v, vals, escapeHeader)
	}
	headers["Idempotency-Key"] = escapeHeader(key)
	req := request{
		op:      op,
		method:  wr.Method,
		url:     render(wr.URL, vals, escapeURL),
		headers: headers,
	}
	if wr.Body != "" {
		req.body = []byte(render(wr.Body, vals, escapeJSON))
	}
	ans, err := s.do(ctx, req)
	if err != nil {
		return err
	}
	switch st := ans.status; {
	case st >= 200 && st < 300:
		return nil
	case st == http.StatusNotFound || st == http.StatusGone:
		return fmt.Errorf("httpsource: %s: %s answered %d: %w", op, req.host(), st, erp.ErrNotFound)
	case retryableStatus(st):
		return fmt.Errorf("httpsource: %s: %s answered %d: %w", op, req.host(), st, erp.ErrUnavailable)
	default:
		return fmt.Errorf("httpsource: %s: %s refused it with %d: %s", op, req.host(), st, truncate(strings.TrimSpace(string(ans.body)), 200))
	}
}

// Check fetches HealthURL when it is set, or else logs in when the auth
// type is login; with neither there is nothing to check without a lookup,
// and it returns nil.
func (s *Source) Check(ctx context.Context) error {
	if s.cfg.HealthURL != "" {
		req := request{op: "health check", method: http.MethodGet, url: s.cfg.HealthURL}
		ans, err := s.do(ctx, req)
		if err != nil {
			return err
		}
		return ans.wantOK(req)
	}
	if s.cfg.Auth.Type == AuthLogin {
		_, err := s.bearer(ctx, "")
		return err
	}
	return nil
}

// request is one call to the ERP.
type request struct {
	op      string // for errors: lookup, write-back, ...
	method  string
	url     string
	body    []byte
	headers map[string]string
	retry   bool // safe to send again after a transient failure
	noAuth  bool // the login request itself
}

// host names the ERP in errors and logs without the path or query, which
// may hold the customer's ID number or a secret.
func (r request) host() string {
	if u, err := url.Parse(r.url); err == nil && u.Host != "" {
		return u.Host
	}
	return "erp"
}

type answer struct {
	status int
	body   []byte
}

// wantOK turns a non-2xx answer into an error wrapping erp.ErrUnavailable.
func (a answer) wantOK(r request) error {
	if a.status >= 200 && a.status < 300 {
		return nil
	}
	return fmt.Errorf("httpsource: %s: %s %s answered %d: %w", r.op, r.method, r.host(), a.status, erp.ErrUnavailable)
}

func retryableStatus(st int) bool {
	return st == http.StatusRequestTimeout || st == http.StatusTooEarly ||
		st == http.StatusTooManyRequests || st >= 500
}

// do sends r, retrying it with exponential backoff when r.retry allows and
// the failure is transient, and returns the last answer. Its error (always
// wrapping erp.ErrUnavailable) is for a request that got no usable answer.
func (s *Source) do(ctx context.Context, r request) (answer, error) {
	backoff := s.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		ans, err := s.sendAuthed(ctx, r)
		transient := (err != nil && !errors.Is(err, errTooLarge)) || (err == nil && retryableStatus(ans.status))
		if !transient || !r.retry || attempt >= s.cfg.Retries || ctx.Err() != nil {
			return ans, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < backoff {
			return ans, err // no time left to wait and try again
		}
		s.log.DebugContext(ctx, "retrying erp request", "op", r.op, "host", r.host(), "attempt", attempt+1, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ans, err
		case <-t.C:
		}
		backoff *= 2
	}
}

// sendAuthed sends r once; with login auth, a 401 logs in again and sends
// once more (the ERP refused the token, so nothing was done).
func (s *Source) sendAuthed(ctx context.Context, r request) (answer, error) {
	ans, token, err := s.send(ctx, r)
	if err == nil && ans.status == http.StatusUnauthorized && s.cfg.Auth.Type == AuthLogin && !r.noAuth {
		s.log.InfoContext(ctx, "erp refused the token; logging in again", "host", r.host())
		if _, err := s.bearer(ctx, token); err != nil {
			return answer{}, err
		}
		ans, _, err = s.send(ctx, r)
	}
	return ans, err
}

var errTooLarge = errors.New("answer too large")

// send makes one HTTP request under the per-request timeout. It returns the
// bearer token it used (login auth) so that a 401 can replace exactly that
// one.
func (s *Source) send(ctx context.Context, r request) (answer, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return answer{}, "", fmt.Errorf("httpsource: %s: building request: %w: %w", r.op, err, erp.ErrUnavailable)
	}
	req.URL.RawQuery = tidyQuery(req.URL.RawQuery)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "recauda-bridge")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	var token string
	if !r.noAuth {
		switch s.cfg.Auth.Type {
		case AuthBearer:
			req.Header.Set("Authorization", "Bearer "+s.cfg.Auth.Token)
		case AuthBasic:
			req.SetBasicAuth(s.cfg.Auth.Username, s.cfg.Auth.Password)
		case AuthAPIKey:
			req.Header.Set(s.cfg.Auth.Header, s.cfg.Auth.Token)
		case AuthLogin:
			if token, err = s.bearer(ctx, ""); err != nil {
				return answer{}, "", err
			}
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}

	resp, err := s.client.Do(req)
	if err != nil {
		return answer{}, token, s.transportError(ctx, r, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxResponseBytes+1))
	if err != nil {
		return answer{}, token, s.transportError(ctx, r, err)
	}
	if int64(len(data)) > s.cfg.MaxResponseBytes {
		return answer{}, token, fmt.Errorf("httpsource: %s: %s %s: %w over %d bytes: %w",
			r.op, r.method, r.host(), errTooLarge, s.cfg.MaxResponseBytes, erp.ErrUnavailable)
	}
	return answer{status: resp.StatusCode, body: data}, token, nil
}

// transportError describes a failed request without its URL (Go's
// *url.Error quotes it whole, ID number and query secrets included).
func (s *Source) transportError(ctx context.Context, r request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out: %w", context.DeadlineExceeded)
	}
	return fmt.Errorf("httpsource: %s: %s %s: %w: %w", r.op, r.method, r.host(), err, erp.ErrUnavailable)
}

// bearer returns the login token, logging in when there is none, it has
// expired, or it is the stale one a 401 just refused.
func (s *Source) bearer(ctx context.Context, stale string) (string, error) {
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	if s.token != "" && s.token != stale && s.now().Before(s.tokenExp) {
		return s.token, nil
	}
	a := s.cfg.Auth
	req := request{
		op:     "login",
		method: http.MethodPost,
		url:    a.LoginURL,
		body:   []byte(render(a.LoginBody, map[string]string{"username": a.Username, "password": a.Password}, escapeJSON)),
		noAuth: true,
	}
	ans, _, err := s.send(ctx, req)
	if err != nil {
		return "", err
	}
	if err := ans.wantOK(req); err != nil {
		return "", err
	}
	token := gjson.GetBytes(ans.body, a.TokenPath).String()
	if token == "" {
		return "", fmt.Errorf("httpsource: login: answer has no token at %q: %w", a.TokenPath, erp.ErrUnavailable)
	}
	ttl := a.TokenTTL
	if secs := gjson.GetBytes(ans.body, a.ExpiresInPath); secs.Type == gjson.Number && secs.Int() > 0 {
		ttl = time.Duration(secs.Int()) * time.Second
	}
	// Renew a little early so that a token never expires in flight.
	ttl -= min(ttl/10, time.Minute)
	s.token, s.tokenExp = token, s.now().Add(ttl)
	return token, nil
}

var (
	_ erp.PaymentRecorder  = (*Source)(nil)
	_ erp.ReversalRecorder = (*Source)(nil)
	_ erp.HealthChecker    = (*Source)(nil)
)

var _ erp.Source = (*Source)(nil)
