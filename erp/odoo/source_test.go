package odoo

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"

	"recauda-bridge/erp"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// setup starts a fake Odoo and a Source speaking protocol to it.
func setup(t *testing.T, protocol string, modify func(*Config)) (*Source, *fakeOdoo) {
	t.Helper()
	fake := newFakeOdoo(t)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg := Config{URL: srv.URL, Protocol: protocol, Database: "acme", Login: "bridge@acme.example", APIKey: "k3y", JournalID: 7}
	if modify != nil {
		modify(&cfg)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.now = func() time.Time { return time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC) }
	return s, fake
}

var protocols = []string{ProtocolJSONRPC, ProtocolJSON2}

func TestPendingCharges(t *testing.T) {
	// The other person of the fake: a cédula that is 102030405 plus the
	// NIT check digit of 102030405.
	other := "102030405"
	otherCC := other + strconv.Itoa(nitCheckDigit(other))
	tests := []struct {
		name  string
		id    string
		refs  []string
		payer string
	}{
		{"NIT typed without check digit", "900123456", []string{"INV/2026/00042", "INV/2026/00050"}, "Distribuidora Andina SAS"},
		{"NIT typed with check digit", "9001234567", []string{"INV/2026/00042", "INV/2026/00050"}, "Distribuidora Andina SAS"},
		{"cédula", "1020304050", []string{"INV/2026/00070"}, "Juan Pérez"},
		{"cédula is not a NIT with check digit", other, nil, ""},
		{"the other person's own cédula", otherCC, []string{"INV/2026/00080"}, "Otra Persona"},
		{"company stored without check digit", "8001972684", []string{"INV/2026/00090"}, "Importadora Sin DV SAS"},
		{"unknown", "555555555", nil, ""},
	}
	for _, protocol := range protocols {
		for _, tt := range tests {
			t.Run(protocol+"/"+tt.name, func(t *testing.T) {
				s, fake := setup(t, protocol, nil)
				got, err := s.PendingCharges(context.Background(), tt.id)
				if err != nil {
					t.Fatalf("PendingCharges: %v", err)
				}
				if got == nil {
					t.Fatal("got nil, want a non-nil slice")
				}
				var refs []string
				for _, c := range got {
					refs = append(refs, c.RefPayment)
					if c.IDNumber != tt.id || c.PayerName != tt.payer || len(c.Defects) != 0 {
						t.Errorf("%s: got id %q payer %q defects %v; want %q %q none", c.RefPayment, c.IDNumber, c.PayerName, c.Defects, tt.id, tt.payer)
					}
				}
				if strings.Join(refs, ",") != strings.Join(tt.refs, ",") {
					t.Errorf("got %v, want %v", refs, tt.refs)
				}
				// The partner search: one loose =ilike pattern.
				pc := fake.callsTo("res.partner", "search_read")
				if len(pc) != 1 {
					t.Fatalf("got %d partner searches, want 1", len(pc))
				}
				if got, want := canon(t, pc[0].KW["domain"]), canon(t, []any{[]any{"vat", "=ilike", vatPattern(tt.id)}}); got != want {
					t.Errorf("got partner domain %s, want %s", got, want)
				}
			})
		}
	}
}

func TestInvoiceDomainAndMapping(t *testing.T) {
	for _, protocol := range protocols {
		t.Run(protocol, func(t *testing.T) {
			s, fake := setup(t, protocol, func(c *Config) { c.CompanyID = 1 })
			got, err := s.PendingCharges(context.Background(), "900123456")
			if err != nil {
				t.Fatal(err)
			}
			mc := fake.callsTo("account.move", "search_read")
			if len(mc) != 1 {
				t.Fatalf("got %d invoice searches, want 1", len(mc))
			}
			wantDomain := `[["move_type","=","out_invoice"],["state","=","posted"],["payment_state","not in",["paid","in_payment","reversed"]],["amount_residual",">",0],["company_id","=",1],"|",["partner_id","in",[10,11]],["commercial_partner_id","in",[10,11]]]`
			if got := canon(t, mc[0].KW["domain"]); got != wantDomain {
				t.Errorf("got domain\n%s\nwant\n%s", got, wantDomain)
			}
			if got := canon(t, mc[0].KW["context"]); got != `{"allowed_company_ids":[1]}` {
				t.Errorf("got context %s", got)
			}
			if len(got) != 2 {
				t.Fatalf("got %d charges, want 2", len(got))
			}
			c := got[0]
			if c.RefPayment != "INV/2026/00042" || c.Description != "Factura INV/2026/00042 - OC-778" || !c.Amount.Equal(dec("69000")) ||
				c.Currency != "COP" || c.LimitDate != "2026-04-01" || string(c.Metadata) != `{"odoo_move_id":100}` {
				t.Errorf("got %+v", c)
			}
			// Invoiced to a contact of the company: the payer is the company.
			c = got[1]
			if c.Description != "Factura INV/2026/00050" || !c.Amount.Equal(dec("125000.5")) || c.PayerName != "Distribuidora Andina SAS" {
				t.Errorf("got %+v", c)
			}
		})
	}
}

func TestNoDueDateAndForeignCurrency(t *testing.T) {
	s, _ := setup(t, ProtocolJSON2, nil)
	got, err := s.PendingCharges(context.Background(), "1020304050")
	if err != nil || len(got) != 1 || got[0].LimitDate != "" {
		t.Errorf("got %+v, %v; want one charge without limit date", got, err)
	}
	got, err = s.PendingCharges(context.Background(), "8001972684")
	if err != nil || len(got) != 1 || got[0].Currency != "USD" || !got[0].Amount.Equal(dec("1500.25")) {
		t.Errorf("got %+v, %v; want one USD charge of 1500.25", got, err)
	}
}

func TestRecordPayment(t *testing.T) {
	for _, tt := range []struct {
		protocol string
		version  int
		memo     string
	}{{ProtocolJSONRPC, 17, "ref"}, {ProtocolJSONRPC, 18, "memo"}, {ProtocolJSON2, 19, "memo"}} {
		t.Run(tt.protocol+"/"+strconv.Itoa(tt.version), func(t *testing.T) {
			s, fake := setup(t, tt.protocol, nil)
			fake.version = tt.version
			p := erp.Payment{
				RefPayment: "INV/2026/00042", IDNumber: "900123456", Amount: dec("69000"), Currency: "COP",
				TransactionID: "efi-tx-1", PaidAt: time.Date(2026, 4, 2, 2, 30, 0, 0, time.UTC), // 1 April in Bogotá
				Status: "paid", PaymentMethod: "PSE",
			}
			if err := s.RecordPayment(context.Background(), p); err != nil {
				t.Fatalf("RecordPayment: %v", err)
			}

			ps := fake.callsTo("account.payment", "search_read")
			if len(ps) != 1 || canon(t, ps[0].KW["domain"]) != `[["`+tt.memo+`","=","efi-tx-1"]]` {
				t.Errorf("got idempotency search %+v, want one on %s", ps, tt.memo)
			}
			ms := fake.callsTo("account.move", "search_read")
			if len(ms) != 1 || canon(t, ms[0].KW["domain"]) != `[["name","=","INV/2026/00042"],["move_type","=","out_invoice"],["state","=","posted"]]` {
				t.Errorf("got invoice search %+v", ms)
			}
			cr := fake.callsTo("account.payment.register", "create")
			if len(cr) != 1 {
				t.Fatalf("got %d wizard creations, want 1", len(cr))
			}
			if got, want := canon(t, cr[0].KW["vals_list"]), `[{"amount":69000,"communication":"efi-tx-1","journal_id":7,"payment_date":"2026-04-01"}]`; got != want {
				t.Errorf("got wizard values %s, want %s", got, want)
			}
			if got, want := canon(t, cr[0].KW["context"]), `{"active_ids":[100],"active_model":"account.move"}`; got != want {
				t.Errorf("got wizard context %s, want %s", got, want)
			}
			ac := fake.callsTo("account.payment.register", "action_create_payments")
			if len(ac) != 1 || len(ac[0].IDs) != 1 || ac[0].IDs[0] != fake.nextID-1 {
				t.Errorf("got %+v, want action_create_payments on the wizard", ac)
			}
			if len(fake.payments) != 1 || fake.payments[0][tt.memo] != "efi-tx-1" {
				t.Errorf("got payments %v", fake.payments)
			}

			// The same transaction again: found by its memo, nothing created.
			if err := s.RecordPayment(context.Background(), p); err != nil {
				t.Fatalf("second RecordPayment: %v", err)
			}
			if n := len(fake.callsTo("account.payment.register", "create")); n != 1 {
				t.Errorf("got %d wizard creations after a repeat, want still 1", n)
			}
			if n := len(fake.callsTo("account.payment", "fields_get")); n != 1 {
				t.Errorf("got %d fields_get calls, want 1 (cached)", n)
			}

			// Another transaction for the now settled invoice: refused for good.
			p.TransactionID = "efi-tx-2"
			err := s.RecordPayment(context.Background(), p)
			if err == nil || errors.Is(err, erp.ErrUnavailable) || errors.Is(err, erp.ErrNotFound) {
				t.Errorf("paid invoice: got %v, want a permanent error", err)
			}
		})
	}
}

func TestRecordPaymentErrors(t *testing.T) {
	tests := []struct {
		name        string
		cfg         func(*Config)
		fake        func(*fakeOdoo)
		payment     func(*erp.Payment)
		notFound    bool
		unavailable bool
	}{
		{name: "unknown invoice", payment: func(p *erp.Payment) { p.RefPayment = "INV/2026/99999" }, notFound: true},
		{name: "draft invoice", payment: func(p *erp.Payment) { p.RefPayment = "INV/2026/00060" }, notFound: true},
		{name: "wrong currency", payment: func(p *erp.Payment) { p.Currency = "USD" }},
		{name: "journal refused", cfg: func(c *Config) { c.JournalID = 99 }},
		{name: "server error", fake: func(f *fakeOdoo) {
			f.fail["account.payment.register/action_create_payments"] = &fakeError{status: 500, name: "psycopg2.errors.SerializationFailure", message: "could not serialize access"}
		}, unavailable: true},
		{name: "wizard gone", fake: func(f *fakeOdoo) {
			f.fail["account.payment.register/action_create_payments"] = &fakeError{status: 404, name: "odoo.exceptions.MissingError", message: "Record does not exist"}
		}, notFound: true},
		{name: "access denied", fake: func(f *fakeOdoo) {
			f.fail["account.payment/search_read"] = &fakeError{status: 403, name: "odoo.exceptions.AccessError", message: "not allowed"}
		}, unavailable: true},
	}
	for _, protocol := range protocols {
		for _, tt := range tests {
			t.Run(protocol+"/"+tt.name, func(t *testing.T) {
				s, fake := setup(t, protocol, tt.cfg)
				if tt.fake != nil {
					tt.fake(fake)
				}
				p := erp.Payment{RefPayment: "INV/2026/00050", Amount: dec("1000"), Currency: "COP", TransactionID: "tx", PaidAt: time.Now()}
				if tt.payment != nil {
					tt.payment(&p)
				}
				err := s.RecordPayment(context.Background(), p)
				if err == nil || errors.Is(err, erp.ErrNotFound) != tt.notFound || errors.Is(err, erp.ErrUnavailable) != tt.unavailable {
					t.Errorf("got %v, want notFound=%v unavailable=%v", err, tt.notFound, tt.unavailable)
				}
			})
		}
	}
}

func TestRecordReversal(t *testing.T) {
	for _, tt := range []struct {
		protocol  string
		version   int
		memo      string
		cancelled string
	}{{ProtocolJSONRPC, 17, "ref", "cancel"}, {ProtocolJSONRPC, 18, "memo", "canceled"}, {ProtocolJSON2, 19, "memo", "canceled"}} {
		t.Run(tt.protocol+"/"+strconv.Itoa(tt.version), func(t *testing.T) {
			s, fake := setup(t, tt.protocol, nil)
			fake.version = tt.version
			ctx := context.Background()
			if !s.CanReverse() {
				t.Fatal("got CanReverse false, want true")
			}
			p := erp.Payment{RefPayment: "INV/2026/00042", IDNumber: "900123456", Amount: dec("69000"), Currency: "COP",
				TransactionID: "efi-tx-1", PaidAt: time.Date(2026, 4, 2, 2, 30, 0, 0, time.UTC), Status: "paid"}
			if err := s.RecordPayment(ctx, p); err != nil {
				t.Fatalf("RecordPayment: %v", err)
			}
			if got, err := s.PendingCharges(ctx, "900123456"); err != nil || hasRef(got, "INV/2026/00042") {
				t.Fatalf("after the payment: got %+v (%v), want INV/2026/00042 no longer owed", got, err)
			}
			r := erp.Reversal{RefPayment: "INV/2026/00042", IDNumber: "900123456", Amount: dec("69000"), Currency: "COP",
				TransactionID: "efi-tx-1", ReversedAt: time.Date(2026, 4, 3, 12, 0, 0, 0, time.UTC)}
			for i := range 2 { // the worker may deliver it twice
				if err := s.RecordReversal(ctx, r); err != nil {
					t.Fatalf("RecordReversal %d: %v", i+1, err)
				}
			}
			if n := len(fake.callsTo("account.payment", "action_draft")); n != 1 {
				t.Errorf("got %d action_draft calls, want 1", n)
			}
			if n := len(fake.callsTo("account.payment", "action_cancel")); n != 1 {
				t.Errorf("got %d action_cancel calls, want 1", n)
			}
			if st := fake.payments[0]["state"]; st != tt.cancelled {
				t.Errorf("payment state: got %v, want %s", st, tt.cancelled)
			}
			got, err := s.PendingCharges(ctx, "900123456")
			if err != nil || !hasRef(got, "INV/2026/00042") {
				t.Fatalf("after the reversal: got %+v (%v), want INV/2026/00042 owed again", got, err)
			}
			// A replayed payment job finds the cancelled payment by its memo
			// and records nothing.
			if err := s.RecordPayment(ctx, p); err != nil {
				t.Fatalf("RecordPayment after the reversal: %v", err)
			}
			if len(fake.payments) != 1 {
				t.Errorf("got %d payments, want 1", len(fake.payments))
			}
			// A payment Odoo never recorded: nothing to undo.
			if err := s.RecordReversal(ctx, erp.Reversal{RefPayment: "INV/2026/00042", TransactionID: "never"}); err != nil {
				t.Errorf("reversal of an unknown payment: got %v, want nil", err)
			}
		})
	}
}

func TestRecordReversalErrors(t *testing.T) {
	tests := []struct {
		name                               string
		fail                               string
		fe                                 *fakeError
		unsupported, unavailable, notFound bool
	}{
		{"odoo refuses: the operator", "account.payment/action_draft",
			&fakeError{status: 422, name: "odoo.exceptions.UserError", message: "You cannot modify entries prior to the lock date"}, true, false, false},
		{"server error: later", "account.payment/action_cancel",
			&fakeError{status: 500, name: "psycopg2.errors.SerializationFailure", message: "could not serialize access"}, false, true, false},
		{"search fails: later", "account.payment/search_read",
			&fakeError{status: 503, name: "werkzeug.exceptions.ServiceUnavailable", message: "down"}, false, true, false},
	}
	for _, protocol := range protocols {
		for _, tt := range tests {
			t.Run(protocol+"/"+tt.name, func(t *testing.T) {
				s, fake := setup(t, protocol, nil)
				ctx := context.Background()
				if err := s.RecordPayment(ctx, erp.Payment{RefPayment: "INV/2026/00042", Amount: dec("69000"), Currency: "COP",
					TransactionID: "tx", PaidAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
				fake.mu.Lock()
				fake.fail[tt.fail] = tt.fe
				fake.mu.Unlock()
				err := s.RecordReversal(ctx, erp.Reversal{RefPayment: "INV/2026/00042", TransactionID: "tx"})
				if err == nil || errors.Is(err, erp.ErrUnsupported) != tt.unsupported || errors.Is(err, erp.ErrUnavailable) != tt.unavailable ||
					errors.Is(err, erp.ErrNotFound) != tt.notFound {
					t.Errorf("got %v, want unsupported=%v unavailable=%v notFound=%v", err, tt.unsupported, tt.unavailable, tt.notFound)
				}
				if tt.unsupported && !strings.Contains(err.Error(), "lock date") {
					t.Errorf("got %v, want Odoo's reason for the operator", err)
				}
			})
		}
	}
}

func hasRef(charges []erp.Charge, ref string) bool {
	for _, c := range charges {
		if c.RefPayment == ref {
			return true
		}
	}
	return false
}

func TestRecordPaymentUnsupported(t *testing.T) {
	s, _ := setup(t, ProtocolJSON2, func(c *Config) { c.JournalID = 0 })
	if s.CanRecord() {
		t.Error("got CanRecord true, want false")
	}
	if err := s.RecordPayment(context.Background(), erp.Payment{TransactionID: "t"}); !errors.Is(err, erp.ErrUnsupported) {
		t.Errorf("got %v, want ErrUnsupported", err)
	}
}

func TestLookupFailures(t *testing.T) {
	tests := []struct {
		name     string
		protocol string
		modify   func(*Config, *fakeOdoo)
	}{
		{"jsonrpc wrong key", ProtocolJSONRPC, func(c *Config, _ *fakeOdoo) { c.APIKey = "wrong" }},
		{"json2 wrong key", ProtocolJSON2, func(c *Config, _ *fakeOdoo) { c.APIKey = "wrong" }},
		{"json2 wrong database", ProtocolJSON2, func(c *Config, _ *fakeOdoo) { c.Database = "other" }},
		{"jsonrpc server error", ProtocolJSONRPC, func(_ *Config, f *fakeOdoo) {
			f.fail["account.move/search_read"] = &fakeError{name: "odoo.exceptions.AccessError", message: "You are not allowed to access 'Journal Entry'"}
		}},
		{"json2 server error", ProtocolJSON2, func(_ *Config, f *fakeOdoo) {
			f.fail["res.partner/search_read"] = &fakeError{status: 500, name: "builtins.KeyError", message: "boom"}
		}},
		{"timeout", ProtocolJSON2, func(c *Config, f *fakeOdoo) { c.Timeout = 100 * time.Millisecond; f.delay = 5 * time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeOdoo(t)
			srv := httptest.NewServer(fake)
			defer srv.Close()
			cfg := Config{URL: srv.URL, Protocol: tt.protocol, Database: "acme", Login: "bridge@acme.example", APIKey: "k3y"}
			tt.modify(&cfg, fake)
			s, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := s.PendingCharges(context.Background(), "900123456")
			if !errors.Is(err, erp.ErrUnavailable) {
				t.Errorf("got %v, %v; want ErrUnavailable", got, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
			if err != nil && strings.Contains(err.Error(), "k3y") {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
}

func TestNotOdoo(t *testing.T) {
	for _, tt := range []struct {
		protocol string
		status   int
		body     string
	}{
		{ProtocolJSONRPC, 200, "<html>login</html>"},
		{ProtocolJSONRPC, 502, "Bad Gateway"},
		{ProtocolJSON2, 502, "<html>Bad Gateway</html>"},
		{ProtocolJSON2, 200, "{not json"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			w.Write([]byte(tt.body))
		}))
		s, err := New(Config{URL: srv.URL, Protocol: tt.protocol, Database: "acme", Login: "u", APIKey: "k"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PendingCharges(context.Background(), "900123456"); !errors.Is(err, erp.ErrUnavailable) {
			t.Errorf("%s %d %q: got %v, want ErrUnavailable", tt.protocol, tt.status, tt.body, err)
		}
		srv.Close()
	}
}

func TestJSONRPCAuthenticatesOnce(t *testing.T) {
	s, fake := setup(t, ProtocolJSONRPC, nil)
	for range 3 {
		if _, err := s.PendingCharges(context.Background(), "900123456"); err != nil {
			t.Fatal(err)
		}
	}
	if fake.auths != 1 {
		t.Errorf("got %d authenticate calls, want 1", fake.auths)
	}
	// A rotated key: AccessDenied clears the uid, the next call authenticates again.
	fake.mu.Lock()
	fake.key = "rotated"
	fake.mu.Unlock()
	if _, err := s.PendingCharges(context.Background(), "900123456"); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
	s.rpc.(*jsonRPC).key = "rotated"
	if _, err := s.PendingCharges(context.Background(), "900123456"); err != nil {
		t.Errorf("after the key was updated: %v", err)
	}
	if fake.auths != 2 {
		t.Errorf("got %d authenticate calls, want 2", fake.auths)
	}
}

func TestCheck(t *testing.T) {
	for _, protocol := range protocols {
		s, fake := setup(t, protocol, nil)
		if err := s.Check(context.Background()); err != nil {
			t.Errorf("%s: got %v, want nil", protocol, err)
		}
		fake.fail["res.partner/search_count"] = &fakeError{status: 503, name: "werkzeug.exceptions.ServiceUnavailable", message: "maintenance"}
		if err := s.Check(context.Background()); !errors.Is(err, erp.ErrUnavailable) {
			t.Errorf("%s: got %v, want ErrUnavailable", protocol, err)
		}
	}
}

func TestVATMatching(t *testing.T) {
	if got := nitCheckDigit("800197268"); got != 4 {
		t.Errorf("check digit of DIAN's NIT 800197268: got %d, want 4", got)
	}
	if got := nitCheckDigit("900123456"); got != 8 {
		t.Errorf("check digit of 900123456: got %d, want 8", got)
	}
	tests := []struct {
		id, vat   string
		isCompany bool
		want      bool
	}{
		{"900123456", "900.123.456-7", true, true},
		{"9001234567", "900.123.456-7", true, true},
		{"900123456", "900123456-7", false, true},
		{"900123456", "CO900123456-7", true, true},
		{"900123456", "900 123 456", true, true},
		{"1020304050", "1.020.304.050", false, true},
		{"102030405", "1020304050", false, false}, // a person's plain number: never a check digit
		{"9001234568", "900123456", true, true},   // typed with the right check digit
		{"9001234561", "900123456", true, false},  // with a wrong one
		{"9001234568", "900123456", false, false}, // a person: no
		{"900123456", "9001234568", true, true},   // company stored with its check digit, no separator
		{"900123456", "9001234561", true, false},  // ... with a wrong one
		{"900123456", "800123456-7", true, false},
		{"90012345", "900.123.456-7", true, false},
		{"AB123456", "ab-123456", false, true},
		{"900123456", "", true, false},
	}
	for _, tt := range tests {
		if got := vatMatches(tt.id, tt.vat, tt.isCompany); got != tt.want {
			t.Errorf("vatMatches(%q, %q, company=%v): got %v, want %v", tt.id, tt.vat, tt.isCompany, got, tt.want)
		}
	}
	for _, tt := range []struct{ id, want string }{
		{"900123456", "%9%0%0%1%2%3%4%5%"},
		{"9001234567", "%9%0%0%1%2%3%4%5%6%"},
		{"12345", "%1%2%3%4%5%"},
	} {
		if got := vatPattern(tt.id); got != tt.want {
			t.Errorf("vatPattern(%q): got %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{Database: "d", Login: "l", APIKey: "k"}, "url:"},
		{"relative url", Config{URL: "odoo.example", Database: "d", Login: "l", APIKey: "k"}, "url:"},
		{"jsonrpc without database", Config{URL: "https://o.example", Login: "l", APIKey: "k"}, "database: is required"},
		{"jsonrpc without login", Config{URL: "https://o.example", Database: "d", APIKey: "k"}, "login: is required"},
		{"no key", Config{URL: "https://o.example", Protocol: "json2"}, "api_key: is required"},
		{"unknown protocol", Config{URL: "https://o.example", Protocol: "xmlrpc", APIKey: "k"}, `protocol: "xmlrpc"`},
		{"unset env", Config{URL: "https://o.example", Protocol: "json2", APIKey: "${ODOO_TEST_UNSET}"}, "ODOO_TEST_UNSET is not set"},
		{"memo field", Config{URL: "https://o.example", Protocol: "json2", APIKey: "k", MemoField: "name"}, "memo_field"},
		{"method line without journal", Config{URL: "https://o.example", Protocol: "json2", APIKey: "k", PaymentMethodLineID: 3}, "needs journal_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "odoo", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Odoo Config `yaml:"odoo"`
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&file); err != nil {
		t.Fatalf("decode: %v", err)
	}
	t.Setenv("ODOO_API_KEY", "x")
	s, err := New(file.Odoo, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.cfg.Protocol != ProtocolJSON2 || s.cfg.JournalID == 0 || s.cfg.Timeout != 3*time.Second {
		t.Errorf("got %+v", s.cfg)
	}
}
