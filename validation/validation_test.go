package validation_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// bogotaEvening is 2025-03-01 22:30 in Bogota, when UTC is already on
// 2025-03-02: "today" must be 2025-03-01.
var bogotaEvening = time.Date(2025, 3, 2, 3, 30, 0, 0, time.UTC)

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func ptr[T any](v T) *T { return &v }

func money(s string) models.Money { return models.MustMoney(s) }

// validPayment is an item using every field, valid on bogotaEvening.
func validPayment() *models.Payment {
	return &models.Payment{
		RecaudaInformation: models.RecaudaInformation{
			Description:  "prueba fill out all",
			Amount:       money("20000"),
			CurrencyType: "COP",
			IDNumber:     "12345678",
			PayerName:    "efipay",
			RefPayment:   "1234567",
			Advance:      &models.Advance{Type: models.AdvanceMinimumValue, Value: money("5000")},
			Metadata:     json.RawMessage(`{"data":"Your additional data here"}`),
		},
		AdvancedOptions: &models.AdvancedOptions{
			Picture:                "https://efipay.co/images/logo.svg",
			LimitDate:              "2025-03-15",
			References:             []string{"123456", "323432", "6546456"},
			ResultURLs:             &models.ResultURLs{Webhook: "https://webhook-test.com/310b715b9704556033c7fe260915cdfd"},
			DeliveryService:        &models.DeliveryService{Type: models.DeliveryPaid, Value: ptr(money("5000"))},
			RequestAddressDelivery: ptr(true),
			Discount:               &models.Discount{BeforeOn: "2025-03-10", Type: models.DiscountPercent, Value: money("10")},
			HasComments:            ptr(false),
			CommentsLabel:          "Deja tus comentarios",
		},
	}
}

// fr is the part of a Violation the tables pin down: which field, which rule.
type fr struct{ field, rule string }

func (x fr) String() string { return x.field + " " + x.rule }

type ruleCase struct {
	name string
	now  time.Time // zero means bogotaEvening
	edit func(p *models.Payment)
	want []fr // nil: the item is valid
}

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = bogotaEvening
			}
			p := validPayment()
			tc.edit(p)
			got := validation.New(fixed(now)).Payment(p)
			var gotFR []fr
			for _, v := range got {
				gotFR = append(gotFR, fr{v.Field, v.Rule})
				if v.Message == "" {
					t.Errorf("violation %s %s: got empty message, want a sentence", v.Field, v.Rule)
				}
				if !strings.HasPrefix(v.Message, v.Field) {
					t.Errorf("message %q: got no field name first, want it to start with %q", v.Message, v.Field)
				}
				if len(v.Message) > 300 {
					t.Errorf("message for %s: got %d bytes, want a short sentence", v.Field, len(v.Message))
				}
			}
			if !slices.Equal(gotFR, tc.want) {
				t.Errorf("got %v, want %v (messages: %q)", gotFR, tc.want, messages(got))
			}
		})
	}
}

func messages(vs []validation.Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Message)
	}
	return out
}

func one(field, rule string) []fr { return []fr{{field, rule}} }

func TestValidPaymentIsValid(t *testing.T) {
	v := validation.New(fixed(bogotaEvening))
	if got := v.Payment(validPayment()); got != nil {
		t.Fatalf("got %v, want nil", got)
	}
	p := validPayment()
	p.AdvancedOptions = nil
	if got := v.Payment(p); got != nil {
		t.Fatalf("advanced_options null: got %v, want nil", got)
	}
}

func TestDescription(t *testing.T) {
	const f = "recauda_information.description"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) { p.RecaudaInformation.Description = s }
	}
	runCases(t, []ruleCase{
		{"empty", time.Time{}, set(""), one(f, "required")},
		{"3 chars", time.Time{}, set("abc"), one(f, "min_length")},
		{"4 chars", time.Time{}, set("abcd"), nil},
		{"3 multibyte chars (6 bytes)", time.Time{}, set("ñññ"), one(f, "min_length")},
		{"4 multibyte chars", time.Time{}, set("ññññ"), nil},
		{"191 chars", time.Time{}, set(strings.Repeat("a", 191)), nil},
		{"192 chars", time.Time{}, set(strings.Repeat("a", 192)), one(f, "max_length")},
		{"191 multibyte chars (382 bytes)", time.Time{}, set(strings.Repeat("ñ", 191)), nil},
		{"NUL", time.Time{}, set("Cuota\x00marzo"), one(f, "control_characters")},
		{"newline", time.Time{}, set("Cuota\nmarzo"), one(f, "control_characters")},
		{"carriage return", time.Time{}, set("Cuota marzo\r"), one(f, "control_characters")},
		{"tab", time.Time{}, set("Cuota\tmarzo"), one(f, "control_characters")},
		{"C1 control", time.Time{}, set("Cuota\u0085marzo"), one(f, "control_characters")},
		{"not UTF-8", time.Time{}, set("Cuota \xe9 marzo"), one(f, "control_characters")},
		{"right-to-left text mark allowed", time.Time{}, set("Cuota \u200fمارس"), nil},
		{"192 multibyte chars", time.Time{}, set(strings.Repeat("ñ", 192)), one(f, "max_length")},
	})
}

func TestAmount(t *testing.T) {
	const f = "recauda_information.amount"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) {
			p.RecaudaInformation.Amount = money(s)
			p.RecaudaInformation.Advance = nil // keep below_amount out of it
			p.AdvancedOptions.Discount = nil
		}
	}
	runCases(t, []ruleCase{
		{"missing (zero value)", time.Time{}, func(p *models.Payment) {
			p.RecaudaInformation.Amount = models.Money{}
			p.RecaudaInformation.Advance = nil
		}, one(f, "positive")},
		{"0", time.Time{}, set("0"), one(f, "positive")},
		{"-1000", time.Time{}, set("-1000"), one(f, "positive")},
		{"999", time.Time{}, set("999"), one(f, "amount_min_length")},
		{"1000", time.Time{}, set("1000"), nil},
		{"9.5", time.Time{}, set("9.5"), one(f, "amount_min_length")},
		{"10.5", time.Time{}, set("10.5"), nil},
		{"9.50 is 9.5", time.Time{}, set("9.50"), one(f, "amount_min_length")},
		{"0.1", time.Time{}, set("0.1"), one(f, "amount_min_length")},
		{"0.01 is 4 characters", time.Time{}, set("0.01"), nil},
		{"1e3 is 1000", time.Time{}, set("1e3"), nil},
		{"10.00 has no decimals", time.Time{}, set("10.00"), one(f, "amount_min_length")},
		{"1000.000 has no decimals", time.Time{}, set("1000.000"), nil},
		{"12.34", time.Time{}, set("12.34"), nil},
		{"12.345", time.Time{}, set("12.345"), one(f, "decimal_places")},
		{"12.3450 is 12.345", time.Time{}, set("12.3450"), one(f, "decimal_places")},
		{"9999999999.99", time.Time{}, set("9999999999.99"), nil},
		{"10000000000", time.Time{}, set("10000000000"), one(f, "integer_digits")},
		{"1e10", time.Time{}, set("1e10"), one(f, "integer_digits")},
		{"1e10000 (largest exponent JSON decodes)", time.Time{}, set("1e10000"), one(f, "integer_digits")},
		{"1e-10000", time.Time{}, set("1e-10000"), one(f, "decimal_places")},
		{"1e999999999 built in code", time.Time{}, func(p *models.Payment) {
			p.RecaudaInformation.Amount = models.NewMoney(decimal.New(1, 999999999))
		}, one(f, "integer_digits")},
		{"1e-999999999 built in code", time.Time{}, func(p *models.Payment) {
			p.RecaudaInformation.Amount = models.NewMoney(decimal.New(1, -999999999))
		}, one(f, "decimal_places")},
	})
}

func TestCurrencyType(t *testing.T) {
	const f = "recauda_information.currency_type"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) { p.RecaudaInformation.CurrencyType = s }
	}
	runCases(t, []ruleCase{
		{"empty", time.Time{}, set(""), one(f, "required")},
		{"COP", time.Time{}, set("COP"), nil},
		{"USD", time.Time{}, set("USD"), nil},
		{"EUR", time.Time{}, set("EUR"), nil},
		{"lower case", time.Time{}, set("cop"), one(f, "one_of")},
		{"GBP", time.Time{}, set("GBP"), one(f, "one_of")},
		{"padded", time.Time{}, set(" COP"), one(f, "one_of")},
	})
}

func TestIDNumber(t *testing.T) {
	const f = "recauda_information.id_number"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) { p.RecaudaInformation.IDNumber = s }
	}
	runCases(t, []ruleCase{
		{"empty", time.Time{}, set(""), one(f, "required")},
		{"4 digits", time.Time{}, set("1234"), one(f, "min_length")},
		{"5 digits", time.Time{}, set("12345"), nil},
		{"20 digits", time.Time{}, set(strings.Repeat("9", 20)), nil},
		{"21 digits", time.Time{}, set(strings.Repeat("9", 21)), one(f, "max_length")},
		{"letter", time.Time{}, set("12a45"), one(f, "digits")},
		{"short and a letter", time.Time{}, set("1a"), one(f, "digits")},
		{"sign", time.Time{}, set("-12345"), one(f, "digits")},
		{"space", time.Time{}, set("12345 "), one(f, "digits")},
		{"dot", time.Time{}, set("1.234.567"), one(f, "digits")},
		{"non-ASCII digits", time.Time{}, set("١٢٣٤٥"), one(f, "digits")},
	})
}

func TestPayerName(t *testing.T) {
	const f = "recauda_information.payer_name"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) { p.RecaudaInformation.PayerName = s }
	}
	runCases(t, []ruleCase{
		{"empty", time.Time{}, set(""), one(f, "required")},
		{"4 chars", time.Time{}, set("efip"), one(f, "min_length")},
		{"5 chars", time.Time{}, set("efipa"), nil},
		{"4 multibyte chars (8 bytes)", time.Time{}, set("ñáéí"), one(f, "min_length")},
		{"5 multibyte chars", time.Time{}, set("ñáéíó"), nil},
		{"191 chars", time.Time{}, set(strings.Repeat("é", 191)), nil},
		{"192 chars", time.Time{}, set(strings.Repeat("é", 192)), one(f, "max_length")},
		{"NUL", time.Time{}, set("Ana\x00Gómez"), one(f, "control_characters")},
		{"newline", time.Time{}, set("Ana Gómez\nSaldo: 0"), one(f, "control_characters")},
		{"DEL", time.Time{}, set("Ana Gómez\x7f"), one(f, "control_characters")},
		{"not UTF-8", time.Time{}, set("Ana G\xf3mez"), one(f, "control_characters")},
	})
}

func TestRefPayment(t *testing.T) {
	const f = "recauda_information.ref_payment"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) { p.RecaudaInformation.RefPayment = s }
	}
	runCases(t, []ruleCase{
		{"empty", time.Time{}, set(""), one(f, "required")},
		{"only spaces", time.Time{}, set("   "), one(f, "required")},
		{"only a tab", time.Time{}, set("\t"), one(f, "required")},
		{"1 char", time.Time{}, set("a"), nil},
		{"191 chars", time.Time{}, set(strings.Repeat("ñ", 191)), nil},
		{"192 chars", time.Time{}, set(strings.Repeat("ñ", 192)), one(f, "max_length")},
		{"leading space", time.Time{}, set(" 1234567"), one(f, "trimmed")},
		{"trailing space", time.Time{}, set("1234567 "), one(f, "trimmed")},
		{"trailing newline", time.Time{}, set("1234567\n"), one(f, "trimmed")},
		{"inner space", time.Time{}, set("FAC 1234"), nil},
		{"inner tab", time.Time{}, set("12\t34"), one(f, "control_characters")},
		{"NUL", time.Time{}, set("12\x0034"), one(f, "control_characters")},
		{"DEL", time.Time{}, set("12\x7f34"), one(f, "control_characters")},
		{"C1 control", time.Time{}, set("12\u008534"), one(f, "control_characters")},
		{"right-to-left override", time.Time{}, set("FAC\u202e1234"), one(f, "control_characters")},
		{"left-to-right isolate", time.Time{}, set("FAC\u20661234"), one(f, "control_characters")},
		{"right-to-left mark", time.Time{}, set("FAC\u200f1234"), one(f, "control_characters")},
		{"arabic letter mark", time.Time{}, set("FAC\u061c1234"), one(f, "control_characters")},
		{"not UTF-8", time.Time{}, set("FAC\xff1234"), one(f, "control_characters")},
		{"accents", time.Time{}, set("FACTURA-ÑÚ-1"), nil},
	})
}

func TestAdvance(t *testing.T) {
	const f = "recauda_information.advance"
	set := func(typ, value string) func(*models.Payment) {
		return func(p *models.Payment) {
			p.RecaudaInformation.Advance = &models.Advance{Type: typ, Value: money(value)}
		}
	}
	runCases(t, []ruleCase{
		{"absent", time.Time{}, func(p *models.Payment) { p.RecaudaInformation.Advance = nil }, nil},
		{"empty object", time.Time{}, func(p *models.Payment) { p.RecaudaInformation.Advance = &models.Advance{} },
			[]fr{{f + ".type", "required"}, {f + ".value", "positive"}}},
		{"type lower case", time.Time{}, set("valor minimo", "5000"), one(f+".type", "one_of")},
		{"type unknown", time.Time{}, set("Porcentaje", "10"), one(f+".type", "one_of")},
		{"value 0", time.Time{}, set(models.AdvanceMinimumValue, "0"), one(f+".value", "positive")},
		{"value negative", time.Time{}, set(models.AdvanceMinimumValue, "-1"), one(f+".value", "positive")},
		{"value 0.01", time.Time{}, set(models.AdvanceMinimumValue, "0.01"), nil},
		{"value 3 decimals", time.Time{}, set(models.AdvanceMinimumValue, "5000.125"), one(f+".value", "decimal_places")},
		{"value just below amount", time.Time{}, set(models.AdvanceMinimumValue, "19999.99"), nil},
		{"value equal to amount", time.Time{}, set(models.AdvanceMinimumValue, "20000"), one(f+".value", "below_amount")},
		{"value equal to amount written 20000.00", time.Time{}, set(models.AdvanceMinimumValue, "20000.00"), one(f+".value", "below_amount")},
		{"value above amount", time.Time{}, set(models.AdvanceMinimumValue, "20000.01"), one(f+".value", "below_amount")},
		{"value far above amount", time.Time{}, func(p *models.Payment) {
			p.RecaudaInformation.Advance = &models.Advance{Type: models.AdvanceMinimumValue, Value: models.NewMoney(decimal.New(1, 999999999))}
		}, one(f+".value", "below_amount")},
		{"not compared with a bad amount", time.Time{}, func(p *models.Payment) {
			set(models.AdvanceMinimumValue, "5000")(p)
			p.RecaudaInformation.Amount = money("999")
			p.AdvancedOptions.Discount = nil
		}, one("recauda_information.amount", "amount_min_length")},
		{"percent 99.99", time.Time{}, set(models.AdvanceMinimumPercent, "99.99"), nil},
		{"percent 100", time.Time{}, set(models.AdvanceMinimumPercent, "100"), one(f+".value", "below_100")},
		{"percent 100.00", time.Time{}, set(models.AdvanceMinimumPercent, "100.00"), one(f+".value", "below_100")},
		{"percent 150", time.Time{}, set(models.AdvanceMinimumPercent, "150"), one(f+".value", "below_100")},
		{"percent 0.5", time.Time{}, set(models.AdvanceMinimumPercent, "0.5"), nil},
		{"percent above amount is fine", time.Time{}, func(p *models.Payment) {
			set(models.AdvanceMinimumPercent, "50")(p)
			p.RecaudaInformation.Amount = money("10.5")
			p.AdvancedOptions.Discount = nil
		}, nil},
	})
}

func TestMetadata(t *testing.T) {
	const f = "recauda_information.metadata"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) {
			if s == "<nil>" {
				p.RecaudaInformation.Metadata = nil
				return
			}
			p.RecaudaInformation.Metadata = json.RawMessage(s)
		}
	}
	runCases(t, []ruleCase{
		{"absent", time.Time{}, set("<nil>"), nil},
		{"null", time.Time{}, set("null"), nil},
		{"object", time.Time{}, set(`{"a":1}`), nil},
		{"empty object", time.Time{}, set(`{}`), nil},
		{"array", time.Time{}, set(`[1,"x"]`), nil},
		{"padded object", time.Time{}, set(" {\"a\":1}\n"), nil},
		{"string", time.Time{}, set(`"x"`), one(f, "json_object_or_array")},
		{"number", time.Time{}, set(`5`), one(f, "json_object_or_array")},
		{"bool", time.Time{}, set(`true`), one(f, "json_object_or_array")},
		{"broken object", time.Time{}, set(`{"a":`), one(f, "json_object_or_array")},
	})
}

func TestAdvancedOptionsNull(t *testing.T) {
	runCases(t, []ruleCase{
		{"null skips every option rule", time.Time{}, func(p *models.Payment) { p.AdvancedOptions = nil }, nil},
		{"empty object still needs has_comments", time.Time{}, func(p *models.Payment) {
			p.AdvancedOptions = &models.AdvancedOptions{}
		}, one("advanced_options.has_comments", "required")},
	})
}

func TestHasCommentsAndLabel(t *testing.T) {
	runCases(t, []ruleCase{
		{"has_comments absent", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.HasComments = nil },
			one("advanced_options.has_comments", "required")},
		{"has_comments false", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.HasComments = ptr(false) }, nil},
		{"has_comments true", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.HasComments = ptr(true) }, nil},
		{"label absent", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.CommentsLabel = "" }, nil},
		{"label 100 chars", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.CommentsLabel = strings.Repeat("ó", 100) }, nil},
		{"label 101 chars", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.CommentsLabel = strings.Repeat("o", 101) },
			one("advanced_options.comments_label", "max_length")},
		{"label with a newline", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.CommentsLabel = "Notas\nadicionales" },
			one("advanced_options.comments_label", "control_characters")},
		{"request_address_delivery absent", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.RequestAddressDelivery = nil }, nil},
	})
}

func TestPicture(t *testing.T) {
	const f = "advanced_options.picture"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) { p.AdvancedOptions.Picture = s }
	}
	long := func(n int) string {
		const prefix = "https://efipay.co/"
		return prefix + strings.Repeat("a", n-len(prefix))
	}
	runCases(t, []ruleCase{
		{"absent", time.Time{}, set(""), nil},
		{"250 chars", time.Time{}, set(long(250)), nil},
		{"251 chars", time.Time{}, set(long(251)), one(f, "max_length")},
		{"http", time.Time{}, set("http://efipay.co/logo.svg"), nil},
		{"upper-case scheme", time.Time{}, set("HTTPS://efipay.co/logo.svg"), nil},
		{"relative path", time.Time{}, set("/images/logo.svg"), one(f, "absolute_url")},
		{"no scheme", time.Time{}, set("efipay.co/logo.svg"), one(f, "absolute_url")},
		{"ftp", time.Time{}, set("ftp://efipay.co/logo.svg"), one(f, "absolute_url")},
		{"no host", time.Time{}, set("https:///logo.svg"), one(f, "absolute_url")},
		{"port only", time.Time{}, set("https://:443/logo.svg"), one(f, "absolute_url")},
		{"space", time.Time{}, set("https://efipay.co/my logo.svg"), one(f, "absolute_url")},
		{"not a URL", time.Time{}, set("logo"), one(f, "absolute_url")},
	})
}

func TestLimitDate(t *testing.T) {
	const f = "advanced_options.limit_date"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) {
			p.AdvancedOptions.LimitDate = s
			p.AdvancedOptions.Discount = nil // keep not_after_limit_date out of it
		}
	}
	// One second before and at 2025-03-01 00:00 in Bogota.
	lastSecondOfFeb := time.Date(2025, 3, 1, 4, 59, 59, 0, time.UTC)
	firstSecondOfMar := time.Date(2025, 3, 1, 5, 0, 0, 0, time.UTC)
	runCases(t, []ruleCase{
		{"absent", time.Time{}, set(""), nil},
		{"yesterday in Bogota", time.Time{}, set("2025-02-28"), one(f, "not_before_today")},
		{"today in Bogota, yesterday in UTC", time.Time{}, set("2025-03-01"), nil},
		{"tomorrow in Bogota, today in UTC", time.Time{}, set("2025-03-02"), nil},
		{"Feb 28 at 23:59:59 in Bogota", lastSecondOfFeb, set("2025-02-28"), nil},
		{"Mar 1 at 00:00:00 in Bogota", firstSecondOfMar, set("2025-02-28"), one(f, "not_before_today")},
		{"clock in another zone", bogotaEvening.In(time.FixedZone("UTC+14", 14*3600)), set("2025-03-01"), nil},
		{"Feb 30", time.Time{}, set("2025-02-30"), one(f, "date")},
		{"Feb 29 in a leap year", time.Date(2024, 2, 20, 12, 0, 0, 0, time.UTC), set("2024-02-29"), nil},
		{"Feb 29 in a common year", time.Time{}, set("2027-02-29"), one(f, "date")},
		{"Feb 29 in 2100", time.Time{}, set("2100-02-29"), one(f, "date")},
		{"Apr 31", time.Time{}, set("2025-04-31"), one(f, "date")},
		{"month 13", time.Time{}, set("2025-13-01"), one(f, "date")},
		{"single-digit month", time.Time{}, set("2025-3-15"), one(f, "date")},
		{"slashes", time.Time{}, set("2025/03/15"), one(f, "date")},
		{"with a time", time.Time{}, set("2025-03-15T00:00:00Z"), one(f, "date")},
		{"day first", time.Time{}, set("15-03-2025"), one(f, "date")},
		{"far future", time.Time{}, set("9999-12-31"), nil},
	})
}

func TestReferences(t *testing.T) {
	const f = "advanced_options.references"
	set := func(refs ...string) func(*models.Payment) {
		return func(p *models.Payment) { p.AdvancedOptions.References = refs }
	}
	runCases(t, []ruleCase{
		{"absent", time.Time{}, set(), nil},
		{"1 item", time.Time{}, set("1234567"), nil},
		{"3 items", time.Time{}, set("a", "b", "c"), nil},
		{"4 items", time.Time{}, set("a", "b", "c", "d"), one(f, "max_items")},
		{"empty item", time.Time{}, set("a", ""), one(f+"[1]", "required")},
		{"50 chars", time.Time{}, set("a", "b", strings.Repeat("x", 50)), nil},
		{"51 chars", time.Time{}, set("a", "b", strings.Repeat("x", 51)), one(f+"[2]", "max_length")},
		{"50 multibyte chars", time.Time{}, set(strings.Repeat("ñ", 50)), nil},
		{"51 multibyte chars", time.Time{}, set(strings.Repeat("ñ", 51)), one(f+"[0]", "max_length")},
		{"NUL", time.Time{}, set("a", "b\x00"), one(f+"[1]", "control_characters")},
		{"right-to-left override", time.Time{}, set("\u202eabc"), one(f+"[0]", "control_characters")},
		{"not UTF-8", time.Time{}, set("a", "b", "\xc3"), one(f+"[2]", "control_characters")},
		{"two bad items", time.Time{}, set("", "b", strings.Repeat("x", 51)),
			[]fr{{f + "[0]", "required"}, {f + "[2]", "max_length"}}},
	})
}

func TestResultURLs(t *testing.T) {
	const f = "advanced_options.result_urls.webhook"
	set := func(s string) func(*models.Payment) {
		return func(p *models.Payment) { p.AdvancedOptions.ResultURLs = &models.ResultURLs{Webhook: s} }
	}
	runCases(t, []ruleCase{
		{"absent", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.ResultURLs = nil }, nil},
		{"webhook empty", time.Time{}, set(""), one(f, "required")},
		{"http", time.Time{}, set("http://erp.example.com/efipay/webhook"), nil},
		{"https with port and query", time.Time{}, set("https://erp.example.com:8443/hook?x=1"), nil},
		{"IP host", time.Time{}, set("http://10.0.0.1/hook"), nil},
		{"no scheme", time.Time{}, set("erp.example.com/hook"), one(f, "absolute_url")},
		{"no host", time.Time{}, set("https:///hook"), one(f, "absolute_url")},
		{"mailto", time.Time{}, set("mailto:ops@example.com"), one(f, "absolute_url")},
		{"javascript", time.Time{}, set("javascript:alert(1)"), one(f, "absolute_url")},
		{"opaque https", time.Time{}, set("https:erp.example.com"), one(f, "absolute_url")},
	})
}

func TestDeliveryService(t *testing.T) {
	const f = "advanced_options.delivery_service"
	set := func(typ, value string) func(*models.Payment) {
		return func(p *models.Payment) {
			ds := &models.DeliveryService{Type: typ}
			if value != "" {
				ds.Value = ptr(money(value))
			}
			p.AdvancedOptions.DeliveryService = ds
		}
	}
	runCases(t, []ruleCase{
		{"absent", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.DeliveryService = nil }, nil},
		{"type empty", time.Time{}, set("", ""), one(f+".type", "required")},
		{"type lower case", time.Time{}, set("gratis", ""), one(f+".type", "one_of")},
		{"free without value", time.Time{}, set(models.DeliveryFree, ""), nil},
		{"free with 0", time.Time{}, set(models.DeliveryFree, "0"), nil},
		{"free with 0.00", time.Time{}, set(models.DeliveryFree, "0.00"), nil},
		{"free with 0.01", time.Time{}, set(models.DeliveryFree, "0.01"), one(f+".value", "zero_or_absent")},
		{"free with 5000", time.Time{}, set(models.DeliveryFree, "5000"), one(f+".value", "zero_or_absent")},
		{"free with -1", time.Time{}, set(models.DeliveryFree, "-1"), one(f+".value", "zero_or_absent")},
		{"paid without value", time.Time{}, set(models.DeliveryPaid, ""), one(f+".value", "required")},
		{"paid with 0", time.Time{}, set(models.DeliveryPaid, "0"), one(f+".value", "positive")},
		{"paid with -5", time.Time{}, set(models.DeliveryPaid, "-5"), one(f+".value", "positive")},
		{"paid with 0.01", time.Time{}, set(models.DeliveryPaid, "0.01"), nil},
		{"paid with 2 decimals", time.Time{}, set(models.DeliveryPaid, "5000.55"), nil},
		{"paid with 3 decimals", time.Time{}, set(models.DeliveryPaid, "5000.555"), one(f+".value", "decimal_places")},
		{"negative with 3 decimals", time.Time{}, set(models.DeliveryPaid, "-1.234"), one(f+".value", "decimal_places")},
		{"paid with 10 integer digits", time.Time{}, set(models.DeliveryPaid, "9999999999.99"), nil},
		{"paid with 11 integer digits", time.Time{}, set(models.DeliveryPaid, "10000000000"), one(f+".value", "integer_digits")},
		{"paid above the amount is fine", time.Time{}, set(models.DeliveryPaid, "30000"), nil},
	})
}

func TestDiscount(t *testing.T) {
	const f = "advanced_options.discount"
	set := func(beforeOn, typ, value string) func(*models.Payment) {
		return func(p *models.Payment) {
			p.AdvancedOptions.Discount = &models.Discount{BeforeOn: beforeOn, Type: typ, Value: money(value)}
		}
	}
	pct, val := models.DiscountPercent, models.DiscountValue
	runCases(t, []ruleCase{
		{"absent", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.Discount = nil }, nil},
		{"empty object", time.Time{}, func(p *models.Payment) { p.AdvancedOptions.Discount = &models.Discount{} },
			[]fr{{f + ".before_on", "required"}, {f + ".type", "required"}, {f + ".value", "positive"}}},
		{"before_on yesterday", time.Time{}, set("2025-02-28", pct, "10"), one(f+".before_on", "not_before_today")},
		{"before_on today in Bogota", time.Time{}, set("2025-03-01", pct, "10"), nil},
		{"before_on Feb 30", time.Time{}, set("2025-02-30", pct, "10"), one(f+".before_on", "date")},
		{"before_on not a date", time.Time{}, set("soon", pct, "10"), one(f+".before_on", "date")},
		{"before_on on limit_date", time.Time{}, set("2025-03-15", pct, "10"), nil},
		{"before_on the day after limit_date", time.Time{}, set("2025-03-16", pct, "10"), one(f+".before_on", "not_after_limit_date")},
		{"before_on with no limit_date", time.Time{}, func(p *models.Payment) {
			set("2030-01-01", pct, "10")(p)
			p.AdvancedOptions.LimitDate = ""
		}, nil},
		{"before_on with a bad limit_date", time.Time{}, func(p *models.Payment) {
			set("2030-01-01", pct, "10")(p)
			p.AdvancedOptions.LimitDate = "2025-02-30"
		}, one("advanced_options.limit_date", "date")},
		{"before_on and limit_date both past", time.Time{}, func(p *models.Payment) {
			set("2025-02-20", pct, "10")(p)
			p.AdvancedOptions.LimitDate = "2025-02-10"
		}, []fr{{"advanced_options.discount.before_on", "not_before_today"}, {"advanced_options.limit_date", "not_before_today"}}},
		{"type empty", time.Time{}, set("2025-03-10", "", "10"), one(f+".type", "required")},
		{"type unknown", time.Time{}, set("2025-03-10", "Porcentaje Minimo", "10"), one(f+".type", "one_of")},
		{"value 0", time.Time{}, set("2025-03-10", pct, "0"), one(f+".value", "positive")},
		{"value negative", time.Time{}, set("2025-03-10", val, "-10"), one(f+".value", "positive")},
		{"value 3 decimals", time.Time{}, set("2025-03-10", pct, "10.125"), one(f+".value", "decimal_places")},
		{"percent 99.99", time.Time{}, set("2025-03-10", pct, "99.99"), nil},
		{"percent 100", time.Time{}, set("2025-03-10", pct, "100"), one(f+".value", "below_100")},
		{"value 19999.99", time.Time{}, set("2025-03-10", val, "19999.99"), nil},
		{"value equal to amount", time.Time{}, set("2025-03-10", val, "20000"), one(f+".value", "below_amount")},
		{"value above amount", time.Time{}, set("2025-03-10", val, "25000"), one(f+".value", "below_amount")},
	})
}

// TestSeveralViolations checks order and independence: every broken field is
// reported once, sorted by field then rule.
func TestSeveralViolations(t *testing.T) {
	got := validation.New(fixed(bogotaEvening)).Payment(invalidPayment())
	want := []fr{
		{"advanced_options.discount.value", "below_100"},
		{"advanced_options.has_comments", "required"},
		{"advanced_options.limit_date", "date"},
		{"advanced_options.references", "max_items"},
		{"advanced_options.result_urls.webhook", "absolute_url"},
		{"recauda_information.amount", "decimal_places"},
		{"recauda_information.currency_type", "one_of"},
		{"recauda_information.description", "min_length"},
		{"recauda_information.id_number", "digits"},
		{"recauda_information.ref_payment", "trimmed"},
	}
	var gotFR []fr
	for _, v := range got {
		gotFR = append(gotFR, fr{v.Field, v.Rule})
	}
	if !slices.Equal(gotFR, want) {
		t.Fatalf("got %v, want %v", gotFR, want)
	}
}

// invalidPayment breaks ten fields at once.
func invalidPayment() *models.Payment {
	p := validPayment()
	p.RecaudaInformation.Description = "abc"
	p.RecaudaInformation.Amount = money("12.345")
	p.RecaudaInformation.CurrencyType = "cop"
	p.RecaudaInformation.IDNumber = "12.345.678"
	p.RecaudaInformation.RefPayment = " 1234567"
	p.AdvancedOptions.LimitDate = "2025-02-30"
	p.AdvancedOptions.References = []string{"a", "b", "c", "d"}
	p.AdvancedOptions.ResultURLs.Webhook = "webhook-test.com/x"
	p.AdvancedOptions.Discount.Value = money("100")
	p.AdvancedOptions.HasComments = nil
	return p
}

func TestMessages(t *testing.T) {
	v := validation.New(fixed(bogotaEvening))
	tests := []struct {
		name string
		edit func(p *models.Payment)
		want string
	}{
		{"min_length counts characters", func(p *models.Payment) { p.RecaudaInformation.Description = "ñññ" },
			"recauda_information.description must be at least 4 characters long; it has 3"},
		{"max_items", func(p *models.Payment) { p.AdvancedOptions.References = []string{"a", "b", "c", "d"} },
			"advanced_options.references must have at most 3 items; it has 4"},
		{"one_of lists the values", func(p *models.Payment) { p.RecaudaInformation.Advance.Type = "Minimo" },
			`recauda_information.advance.type must be one of "Valor Minimo", "Porcentaje Minimo" (exact case); it is "Minimo"`},
		{"amount_min_length", func(p *models.Payment) {
			p.RecaudaInformation.Amount = money("9.5")
			p.RecaudaInformation.Advance = nil
		},
			"recauda_information.amount written as a plain decimal must be at least 4 characters long (1000 and 10.5 are, 999 and 9.5 are not); it has 3"},
		{"not_before_today names today in Bogota", func(p *models.Payment) { p.AdvancedOptions.LimitDate = "2025-02-28"; p.AdvancedOptions.Discount = nil },
			"advanced_options.limit_date must be today (2025-03-01 in America/Bogota) or later; it is 2025-02-28"},
		{"below_amount names the amount", func(p *models.Payment) { p.RecaudaInformation.Advance.Value = money("20000.5") },
			"recauda_information.advance.value must be less than recauda_information.amount (20000); it is 20000.5"},
		{"not_after_limit_date", func(p *models.Payment) { p.AdvancedOptions.Discount.BeforeOn = "2025-03-16" },
			"advanced_options.discount.before_on must not be after advanced_options.limit_date (2025-03-15); it is 2025-03-16"},
		{"id_number is not repeated", func(p *models.Payment) { p.RecaudaInformation.IDNumber = "1234a" },
			"recauda_information.id_number must contain only the digits 0-9"},
		{"long value not repeated", func(p *models.Payment) { p.RecaudaInformation.CurrencyType = strings.Repeat("X", 1000) },
			`recauda_information.currency_type must be one of "COP", "USD", "EUR" (exact case)`},
		{"huge number not printed", func(p *models.Payment) {
			p.RecaudaInformation.Advance.Value = models.NewMoney(decimal.New(1, 999999999))
		},
			"recauda_information.advance.value must be less than recauda_information.amount (20000)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPayment()
			tc.edit(p)
			got := v.Payment(p)
			if len(got) != 1 {
				t.Fatalf("got %d violations %v, want 1", len(got), got)
			}
			if got[0].Message != tc.want {
				t.Errorf("got %q, want %q", got[0].Message, tc.want)
			}
		})
	}
}

func TestNilPayment(t *testing.T) {
	got := validation.New(fixed(bogotaEvening)).Payment(nil)
	if len(got) != 1 || got[0].Rule != "required" {
		t.Fatalf("got %v, want one required violation", got)
	}
}

func loadExample(t testing.TB) []models.Payment {
	t.Helper()
	b, err := os.ReadFile("../testdata/validation/example-payments.json")
	if err != nil {
		t.Fatal(err)
	}
	var resp models.PaymentsResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Payments) != 3 {
		t.Fatalf("got %d example payments, want 3", len(resp.Payments))
	}
	return resp.Payments
}

func TestEfipayExample(t *testing.T) {
	payments := loadExample(t)
	t.Run("valid on 2025-03-01", func(t *testing.T) {
		v := validation.New(fixed(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)))
		for i := range payments {
			if got := v.Payment(&payments[i]); got != nil {
				t.Errorf("payments[%d]: got %v, want nil", i, got)
			}
		}
	})
	t.Run("limit_date past on 2026-11-22", func(t *testing.T) {
		v := validation.New(fixed(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
		got := v.Payment(&payments[0])
		want := []validation.Violation{{
			Field:   "advanced_options.limit_date",
			Rule:    "not_before_today",
			Message: "advanced_options.limit_date must be today (2026-11-22 in America/Bogota) or later; it is 2025-03-15",
			Params:  map[string]string{"field": "advanced_options.limit_date", "today": "2026-11-22", "got": "2025-03-15"},
		}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("payments[0]: got %v, want %v", got, want)
		}
		for i := 1; i < len(payments); i++ {
			if got := v.Payment(&payments[i]); got != nil {
				t.Errorf("payments[%d] (no advanced_options): got %v, want nil", i, got)
			}
		}
	})
}

// TestViolationJSON pins the wire shape other packages put in API errors.
func TestViolationJSON(t *testing.T) {
	b, err := json.Marshal(validation.Violation{Field: "a", Rule: "b", Message: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"field":"a","rule":"b","message":"c"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	b, err = json.Marshal(validation.Violation{Field: "a", Rule: "b", Message: "c", Params: map[string]string{"field": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"field":"a","rule":"b","message":"c","params":{"field":"a"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestViolationParams checks that a violation carries the values its
// message names, for wording it in another language.
func TestViolationParams(t *testing.T) {
	v := validation.New(fixed(bogotaEvening))
	tests := []struct {
		name string
		edit func(*models.Payment)
		want map[string]string
	}{
		{"decimal places", func(p *models.Payment) {
			p.RecaudaInformation.Amount = money("85000.125")
			p.RecaudaInformation.Advance = nil
			p.AdvancedOptions.Discount = nil
		}, map[string]string{"field": "recauda_information.amount", "max": "2", "got": "3"}},
		{"blank ref", func(p *models.Payment) { p.RecaudaInformation.RefPayment = "   " },
			map[string]string{"field": "recauda_information.ref_payment", "variant": "blank"}},
		{"too short", func(p *models.Payment) { p.RecaudaInformation.Description = "abc" },
			map[string]string{"field": "recauda_information.description", "min": "4", "got": "3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPayment()
			tc.edit(p)
			got := v.Payment(p)
			if len(got) != 1 {
				t.Fatalf("got %v, want one violation", got)
			}
			if !reflect.DeepEqual(got[0].Params, tc.want) {
				t.Errorf("got params %v, want %v", got[0].Params, tc.want)
			}
		})
	}
}

// TestConcurrentUse shares one Validator between goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	v := validation.New(fixed(bogotaEvening))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				p, want := validPayment(), 0
				if (g+i)%2 == 1 {
					p, want = invalidPayment(), 10
				}
				if got := len(v.Payment(p)); got != want {
					errs <- fmt.Sprintf("goroutine %d run %d: got %d violations, want %d", g, i, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestToday(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{"Feb 28 at 23:59:59 in Bogota", time.Date(2025, 3, 1, 4, 59, 59, 0, time.UTC), "2025-02-28"},
		{"Mar 1 at 00:00:00 in Bogota", time.Date(2025, 3, 1, 5, 0, 0, 0, time.UTC), "2025-03-01"},
		{"clock in another zone", time.Date(2025, 3, 1, 4, 59, 59, 0, time.UTC).In(time.FixedZone("UTC+14", 14*3600)), "2025-02-28"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validation.New(fixed(tc.now)).Today(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
