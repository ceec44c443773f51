package validation_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// FuzzPayment feeds arbitrary JSON items to the validator: whatever decodes
// into a models.Payment must validate without panicking, every violation
// must be complete, and an item without violations carries no control
// character in its texts.
func FuzzPayment(f *testing.F) {
	b, err := os.ReadFile("../testdata/validation/example-payments.json")
	if err != nil {
		f.Fatal(err)
	}
	var resp struct {
		Payments []json.RawMessage `json:"payments"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		f.Fatal(err)
	}
	for _, p := range resp.Payments {
		f.Add([]byte(p))
	}
	seed, err := json.Marshal(validPayment())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"recauda_information":{"amount":"1e999999999","advance":{"type":"Valor Minimo","value":1e-99999}},"advanced_options":{}}`))
	f.Add([]byte(`{"recauda_information":{"amount":-0.001,"ref_payment":" \u0000"},"advanced_options":{"references":["","",""],"discount":{"before_on":"2025-02-29","type":"Valor","value":"1e30"},"delivery_service":{"type":"Gratis","value":1e-3}}}`))
	f.Add([]byte(`{"recauda_information":{"description":"Cuota\nmarzo","payer_name":"Ana\u0000Gómez","ref_payment":"F\u202e1"},"advanced_options":{"references":["\u2066x"],"comments_label":"a\tb"}}`))
	f.Add([]byte(`{"recauda_information":{"metadata":"x","description":"ñññ"},"advanced_options":{"picture":"https://:0","limit_date":"9999-12-31","result_urls":{"webhook":"mailto:x"},"has_comments":true}}`))

	v := validation.New(func() time.Time { return time.Date(2025, 3, 2, 3, 30, 0, 0, time.UTC) })
	f.Fuzz(func(t *testing.T, data []byte) {
		var p models.Payment
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		viols := v.Payment(&p)
		for _, viol := range viols {
			if viol.Field == "" || viol.Rule == "" || viol.Message == "" {
				t.Fatalf("incomplete violation %+v", viol)
			}
		}
		if len(viols) == 0 {
			ri := p.RecaudaInformation
			for _, text := range []string{ri.Description, ri.PayerName, ri.RefPayment} {
				if !utf8.ValidString(text) || strings.ContainsFunc(text, unicode.IsControl) {
					t.Fatalf("valid item with a control character or bytes that are not UTF-8: %q", text)
				}
			}
		}
	})
}
