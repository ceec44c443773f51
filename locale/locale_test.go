package locale

import (
	"maps"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// TestEveryLanguageHasTheSameKeys checks that each file has es.json's keys,
// no empty text, and the same placeholders in every language.
func TestEveryLanguageHasTheSameKeys(t *testing.T) {
	langs := Langs()
	if len(langs) < 2 || langs[0] != Default || !slices.Contains(langs, "en") {
		t.Fatalf("got languages %v, want %s first and en among them", langs, Default)
	}
	ref := For(Default).text
	if len(ref) < 200 {
		t.Fatalf("got %d keys in %s, want the whole set", len(ref), Default)
	}
	names := func(s string) []string {
		var out []string
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			text := For(lang).text
			for _, k := range slices.Sorted(maps.Keys(ref)) {
				s, ok := text[k]
				switch {
				case !ok:
					t.Errorf("key %q is in %s but not in %s", k, Default, lang)
				case s == "":
					t.Errorf("key %q is empty in %s", k, lang)
				case !slices.Equal(names(s), names(ref[k])):
					t.Errorf("key %q: got placeholders %v in %s, want %v as in %s", k, names(s), lang, names(ref[k]), Default)
				}
			}
			for k := range text {
				if _, ok := ref[k]; !ok {
					t.Errorf("key %q is in %s but not in %s", k, lang, Default)
				}
			}
		})
	}
}

func TestT(t *testing.T) {
	es, en := For("es"), For("en")
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"plain", es.T("nav_charges"), "Cobros"},
		{"params", es.T("page_of", Params{"page": 2, "pages": 7}), "Página 2 de 7"},
		{"params in English", en.T("page_of", Params{"page": 2, "pages": 7}), "Page 2 of 7"},
		{"missing param stays visible", es.T("page_of", Params{"page": 2}), "Página 2 de {pages}"},
		{"missing key is the key", es.T("no_such_key"), "no_such_key"},
		{"unknown language is the default", For("xx").T("nav_charges"), "Cobros"},
		{"label", es.Label("status", "paid"), "Pagado"},
		{"label of an unknown value", es.Label("status", "lost"), "lost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestFill(t *testing.T) {
	es := For("es")
	tests := []struct {
		name   string
		key    string
		params Params
		want   string
		ok     bool
	}{
		{"complete", "records", Params{"n": 3}, "3 registros", true},
		{"a placeholder without value", "records", nil, "{n} registros", false},
		{"no such key", "no_such_key", nil, "no_such_key", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := es.Fill(tc.key, tc.params)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAccept(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", "es"},
		{"en-US,en;q=0.9", "en"},
		{"fr-FR, en;q=0.5", "en"},
		{"es-CO", "es"},
		{"fr", "es"},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			if got := Accept(tc.header); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMoneyAndTimes(t *testing.T) {
	at := time.Date(2026, 11, 23, 3, 30, 0, 0, time.UTC) // 22 Nov, 22:30 in Bogotá
	es, en := For("es"), For("en")
	tests := []struct{ name, got, want string }{
		{"money es", es.Money(decimal.RequireFromString("1234567.5"), "COP"), "$ 1.234.567,50 COP"},
		{"money en", en.Money(decimal.RequireFromString("1234567.5"), "COP"), "$1,234,567.50 COP"},
		{"more decimals stay exact", es.Number(decimal.RequireFromString("18333.333")), "18.333,333"},
		{"negative", es.Number(decimal.RequireFromString("-1500.25")), "-1.500,25"},
		{"zero", en.Number(decimal.Zero), "0.00"},
		{"when es", es.When(&at), "22/11/2026 22:30"},
		{"when en", en.When(&at), "2026-11-22 22:30"},
		{"when nil", es.When(nil), "—"},
		{"day es", es.Day(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)), "22/11"},
		{"day en", en.Day(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)), "Nov 22"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	tests := []struct{ in, es, en string }{
		{"0", "0,00", "0.00"},
		{"5", "5,00", "5.00"},
		{"999", "999,00", "999.00"},
		{"1000", "1.000,00", "1,000.00"},
		{"150000.5", "150.000,50", "150,000.50"},
		{"3450000", "3.450.000,00", "3,450,000.00"},
		{"1234567.89", "1.234.567,89", "1,234,567.89"},
		{"18333.333", "18.333,333", "18,333.333"},
		{"-1500.25", "-1.500,25", "-1,500.25"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d := decimal.RequireFromString(tc.in)
			if got := For("es").Number(d); got != tc.es {
				t.Errorf("es: got %q, want %q", got, tc.es)
			}
			if got := For("en").Number(d); got != tc.en {
				t.Errorf("en: got %q, want %q", got, tc.en)
			}
		})
	}
}
