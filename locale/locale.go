// Package locale holds the words recauda-bridge shows people, one embedded
// JSON file per language (translations/<lang>.json), and the language's way
// of writing money and times. The dashboard and the receipt both read it.
//
// A text may name parameters in braces, "Página {page} de {pages}"; T fills
// them. Adding a language is adding its file with the same keys as es.json
// (a test checks that).
package locale

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

//go:embed translations/*.json
var files embed.FS

// Default is the language of a reader who asks for none we have.
const Default = "es"

// Params are the values a text's {name} placeholders take.
type Params map[string]any

// Locale is one language's texts and formats. It is safe for concurrent use.
type Locale struct {
	lang string
	text map[string]string
}

// catalog parses the embedded files once; they are part of the binary, so a
// malformed one is a build defect that the package's tests catch.
var catalog = sync.OnceValue(func() map[string]*Locale {
	names, err := files.ReadDir("translations")
	if err != nil {
		panic(fmt.Sprintf("locale: %v", err))
	}
	out := make(map[string]*Locale, len(names))
	for _, n := range names {
		b, err := files.ReadFile("translations/" + n.Name())
		if err != nil {
			panic(fmt.Sprintf("locale: %v", err))
		}
		l := &Locale{lang: strings.TrimSuffix(n.Name(), path.Ext(n.Name()))}
		if err := json.Unmarshal(b, &l.text); err != nil {
			panic(fmt.Sprintf("locale: %s: %v", n.Name(), err))
		}
		out[l.lang] = l
	}
	return out
})

// For returns the language lang ("es", "en"), or Default when there is no
// file for it.
func For(lang string) *Locale {
	if l, ok := catalog()[lang]; ok {
		return l
	}
	return catalog()[Default]
}

// Langs lists the languages there are: Default first, then the others
// sorted.
func Langs() []string {
	var out []string
	for lang := range catalog() {
		if lang != Default {
			out = append(out, lang)
		}
	}
	slices.Sort(out)
	return append([]string{Default}, out...)
}

// Supported says whether there is a file for lang.
func Supported(lang string) bool {
	_, ok := catalog()[lang]
	return ok
}

// Accept picks the first language of an Accept-Language header that there
// is a file for ("en-US,en;q=0.9" gives "en"), or Default. Quality values
// are not weighed: browsers list languages best first.
func Accept(header string) string {
	for _, part := range strings.Split(header, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if Supported(base) {
			return base
		}
	}
	return Default
}

// Lang is the language's code.
func (l *Locale) Lang() string { return l.lang }

// Has says whether the language has a text for key.
func (l *Locale) Has(key string) bool {
	_, ok := l.text[key]
	return ok
}

// T is the text of key with its placeholders filled from params. A key
// without text comes back as itself, and a placeholder without a value stays
// as it is, so that a missing word shows instead of vanishing (the tests keep
// that from shipping).
func (l *Locale) T(key string, params ...Params) string {
	s, _ := l.fill(key, params)
	return s
}

// Fill is T with params, and whether the text was complete: the key exists
// and every placeholder had a value. A caller holding an English fallback
// (a violation stored before it had parameters) shows that instead.
func (l *Locale) Fill(key string, params Params) (string, bool) {
	return l.fill(key, []Params{params})
}

func (l *Locale) fill(key string, params []Params) (string, bool) {
	s, ok := l.text[key]
	if !ok {
		return key, false
	}
	if !strings.Contains(s, "{") {
		return s, true
	}
	var b strings.Builder
	complete := true
	for {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			break
		}
		b.WriteString(s[:open])
		if v, ok := lookup(params, s[open+1:open+end]); ok {
			b.WriteString(fmt.Sprint(v))
		} else {
			b.WriteString(s[open : open+end+1])
			complete = false
		}
		s = s[open+end+1:]
	}
	b.WriteString(s)
	return b.String(), complete
}

func lookup(params []Params, name string) (any, bool) {
	for _, p := range params {
		if v, ok := p[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// Label is the text of prefix_value, or value itself when there is none (a
// state or outcome newer than the translations).
func (l *Locale) Label(prefix, value string) string {
	if s, ok := l.text[prefix+"_"+value]; ok {
		return s
	}
	return value
}

// Number writes an exact amount in the language's digits, with two decimals
// (more only if needed to stay exact): 1234567.5 is "1.234.567,50" in
// Spanish, "1,234,567.50" in English.
func (l *Locale) Number(d decimal.Decimal) string {
	s := d.StringFixed(2)
	if !d.Equal(d.Truncate(2)) {
		s = d.String()
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	group, point := l.T("number_group"), l.T("number_point")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(r)
	}
	b.WriteString(point)
	b.WriteString(frac)
	return b.String()
}

// Money writes an exact amount with its currency: "$ 1.234.567,50 COP" in
// Spanish, "$1,234,567.50 COP" in English.
func (l *Locale) Money(d decimal.Decimal, currency string) string {
	return l.T("money", Params{"amount": l.Number(d), "currency": currency})
}

// When writes a time in Colombia to the minute; "—" for none.
func (l *Locale) When(at *time.Time) string {
	if at == nil || at.IsZero() {
		return "—"
	}
	return at.In(models.Bogota).Format(l.T("time_layout"))
}

// Day writes a calendar day, short: "22/11" or "Nov 22".
func (l *Locale) Day(d time.Time) string {
	return d.Format(l.T("day_layout"))
}
