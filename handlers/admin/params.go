package admin

import (
	"fmt"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/handlers/request"
	"recauda-bridge/recauda"
)

// Query parameters of the admin lists, read strictly: an unknown, repeated
// or malformed parameter is a 400 that names every problem.

// params reads query parameters, collecting every problem so that one
// answer names them all. An empty value counts as absent.
type params struct {
	values  url.Values
	details []httperr.Detail
}

func newParams(c echo.Context, known ...string) *params {
	p := &params{}
	values, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		p.fail("query", "query_syntax", "the query string could not be parsed")
		return p
	}
	p.values = values
	for _, name := range slices.Sorted(maps.Keys(values)) {
		switch {
		case !slices.Contains(known, name):
			p.fail(name, "unknown", "is not a parameter of this endpoint; known: "+strings.Join(known, ", "))
		case len(values[name]) > 1:
			p.fail(name, "single_value", "must be given at most once")
		}
	}
	return p
}

func (p *params) fail(field, rule, message string) {
	p.details = append(p.details, httperr.Detail{Field: field, Rule: rule, Message: message})
}

func (p *params) err() error {
	if len(p.details) == 0 {
		return nil
	}
	return httperr.InvalidParameter(p.details...)
}

func (p *params) get(name string) string { return p.values.Get(name) }

func (p *params) oneOf(name string, allowed []string) string {
	v := p.get(name)
	if v != "" && !slices.Contains(allowed, v) {
		p.fail(name, "one_of", "must be one of "+strings.Join(allowed, ", "))
		return ""
	}
	return v
}

func (p *params) idNumber(name string) string {
	v := p.get(name)
	if v != "" && recauda.ValidateIDNumber(v) != nil {
		p.fail(name, "digits_5_20", "must be 5 to 20 ASCII digits")
		return ""
	}
	return v
}

func (p *params) ref(name string) string {
	v := p.get(name)
	if len([]rune(v)) > request.MaxRefLength {
		p.fail(name, "max_length", "must be at most 191 characters")
		return ""
	}
	return v
}

// ruleID is a validation rule id: lower-case ASCII letters, digits and _.
func (p *params) ruleID(name string) string {
	v := p.get(name)
	if v == "" {
		return ""
	}
	if !request.ValidRuleID(v) {
		p.fail(name, "rule_id", "must be a rule id: 1 to 64 of a-z, 0-9 and _")
		return ""
	}
	return v
}

// date reads a calendar day, YYYY-MM-DD.
func (p *params) date(name string) time.Time {
	v := p.get(name)
	if v == "" {
		return time.Time{}
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		p.fail(name, "date", "must be a calendar date YYYY-MM-DD")
		return time.Time{}
	}
	return d
}

// pagination reads page (≥ 1, default 1) and per_page (1..200, default 50).
func (p *params) pagination() (page, perPage int) {
	return p.intIn("page", 1, request.MaxPage, 1), p.intIn("per_page", 1, maxPerPage, defaultPerPage)
}

func (p *params) intIn(name string, lo, hi, def int) int {
	v := p.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, "range", fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

// prefersHTML reports whether an Accept header ranks text/html above JSON.
// Without a preference the answer is JSON.
func prefersHTML(accept string) bool {
	html, js := acceptQuality(accept, "text", "html"), acceptQuality(accept, "application", "json")
	return html > 0 && html > js
}

// acceptQuality is the q of the most specific media range of accept that
// matches typ/sub: 1 when accept is empty, 0 when nothing matches.
func acceptQuality(accept, typ, sub string) float64 {
	if strings.TrimSpace(accept) == "" {
		return 1
	}
	best, bestSpec := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		mt, prms, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		t, s, _ := strings.Cut(mt, "/")
		spec := -1
		switch {
		case t == typ && s == sub:
			spec = 2
		case t == typ && s == "*":
			spec = 1
		case t == "*" && s == "*":
			spec = 0
		}
		if spec <= bestSpec {
			continue
		}
		q := 1.0
		if qs, ok := prms["q"]; ok {
			if f, err := strconv.ParseFloat(qs, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		best, bestSpec = q, spec
	}
	return best
}
