package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/handlers"
)

// contract drives the real server and checks every answer against the
// OpenAPI document: status documented, headers, content type and body.
type contract struct {
	t      *testing.T
	s      *stack
	router routers.Router
	// seen counts the answers checked per "METHOD path-template status".
	seen map[string]int
}

func loadContract(t *testing.T, s *stack) *contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(handlers.OpenAPIDocument())
	if err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{t: t, s: s, router: router, seen: map[string]int{}}
}

// do sends a request (headers as name, value pairs), validates the answer
// against the document and returns it.
func (c *contract) do(method, target string, body []byte, header ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	c.s.e.ServeHTTP(rec, req)

	// The router matches on the URL as a client sent it.
	route, params, err := c.router.FindRoute(httptest.NewRequest(method, target, nil))
	if err != nil {
		c.t.Fatalf("%s %s is not in the OpenAPI document: %v", method, target, err)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		c.t.Fatalf("%s %s answered %d against the document: %v\nbody: %s", method, target, rec.Code, err, rec.Body)
	}
	c.seen[fmt.Sprintf("%s %s %d", method, route.Path, rec.Code)]++
	return rec
}

// admin sends an authenticated admin request.
func (c *contract) admin(method, target string, header ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	return c.do(method, target, nil, append([]string{"Authorization", "Bearer " + adminToken}, header...)...)
}

// want fails unless rec has status.
func (c *contract) want(rec *httptest.ResponseRecorder, status int) {
	c.t.Helper()
	if rec.Code != status {
		c.t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
}

func TestOpenAPIContract(t *testing.T) {
	// HTML and CSV answers are validated as strings.
	for _, typ := range []string{"text/html", "text/csv"} {
		openapi3filter.RegisterBodyDecoder(typ, func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		})
	}

	bad := charge("CT-BAD", "1032456789")
	bad.Amount = decimal.RequireFromString("18333.333")
	withOptions := charge("CT/OPT/1", "1032456789")
	withOptions.References = []string{"EST-1032"}
	s := adminStack(t, map[string][]erp.Charge{
		"1032456789": {charge("CT-1", "1032456789"), charge("CT-PAID", "1032456789"), withOptions, bad},
	})
	c := loadContract(t, s)

	// Efipay's side: lookup, webhook.
	c.want(c.do(http.MethodGet, "/get-recaudas?id_number=1032456789", nil), 200)
	c.want(c.do(http.MethodGet, "/get-recaudas?id_number=1032456789", nil), 200) // empty now
	c.want(c.do(http.MethodGet, "/get-recaudas?id_number=12", nil), 400)
	c.want(c.do(http.MethodGet, "/get-recaudas?id_number="+strings.Repeat("1", 600), nil), 414)
	body := webhookBody("4242", "Aprobada", "150000.50", "COP", true, "CT-PAID")
	c.want(c.do(http.MethodPost, "/webhooks/efipay", body, "Content-Type", "application/json", "Signature", efipay.Sign(body, webhookToken)), 200)
	c.want(c.do(http.MethodPost, "/webhooks/efipay", body, "Content-Type", "application/json", "Signature", strings.Repeat("0", 64)), 401)
	unmatched := webhookBody("4243", "Aprobada", "99.00", "COP", true, "NOPE")
	c.want(c.do(http.MethodPost, "/webhooks/efipay", unmatched, "Content-Type", "application/json", "Signature", efipay.Sign(unmatched, webhookToken)), 200)

	// Operations.
	c.want(c.do(http.MethodGet, "/healthz", nil), 200)
	c.want(c.do(http.MethodGet, "/readyz", nil), 200)
	rec := c.do(http.MethodGet, "/openapi.yaml", nil)
	c.want(rec, 200)
	if ct := rec.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Fatalf("/openapi.yaml content type = %q, want application/yaml", ct)
	}

	// Admin: lists and details.
	c.want(c.admin(http.MethodGet, "/admin/api/charges"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/charges?status=paid&from=2026-11-01&to=2026-11-30&page=1&per_page=10"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/charges?page=9"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/charges/CT-PAID"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/charges/CT%2FOPT%2F1"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/rejections"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/rejections?rule=decimal_places"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/webhooks"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/webhooks?outcome=unmatched"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/webhooks/1"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/writebacks"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/writebacks?state=pending"), 200)

	// Admin: the payments report, and lists as CSV files.
	c.want(c.admin(http.MethodGet, "/admin/api/payments"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/payments?from=2026-11-01&to=2026-11-30&currency_type=COP&payment_method=credit&id_number=1032456789&ref_payment=CT-PAID&page=1&per_page=10"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/payments?from=2026-11-30&to=2026-11-01"), 400)
	c.want(c.admin(http.MethodGet, "/admin/api/payments/summary?from=2026-11-01&to=2026-11-30"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/payments/summary?currency_type=BTC"), 400)
	c.want(c.admin(http.MethodGet, "/admin/api/payments/export?format=csv&from=2026-11-01"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/payments/export?format=asobancaria2001"), 400)
	for _, list := range []string{"charges", "rejections", "webhooks", "writebacks"} {
		c.want(c.admin(http.MethodGet, "/admin/api/"+list+"?format=csv"), 200)
	}

	// Admin: changes.
	c.want(c.admin(http.MethodPost, "/admin/api/charges/CT-1/release"), 200)
	c.want(c.admin(http.MethodPost, "/admin/api/charges/CT-1/deactivate"), 200)
	c.want(c.admin(http.MethodPost, "/admin/api/charges/CT-1/activate"), 200)
	c.want(c.admin(http.MethodPost, "/admin/api/writebacks/1/cancel"), 200)
	c.want(c.admin(http.MethodPost, "/admin/api/writebacks/1/retry"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/charges/CT-1"), 200) // with a rich timeline now

	// Admin: the ledger (ERP_SOURCE=local).
	ledger := func(method, target, body string) *httptest.ResponseRecorder {
		t.Helper()
		return c.do(method, target, []byte(body), "Authorization", "Bearer "+adminToken, "Content-Type", "application/json")
	}
	item := `{"ref_payment":"LG/1","id_number":"1032456789","payer_name":"María Fernanda Gómez","description":"Cuota de administración diciembre",
		"amount":"150000.50","currency_type":"COP","limit_date":"2026-12-15","advance":{"type":"Porcentaje Minimo","value":"30"},
		"references":["APTO-301"],"has_comments":true,"metadata":{"torre":"B"}}`
	c.want(ledger(http.MethodPost, "/admin/api/ledger", item), 201)
	c.want(ledger(http.MethodPost, "/admin/api/ledger", item), 409)
	c.want(ledger(http.MethodPost, "/admin/api/ledger", `{"ref_payment":"LG-2","id_number":"1032456789","amount":"1"}`), 422)
	c.want(ledger(http.MethodPost, "/admin/api/ledger", `{"ref_payment":"LG-2","status":"paid"}`), 400)
	c.want(c.admin(http.MethodGet, "/admin/api/ledger"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/ledger?status=open&id_number=1032456789&page=1&per_page=10"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/ledger?status=nope"), 400)
	c.want(c.admin(http.MethodGet, "/admin/api/ledger/LG%2F1"), 200)
	c.want(c.admin(http.MethodGet, "/admin/api/ledger/NOPE"), 404)
	c.want(ledger(http.MethodPatch, "/admin/api/ledger/LG%2F1", `{"amount":"180000","advance":null,"discount":{"type":"Valor","value":"5000","before_on":"2026-12-01"}}`), 200)
	c.want(ledger(http.MethodPatch, "/admin/api/ledger/LG%2F1", `{"amount":"18.333"}`), 422)
	c.want(ledger(http.MethodPatch, "/admin/api/ledger/LG%2F1", `[1]`), 400)
	c.want(ledger(http.MethodPatch, "/admin/api/ledger/NOPE", `{}`), 404)
	c.want(c.admin(http.MethodDelete, "/admin/api/ledger/LG%2F1"), 200)
	c.want(ledger(http.MethodPatch, "/admin/api/ledger/LG%2F1", `{"amount":"1000"}`), 409)
	c.want(c.admin(http.MethodDelete, "/admin/api/ledger/NOPE"), 404)
	c.want(ledger(http.MethodPost, "/admin/api/ledger", strings.Replace(item, "LG/1", "LG-PAID", 1)), 201)
	if _, err := s.store.LedgerRecordPayment(context.Background(), erp.Payment{RefPayment: "LG-PAID", TransactionID: "T-LG",
		Amount: decimal.RequireFromString("150000.50"), Currency: "COP", Status: "paid"}); err != nil {
		t.Fatal(err)
	}
	c.want(c.admin(http.MethodDelete, "/admin/api/ledger/LG-PAID"), 409)

	// Receipts.
	c.want(c.admin(http.MethodGet, "/admin/api/charges/CT-PAID/receipt"), 200)
	rec = c.admin(http.MethodGet, "/admin/api/charges/CT-PAID/receipt", "Accept", "text/html")
	c.want(rec, 200)
	if !strings.Contains(rec.Body.String(), "Comprobante de pago") {
		t.Fatalf("HTML receipt lacks its title: %s", rec.Body)
	}

	// Errors.
	c.want(c.admin(http.MethodGet, "/admin/api/charges?per_page=201"), 400)
	c.want(c.admin(http.MethodGet, "/admin/api/webhooks/abc"), 400)
	c.want(c.do(http.MethodGet, "/admin/api/charges", nil), 401)
	c.want(c.do(http.MethodGet, "/admin/api/charges", nil, "Authorization", "Bearer wrong"), 401)
	c.want(c.admin(http.MethodGet, "/admin/api/charges/NOPE"), 404)
	c.want(c.admin(http.MethodGet, "/admin/api/webhooks/999"), 404)
	c.want(c.admin(http.MethodPost, "/admin/api/writebacks/999/retry"), 404)
	c.want(c.admin(http.MethodPost, "/admin/api/charges/CT-PAID/release"), 409)
	c.want(c.admin(http.MethodPost, "/admin/api/charges/CT-PAID/deactivate"), 409)
	c.want(c.admin(http.MethodGet, "/admin/api/charges/CT-1/receipt"), 409)
	if err := s.store.CompleteWriteback(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	c.want(c.admin(http.MethodPost, "/admin/api/writebacks/1/cancel"), 409)

	// Ten failed credentials from one client: then 429, even with the right one.
	for range 8 {
		c.want(c.do(http.MethodGet, "/admin/api/charges", nil, "Authorization", "Bearer wrong"), 401)
	}
	c.want(c.admin(http.MethodGet, "/admin/api/charges"), 429)

	off := loadContract(t, newStack(t, &erptest.Source{}, nil))
	off.want(off.admin(http.MethodGet, "/admin/api/charges"), 503)
	off.want(off.do(http.MethodPost, "/webhooks/efipay", body, "Signature", efipay.Sign(body, webhookToken)), 503)

	// The lookup's protection and /metrics, on a stack with them on (protect_test.go).
	for k, n := range lookupProtectionContract(t).seen {
		c.seen[k] += n
	}

	// Every admin operation of the document was exercised.
	tested := map[string]bool{}
	for k := range c.seen {
		f := strings.Fields(k)
		tested[f[0]+" "+f[1]] = true
	}
	doc, _ := openapi3.NewLoader().LoadFromData(handlers.OpenAPIDocument())
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !tested[method+" "+path] {
				t.Errorf("%s %s is documented but the contract test never calls it", method, path)
			}
		}
	}
}
