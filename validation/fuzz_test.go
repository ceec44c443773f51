package validation_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// FuzzPayment feeds arbitrary JSON items to the validator: whatever decodes
// into a models.Payment must validate without panicking, and every
// violation must be complete.
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
	f.Add([]byte(`{"recauda_information":{"metadata":"x","description":"ñññ"},"advanced_options":{"picture":"https://:0","limit_date":"9999-12-31","result_urls":{"webhook":"mailto:x"},"has_comments":true}}`))

	v := validation.New(func() time.Time { return time.Date(2025, 3, 2, 3, 30, 0, 0, time.UTC) })
	f.Fuzz(func(t *testing.T, data []byte) {
		var p models.Payment
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		for _, viol := range v.Payment(&p) {
			if viol.Field == "" || viol.Rule == "" || viol.Message == "" {
				t.Fatalf("incomplete violation %+v", viol)
			}
		}
	})
}
