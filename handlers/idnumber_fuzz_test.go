package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/recauda"
)

// FuzzIDNumberParam: any query string either yields 5 to 20 ASCII digits or
// a client error, never a panic or a server error.
func FuzzIDNumberParam(f *testing.F) {
	for _, seed := range []string{
		"id_number=12345678", "id_number=", "", "id_number=1234", "id_number=%zz", "id_number=1&id_number=2",
		"id_number=%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5", "id_number=+12345", "a=b;c=d", "id_number=12345678901234567890",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := idNumberParam(raw)
		if err != nil {
			var apiErr *httperr.Error
			if errors.As(err, &apiErr) {
				if apiErr.Status < 400 || apiErr.Status >= 500 {
					t.Fatalf("status %d for %q, want a 4xx", apiErr.Status, raw)
				}
				return
			}
			if !errors.Is(err, recauda.ErrInvalidIDNumber) {
				t.Fatalf("unexpected error %v for %q", err, raw)
			}
			if s := httperr.From(err).Status; s != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", s)
			}
			return
		}
		if len(id) < 5 || len(id) > 20 {
			t.Fatalf("accepted %q (len %d)", id, len(id))
		}
		// The fast path for "id_number=<digits>" must agree with the
		// general parse.
		if q, err := url.ParseQuery(raw); err != nil || len(q["id_number"]) == 0 || q["id_number"][0] != id {
			t.Fatalf("%q gave %q; url.ParseQuery gives %v, %v", raw, id, q["id_number"], err)
		}
		for i := 0; i < len(id); i++ {
			if id[i] < '0' || id[i] > '9' {
				t.Fatalf("accepted non-digit in %q", id)
			}
		}
	})
}
