// Package conformance checks a Recauda ERP lookup endpoint (this bridge, or
// anybody's own implementation) against Efipay's contract: the answer's
// status, content type and shape, every field rule of every item (the
// bridge's own validator), the ids and references, the webhook URL, the
// answer time, robustness against malformed ID numbers, and Efipay's
// recommendation not to send the same refs twice.
//
// Each check ends as PASS, WARN (allowed, but worth a look) or FAIL (Efipay
// would refuse the item, or the endpoint misbehaves), with a reason.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"recauda-bridge/efipay"
	"recauda-bridge/internal/loopback"
	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// Status is a check's verdict.
type Status string

// The verdicts, from best to worst.
const (
	Pass Status = "PASS"
	Warn Status = "WARN"
	Fail Status = "FAIL"
)

// The checks, by their stable names (they appear in --json output).
const (
	CheckStatus      = "status"
	CheckContentType = "content_type"
	CheckBody        = "body_shape"
	CheckItemRules   = "item_rules"
	CheckIDNumber    = "id_number"
	CheckRefUnique   = "ref_unique"
	CheckHasComments = "has_comments"
	CheckWebhookURL  = "webhook_url"
	CheckTiming      = "answer_time"
	CheckNoResend    = "no_resend"
	CheckLetters     = "malformed_letters"
	CheckTooLong     = "malformed_too_long"
	CheckEmpty       = "malformed_empty"
	CheckRepeated    = "malformed_repeated"
	CheckUnknown     = "unknown_id"
)

// ErrUsage means the options cannot run: a URL that is not absolute http(s),
// or a remote one without AllowRemote.
var ErrUsage = errors.New("conformance: bad usage")

// UnknownIDNumber is the well-formed ID number nobody is expected to have,
// probed for the empty answer.
const UnknownIDNumber = "0000000000"

// Options say what to check and how.
type Options struct {
	// URL is the lookup URL as it would be set in Efipay's panel, without
	// the token (see Token).
	URL string
	// Token, when set, is appended to URL's path as one more segment, as
	// the bridge's LOOKUP_TOKEN is.
	Token string
	// Header is sent with every call.
	Header http.Header
	// IDNumbers are the customers to look up; an ID number with pending
	// charges is needed for the item checks.
	IDNumbers []string
	// AllowRemote lets the check call a host other than this machine.
	AllowRemote bool
	// Calls is how many lookups of each ID number the answer time is
	// measured over (at least 2; default 10).
	Calls int
	// WarnAfter and FailAfter bound the 99th percentile of the answer time
	// (defaults 1 s and efipay.LookupTimeout).
	WarnAfter, FailAfter time.Duration
	// Validator is the bridge's validator; its clock decides "today".
	Validator *validation.Validator
	// Client overrides the HTTP client (tests); nil builds one that obeys
	// AllowRemote.
	Client *http.Client
}

// Result is one check's outcome.
type Result struct {
	Check    string `json:"check"`
	IDNumber string `json:"id_number,omitempty"`
	Status   Status `json:"status"`
	Reason   string `json:"reason"`
}

// Report is the whole run.
type Report struct {
	// Target is the URL checked, with any token replaced by "[token]".
	Target   string   `json:"target"`
	Results  []Result `json:"results"`
	Verdict  Status   `json:"verdict"`
	Passed   int      `json:"passed"`
	Warnings int      `json:"warnings"`
	Failed   int      `json:"failed"`
}

// Run performs every check and returns the report. It fails only with
// ErrUsage (nothing was called) or when ctx ends.
func Run(ctx context.Context, o Options) (*Report, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: the URL must be an absolute http(s) URL, got %q", ErrUsage, o.URL)
	}
	if !o.AllowRemote && !loopback.IsLocal(u) {
		return nil, fmt.Errorf("%w: %s: %w", ErrUsage, u.Host, loopback.ErrRemote)
	}
	if o.Validator == nil {
		o.Validator = validation.New(nil)
	}
	if o.Calls < 2 {
		o.Calls = 10
	}
	if o.WarnAfter <= 0 {
		o.WarnAfter = time.Second
	}
	if o.FailAfter <= 0 {
		o.FailAfter = efipay.LookupTimeout
	}
	if o.Client == nil {
		// Twice Efipay's patience, so that a slow answer is measured rather
		// than cut.
		o.Client = loopback.Client(2*efipay.LookupTimeout, o.AllowRemote)
	}
	target := *u
	if o.Token != "" {
		u = u.JoinPath(o.Token)
		target = *target.JoinPath("[token]")
	}
	c := &checker{o: o, base: u, report: &Report{Target: target.String()}}
	// The probes come first: an endpoint that sends each ref once would
	// otherwise have nothing left to leak to them.
	base := "1234567890"
	if len(o.IDNumbers) > 0 {
		base = o.IDNumbers[0]
	}
	c.robustness(ctx, base)
	for _, id := range o.IDNumbers {
		c.customer(ctx, id)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.report.Verdict = Pass
	for _, r := range c.report.Results {
		switch r.Status {
		case Pass:
			c.report.Passed++
		case Warn:
			c.report.Warnings++
			if c.report.Verdict == Pass {
				c.report.Verdict = Warn
			}
		case Fail:
			c.report.Failed++
			c.report.Verdict = Fail
		}
	}
	return c.report, nil
}

type checker struct {
	o      Options
	base   *url.URL
	report *Report
}

func (c *checker) add(check, id string, s Status, format string, args ...any) {
	c.report.Results = append(c.report.Results, Result{Check: check, IDNumber: id, Status: s, Reason: fmt.Sprintf(format, args...)})
}

// answer is one lookup's outcome.
type answer struct {
	status      int
	contentType string
	body        []byte
	took        time.Duration
	err         error
}

// maxBody bounds what is read of an answer: far more than any real lookup.
const maxBody = 8 << 20

// call makes one lookup the way Efipay does: GET, the query built from
// rawQuery alone, no cookies.
func (c *checker) call(ctx context.Context, rawQuery string) answer {
	u := *c.base
	u.RawQuery = rawQuery
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return answer{err: err}
	}
	for k, vs := range c.o.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := c.o.Client.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: body, took: time.Since(start), err: err}
}

func idQuery(id string) string { return "id_number=" + url.QueryEscape(id) }

// customer runs the checks of one ID number's answers.
func (c *checker) customer(ctx context.Context, id string) {
	first := c.call(ctx, idQuery(id))
	if first.err != nil {
		c.add(CheckStatus, id, Fail, "no answer: %v", first.err)
		return
	}
	if first.status != http.StatusOK {
		c.add(CheckStatus, id, Fail, "got %d, want 200", first.status)
		return
	}
	c.add(CheckStatus, id, Pass, "200")
	if mt, _, err := mime.ParseMediaType(first.contentType); err != nil || mt != "application/json" {
		c.add(CheckContentType, id, Fail, "got %q, want application/json", first.contentType)
	} else {
		c.add(CheckContentType, id, Pass, "%s", first.contentType)
	}
	items, ok := c.body(id, first.body)
	if ok {
		c.items(id, items)
	}

	// Right after the first: Efipay de-duplicates by ref_payment, so a ref
	// sent again is only wasted work, hence a warning.
	second := c.call(ctx, idQuery(id))
	if ok && len(items) > 0 && second.err == nil && second.status == http.StatusOK {
		again := c.resent(items, second.body)
		if len(again) > 0 {
			c.add(CheckNoResend, id, Warn, "the second lookup sent again %d of the first's %s (%s); Efipay recommends sending each recauda once", len(again), count(len(items), "ref"), strings.Join(again, ", "))
		} else {
			c.add(CheckNoResend, id, Pass, "the second lookup sent none of the first's %s again", count(len(items), "ref"))
		}
	}

	took := []time.Duration{first.took, second.took}
	failed := second.err != nil
	for len(took) < c.o.Calls && ctx.Err() == nil {
		a := c.call(ctx, idQuery(id))
		took = append(took, a.took)
		failed = failed || a.err != nil
	}
	c.timing(id, took, failed)
}

// body checks the answer's shape, exactly {"payments":[...]}, and returns
// its items raw.
func (c *checker) body(id string, body []byte) ([]json.RawMessage, bool) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		c.add(CheckBody, id, Fail, "not a JSON object: %s", excerpt(body))
		return nil, false
	}
	var extra []string
	for k := range top {
		if k != "payments" {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	raw, ok := top["payments"]
	if !ok {
		c.add(CheckBody, id, Fail, `no "payments" key: %s`, excerpt(body))
		return nil, false
	}
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(raw, &items) != nil {
		c.add(CheckBody, id, Fail, `"payments" is not an array: %s`, excerpt(raw))
		return nil, false
	}
	if len(extra) > 0 {
		c.add(CheckBody, id, Fail, `keys other than "payments": %s; want exactly {"payments":[...]}`, strings.Join(extra, ", "))
		return items, true
	}
	c.add(CheckBody, id, Pass, `{"payments":[...]} with %s`, count(len(items), "item"))
	return items, true
}

// items checks every item of one answer.
func (c *checker) items(id string, raws []json.RawMessage) {
	if len(raws) == 0 {
		c.add(CheckItemRules, id, Warn, "no payments for this ID number: the item checks need one with pending charges")
		return
	}
	var broken, wrongID, noComments, webhookBad, webhookHTTP []string
	refs := map[string]int{}
	var repeated []string
	for i, raw := range raws {
		name := fmt.Sprintf("item %d", i+1)
		var p models.Payment
		if err := json.Unmarshal(raw, &p); err != nil {
			broken = append(broken, fmt.Sprintf("%s: unreadable: %v", name, err))
			continue
		}
		ref := p.RecaudaInformation.RefPayment
		if ref != "" {
			name = fmt.Sprintf("item %d (%s)", i+1, ref)
		}
		for _, v := range c.o.Validator.Payment(&p) {
			broken = append(broken, fmt.Sprintf("%s: %s %s: %s", name, v.Field, v.Rule, v.Message))
		}
		if p.RecaudaInformation.IDNumber != id {
			wrongID = append(wrongID, name)
		}
		if refs[ref]++; refs[ref] == 2 {
			repeated = append(repeated, ref)
		}
		ao := p.AdvancedOptions
		if ao == nil || ao.HasComments == nil {
			noComments = append(noComments, name)
		}
		switch hook := webhookOf(ao); {
		case hook == nil:
			webhookBad = append(webhookBad, name+": none")
		case hook.Scheme == "https" && hook.Host != "":
		case hook.Scheme == "http" && hook.Host != "":
			webhookHTTP = append(webhookHTTP, name)
		default:
			webhookBad = append(webhookBad, fmt.Sprintf("%s: %q", name, ao.ResultURLs.Webhook))
		}
	}
	n := len(raws)
	verdict(c, CheckItemRules, id, broken, fmt.Sprintf("%s: every field rule holds", count(n, "item")), "")
	verdict(c, CheckIDNumber, id, wrongID, fmt.Sprintf("every item is for %s", id), "id_number differs from the one asked for: ")
	verdict(c, CheckRefUnique, id, repeated, fmt.Sprintf("%s, each once", count(n, "ref_payment")), "ref_payment repeated in the answer: ")
	verdict(c, CheckHasComments, id, noComments, "every item has advanced_options.has_comments", "advanced_options.has_comments missing (Efipay requires it, even false): ")
	switch {
	case len(webhookBad) > 0:
		c.add(CheckWebhookURL, id, Fail, "result_urls.webhook missing or not an absolute URL: %s", strings.Join(webhookBad, "; "))
	case len(webhookHTTP) > 0:
		c.add(CheckWebhookURL, id, Warn, "result_urls.webhook is plain http (the payment notices travel unencrypted): %s", strings.Join(webhookHTTP, ", "))
	default:
		c.add(CheckWebhookURL, id, Pass, "every result_urls.webhook is https")
	}
}

// verdict adds a FAIL listing problems, or a PASS with ok.
func verdict(c *checker, check, id string, problems []string, ok, prefix string) {
	if len(problems) == 0 {
		c.add(check, id, Pass, "%s", ok)
		return
	}
	c.add(check, id, Fail, "%s%s", prefix, strings.Join(problems, "; "))
}

func webhookOf(ao *models.AdvancedOptions) *url.URL {
	if ao == nil || ao.ResultURLs == nil || strings.TrimSpace(ao.ResultURLs.Webhook) == "" {
		return nil
	}
	u, err := url.Parse(ao.ResultURLs.Webhook)
	if err != nil {
		return &url.URL{}
	}
	return u
}

// resent returns the refs of first's items that body carries again.
func (c *checker) resent(first []json.RawMessage, body []byte) []string {
	sent := map[string]bool{}
	for _, raw := range first {
		var p models.Payment
		if json.Unmarshal(raw, &p) == nil {
			sent[p.RecaudaInformation.RefPayment] = true
		}
	}
	var again models.PaymentsResponse
	if json.Unmarshal(body, &again) != nil {
		return nil
	}
	var out []string
	for _, p := range again.Payments {
		if ref := p.RecaudaInformation.RefPayment; sent[ref] {
			out = append(out, ref)
			delete(sent, ref)
		}
	}
	return out
}

// timing judges the answer times: the 99th percentile against the bounds.
func (c *checker) timing(id string, took []time.Duration, failed bool) {
	slices.Sort(took)
	p50, p99 := percentile(took, 50), percentile(took, 99)
	what := fmt.Sprintf("p50 %s, p99 %s over %d calls", round(p50), round(p99), len(took))
	switch {
	case failed:
		c.add(CheckTiming, id, Fail, "a call got no answer; %s", what)
	case p99 > c.o.FailAfter:
		c.add(CheckTiming, id, Fail, "%s: above %s, Efipay gives up", what, c.o.FailAfter)
	case p99 > c.o.WarnAfter:
		c.add(CheckTiming, id, Warn, "%s: above %s, the customer waits", what, c.o.WarnAfter)
	default:
		c.add(CheckTiming, id, Pass, "%s", what)
	}
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// robustness sends what Efipay never would and checks that it neither
// breaks the endpoint nor gets anybody's data; then an unknown, well-formed
// ID number, which must get an empty list.
func (c *checker) robustness(ctx context.Context, base string) {
	probes := []struct{ check, query, what string }{
		{CheckLetters, idQuery(base + "abc"), "letters in id_number"},
		{CheckTooLong, idQuery(base + strings.Repeat("0", 40)), "an id_number of 50 digits"},
		{CheckEmpty, "id_number=", "an empty id_number"},
		{CheckRepeated, idQuery(base) + "&" + idQuery(UnknownIDNumber), "id_number twice"},
	}
	for _, p := range probes {
		a := c.call(ctx, p.query)
		switch {
		case a.err != nil:
			c.add(p.check, "", Fail, "%s: no answer: %v", p.what, a.err)
		case a.status >= 500:
			c.add(p.check, "", Fail, "%s: got %d, want a 4xx or an empty list", p.what, a.status)
		case a.status < 300 && payments(a.body) > 0:
			c.add(p.check, "", Fail, "%s: got %d with %s, want nobody's data", p.what, a.status, count(payments(a.body), "payment"))
		default:
			c.add(p.check, "", Pass, "%s: %d, no data", p.what, a.status)
		}
	}

	a := c.call(ctx, idQuery(UnknownIDNumber))
	switch {
	case a.err != nil:
		c.add(CheckUnknown, UnknownIDNumber, Fail, "no answer: %v", a.err)
	case a.status == http.StatusNotFound:
		c.add(CheckUnknown, UnknownIDNumber, Warn, `got 404; Efipay's answer for nothing pending is undocumented, 200 {"payments":[]} is the natural one`)
	case a.status != http.StatusOK:
		c.add(CheckUnknown, UnknownIDNumber, Fail, `got %d, want 200 {"payments":[]}`, a.status)
	case !emptyList(a.body):
		c.add(CheckUnknown, UnknownIDNumber, Fail, `got %s, want {"payments":[]}`, excerpt(a.body))
	default:
		c.add(CheckUnknown, UnknownIDNumber, Pass, `200 {"payments":[]}`)
	}
}

// payments counts the items of a lookup body; 0 when it is no such body.
func payments(body []byte) int {
	var r struct {
		Payments []json.RawMessage `json:"payments"`
	}
	if json.Unmarshal(body, &r) != nil {
		return 0
	}
	return len(r.Payments)
}

func emptyList(body []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || len(top) != 1 {
		return false
	}
	var items []json.RawMessage
	raw := bytes.TrimSpace(top["payments"])
	return len(raw) > 0 && raw[0] == '[' && json.Unmarshal(raw, &items) == nil && len(items) == 0
}

// excerpt quotes the start of b for a reason line.
func excerpt(b []byte) string {
	const n = 80
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// count writes n things, "1 item", "2 items".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
