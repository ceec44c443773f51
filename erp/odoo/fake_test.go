package odoo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOdoo is an Odoo stand-in built from the documented request and answer
// shapes of both external APIs (Odoo cannot be installed here):
//
//   - JSON-RPC: POST /jsonrpc {"jsonrpc":"2.0","method":"call","params":
//     {"service":"common","method":"authenticate","args":[db,login,key,{}]},
//     "id":N} -> {"jsonrpc":"2.0","id":N,"result":uid|false}; then service
//     "object" method "execute_kw" with args [db,uid,key,model,method,args,
//     kwargs]. Errors: {"jsonrpc":"2.0","id":N,"error":{"code":200,
//     "message":"Odoo Server Error","data":{"name":...,"message":...}}}.
//   - JSON-2 (Odoo 19): POST /json/2/<model>/<method>, Authorization:
//     bearer <key>, X-Odoo-Database, body {"ids":[...], "context":{...},
//     <named args>} -> 200 and the result, or 4xx/5xx and {"name",
//     "message","arguments","context","debug"}.
//
// It keeps partners, invoices and payments in memory, evaluates Odoo
// domains (prefix | & !, and the operators the source uses), runs the
// payment wizard, and records every ORM call for assertions.
type fakeOdoo struct {
	t       *testing.T
	db      string
	login   string
	key     string
	uid     int64
	version int // 18 and later name the payment's memo "memo", earlier "ref"
	journal int64

	mu       sync.Mutex
	partners []map[string]any
	moves    []map[string]any
	payments []map[string]any
	wizards  map[int64]fakeWizard
	nextID   int64
	calls    []fakeCall
	auths    int
	fail     map[string]*fakeError // "model/method" -> error to answer once
	delay    time.Duration
}

type fakeCall struct {
	Model, Method string
	IDs           []int64
	KW            map[string]any
}

type fakeWizard struct {
	vals map[string]any
	ctx  map[string]any
}

type fakeError struct {
	status  int
	name    string
	message string
}

func newFakeOdoo(t *testing.T) *fakeOdoo {
	m2o := func(id int64, name string) []any { return []any{id, name} }
	cop, usd := m2o(8, "COP"), m2o(2, "USD")
	andina := m2o(10, "Distribuidora Andina SAS")
	company := m2o(1, "Mi Empresa SAS")
	// A person whose cédula is some other person's number plus one digit
	// that happens to be that number's NIT check digit.
	other := "102030405"
	otherVat := other + strconv.Itoa(nitCheckDigit(other))
	inv := func(id int64, name string, partner, commercial []any, typ, state, pstate, residual string, due any, currency []any) map[string]any {
		return map[string]any{
			"id": id, "name": name, "ref": false, "move_type": typ, "state": state, "payment_state": pstate,
			"amount_residual": json.Number(residual), "invoice_date_due": due, "currency_id": currency,
			"partner_id": partner, "commercial_partner_id": commercial, "company_id": company,
		}
	}
	f := &fakeOdoo{
		t: t, db: "acme", login: "bridge@acme.example", key: "k3y", uid: 7, version: 19, journal: 7,
		partners: []map[string]any{
			{"id": int64(10), "name": "Distribuidora Andina SAS", "vat": "900.123.456-7", "is_company": true},
			{"id": int64(11), "name": "Distribuidora Andina SAS, Laura Ruiz", "vat": "900.123.456-7", "is_company": false},
			{"id": int64(12), "name": "Juan Pérez", "vat": "1020304050", "is_company": false},
			{"id": int64(13), "name": "Otra Persona", "vat": otherVat, "is_company": false},
			{"id": int64(14), "name": "Importadora Sin DV SAS", "vat": "800197268", "is_company": true},
			{"id": int64(15), "name": "Sin identificación", "vat": false, "is_company": false},
		},
		moves: []map[string]any{
			inv(100, "INV/2026/00042", andina, andina, "out_invoice", "posted", "not_paid", "69000.0", "2026-04-01", cop),
			inv(101, "INV/2026/00050", m2o(11, "Distribuidora Andina SAS, Laura Ruiz"), andina, "out_invoice", "posted", "partial", "125000.5", "2026-04-15", cop),
			inv(102, "INV/2026/00007", andina, andina, "out_invoice", "posted", "paid", "0.0", "2026-01-10", cop),
			inv(103, "RINV/2026/00001", andina, andina, "out_refund", "posted", "not_paid", "5000.0", "2026-04-01", cop),
			inv(104, "INV/2026/00060", andina, andina, "out_invoice", "draft", "not_paid", "7000.0", "2026-05-01", cop),
			inv(105, "INV/2026/00061", andina, andina, "out_invoice", "posted", "in_payment", "1000.0", "2026-05-01", cop),
			inv(106, "INV/2026/00070", m2o(12, "Juan Pérez"), m2o(12, "Juan Pérez"), "out_invoice", "posted", "not_paid", "30000.0", false, cop),
			inv(107, "INV/2026/00080", m2o(13, "Otra Persona"), m2o(13, "Otra Persona"), "out_invoice", "posted", "not_paid", "5000.0", "2026-04-20", cop),
			inv(108, "INV/2026/00090", m2o(14, "Importadora Sin DV SAS"), m2o(14, "Importadora Sin DV SAS"), "out_invoice", "posted", "not_paid", "1500.25", "2026-06-30", usd),
		},
		wizards: map[int64]fakeWizard{},
		nextID:  1000,
		fail:    map[string]*fakeError{},
	}
	f.moves[0]["ref"] = "OC-778"
	return f
}

func (f *fakeOdoo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the body first: only then does the server notice a client that
	// gave up, and end r.Context().
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if f.delay > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(f.delay):
		}
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		http.Error(w, "want a JSON POST", http.StatusMethodNotAllowed)
		return
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	switch {
	case r.URL.Path == "/jsonrpc":
		f.serveJSONRPC(w, d)
	case strings.HasPrefix(r.URL.Path, "/json/2/"):
		f.serveJSON2(w, r, d)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeOdoo) serveJSONRPC(w http.ResponseWriter, d *json.Decoder) {
	var req struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		Params  struct {
			Service string `json:"service"`
			Method  string `json:"method"`
			Args    []any  `json:"args"`
		} `json:"params"`
		ID json.Number `json:"id"`
	}
	if err := d.Decode(&req); err != nil || req.JSONRPC != "2.0" || req.Method != "call" || req.ID == "" {
		f.t.Errorf("bad JSON-RPC envelope: %+v (%v)", req, err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	reply := func(result any, fe *fakeError) {
		out := map[string]any{"jsonrpc": "2.0", "id": req.ID}
		if fe != nil {
			out["error"] = map[string]any{"code": 200, "message": "Odoo Server Error", "data": map[string]any{
				"name": fe.name, "message": fe.message, "arguments": []any{fe.message}, "context": map[string]any{}, "debug": "Traceback (most recent call last): ...",
			}}
		} else {
			out["result"] = result
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}
	a := req.Params.Args
	switch req.Params.Service + "." + req.Params.Method {
	case "common.authenticate":
		f.mu.Lock()
		f.auths++
		f.mu.Unlock()
		if len(a) == 4 && a[0] == f.db && a[1] == f.login && a[2] == f.key {
			reply(f.uid, nil)
		} else {
			reply(false, nil)
		}
	case "object.execute_kw":
		if len(a) != 7 {
			reply(nil, &fakeError{name: "TypeError", message: fmt.Sprintf("execute_kw takes 7 arguments, got %d", len(a))})
			return
		}
		if a[0] != f.db || asInt(a[1]) != f.uid || a[2] != f.key {
			reply(nil, &fakeError{name: "odoo.exceptions.AccessDenied", message: "Access Denied"})
			return
		}
		var ids []int64
		if args, _ := a[5].([]any); len(args) > 0 {
			ids = asIDs(args[0])
		}
		kw, _ := a[6].(map[string]any)
		res, fe := f.dispatch(a[3].(string), a[4].(string), ids, kw)
		reply(res, fe)
	default:
		reply(nil, &fakeError{name: "odoo.exceptions.UserError", message: "unknown service method"})
	}
}

func (f *fakeOdoo) serveJSON2(w http.ResponseWriter, r *http.Request, d *json.Decoder) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	fail := func(fe *fakeError) {
		reply(fe.status, map[string]any{"name": fe.name, "message": fe.message, "arguments": []any{fe.message, fe.status}, "context": map[string]any{}, "debug": "Traceback ..."})
	}
	auth := r.Header.Get("Authorization")
	if !strings.EqualFold(strings.SplitN(auth, " ", 2)[0], "bearer") || strings.TrimSpace(auth[min(len(auth), 7):]) != f.key {
		fail(&fakeError{status: 401, name: "werkzeug.exceptions.Unauthorized", message: "Invalid apikey"})
		return
	}
	if r.Header.Get("X-Odoo-Database") != f.db {
		fail(&fakeError{status: 404, name: "werkzeug.exceptions.NotFound", message: "database not found"})
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/json/2/"), "/")
	if len(parts) != 2 {
		fail(&fakeError{status: 404, name: "werkzeug.exceptions.NotFound", message: "not found"})
		return
	}
	var body map[string]any
	if err := d.Decode(&body); err != nil {
		fail(&fakeError{status: 400, name: "werkzeug.exceptions.BadRequest", message: err.Error()})
		return
	}
	var ids []int64
	if v, ok := body["ids"]; ok {
		ids = asIDs(v)
		delete(body, "ids")
	}
	res, fe := f.dispatch(parts[0], parts[1], ids, body)
	if fe != nil {
		if fe.status == 0 {
			fe.status = 422
		}
		fail(fe)
		return
	}
	reply(200, res)
}

// dispatch runs one ORM call.
func (f *fakeOdoo) dispatch(model, method string, ids []int64, kw map[string]any) (any, *fakeError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{Model: model, Method: method, IDs: ids, KW: kw})
	if fe := f.fail[model+"/"+method]; fe != nil {
		delete(f.fail, model+"/"+method)
		return nil, fe
	}
	domain, _ := kw["domain"].([]any)
	switch model + "/" + method {
	case "res.partner/search_read":
		return f.searchRead(f.partners, domain, kw), nil
	case "res.partner/search_count":
		return len(f.filter(f.partners, domain)), nil
	case "account.move/search_read":
		return f.searchRead(f.moves, domain, kw), nil
	case "account.payment/search_read":
		return f.searchRead(f.payments, domain, kw), nil
	case "account.payment/fields_get":
		memo := "ref"
		if f.version >= 18 {
			memo = "memo"
		}
		return map[string]any{"amount": map[string]any{"type": "monetary"}, memo: map[string]any{"type": "char"}}, nil
	case "account.payment.register/create":
		ctx, _ := kw["context"].(map[string]any)
		list, _ := kw["vals_list"].([]any)
		if ctx["active_model"] != "account.move" || len(asIDs(ctx["active_ids"])) != 1 || len(list) != 1 {
			return nil, &fakeError{status: 422, name: "odoo.exceptions.UserError", message: "The register payment wizard should only be called on account.move records."}
		}
		vals := list[0].(map[string]any)
		if asInt(vals["journal_id"]) != f.journal {
			return nil, &fakeError{status: 422, name: "odoo.exceptions.UserError", message: "The journal is not a bank or cash journal."}
		}
		f.nextID++
		f.wizards[f.nextID] = fakeWizard{vals: vals, ctx: ctx}
		return []int64{f.nextID}, nil
	case "account.payment.register/action_create_payments":
		if len(ids) != 1 {
			return nil, &fakeError{status: 422, name: "ValueError", message: "Expected singleton"}
		}
		wz, ok := f.wizards[ids[0]]
		if !ok {
			return nil, &fakeError{status: 404, name: "odoo.exceptions.MissingError", message: "Record does not exist or has been deleted."}
		}
		moveID := asIDs(wz.ctx["active_ids"])[0]
		mv := f.byID(f.moves, moveID)
		amount := asFloat(wz.vals["amount"])
		residual := asFloat(mv["amount_residual"]) - amount
		mv["amount_residual"] = json.Number(strconv.FormatFloat(residual, 'f', -1, 64))
		if residual <= 0 {
			mv["payment_state"] = "in_payment"
		} else {
			mv["payment_state"] = "partial"
		}
		memo := "ref"
		if f.version >= 18 {
			memo = "memo"
		}
		state := "posted"
		if f.version >= 18 {
			state = "in_process"
		}
		f.nextID++
		f.payments = append(f.payments, map[string]any{
			"id": f.nextID, memo: wz.vals["communication"], "amount": amount, "date": wz.vals["payment_date"],
			"journal_id": []any{f.journal, "Bancolombia"}, "reconciled_invoice_ids": []any{moveID}, "state": state,
		})
		return map[string]any{"name": "Payments", "type": "ir.actions.act_window", "res_model": "account.payment", "res_id": f.nextID}, nil
	case "account.payment/action_draft":
		// Reset to draft unreconciles the payment: its invoice owes the
		// amount again.
		for _, id := range ids {
			p := f.byID(f.payments, id)
			if p == nil {
				return nil, &fakeError{status: 404, name: "odoo.exceptions.MissingError", message: "Record does not exist or has been deleted."}
			}
			if p["state"] == "cancel" || p["state"] == "canceled" || p["state"] == "draft" {
				return nil, &fakeError{status: 422, name: "odoo.exceptions.UserError", message: "Only posted payments can be reset to draft."}
			}
			for _, mid := range asIDs(p["reconciled_invoice_ids"]) {
				mv := f.byID(f.moves, mid)
				residual := asFloat(mv["amount_residual"]) + asFloat(p["amount"])
				mv["amount_residual"] = json.Number(strconv.FormatFloat(residual, 'f', -1, 64))
				mv["payment_state"] = "not_paid"
			}
			p["reconciled_invoice_ids"] = []any{}
			p["state"] = "draft"
		}
		return true, nil
	case "account.payment/action_cancel":
		for _, id := range ids {
			p := f.byID(f.payments, id)
			if p == nil {
				return nil, &fakeError{status: 404, name: "odoo.exceptions.MissingError", message: "Record does not exist or has been deleted."}
			}
			if p["state"] != "draft" {
				return nil, &fakeError{status: 422, name: "odoo.exceptions.UserError", message: "Only draft payments can be cancelled."}
			}
			p["state"] = "cancel"
			if f.version >= 18 {
				p["state"] = "canceled"
			}
		}
		return true, nil
	}
	return nil, &fakeError{status: 404, name: "builtins.AttributeError", message: fmt.Sprintf("The method '%s' does not exist on the model '%s'", method, model)}
}

func (f *fakeOdoo) byID(recs []map[string]any, id int64) map[string]any {
	for _, r := range recs {
		if asInt(r["id"]) == id {
			return r
		}
	}
	f.t.Fatalf("fake odoo: no record %d", id)
	return nil
}

func (f *fakeOdoo) filter(recs []map[string]any, domain []any) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if f.match(r, domain) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeOdoo) searchRead(recs []map[string]any, domain []any, kw map[string]any) []map[string]any {
	found := f.filter(recs, domain)
	if order, _ := kw["order"].(string); strings.HasPrefix(order, "invoice_date_due") {
		sort.SliceStable(found, func(i, j int) bool {
			di, _ := found[i]["invoice_date_due"].(string)
			dj, _ := found[j]["invoice_date_due"].(string)
			if di == "" || dj == "" { // Postgres sorts NULL last in ascending order
				return di != "" && dj == ""
			}
			return di < dj
		})
	}
	if limit := asInt(kw["limit"]); limit > 0 && int64(len(found)) > limit {
		found = found[:limit]
	}
	var fields []string
	for _, v := range asList(kw["fields"]) {
		fields = append(fields, v.(string))
	}
	out := make([]map[string]any, 0, len(found))
	for _, r := range found {
		row := map[string]any{"id": r["id"]}
		for _, fl := range fields {
			v, ok := r[fl]
			if !ok {
				v = false
			}
			row[fl] = v
		}
		out = append(out, row)
	}
	return out
}

// match evaluates an Odoo domain: a list in Polish notation whose top-level
// expressions are ANDed.
func (f *fakeOdoo) match(rec map[string]any, domain []any) bool {
	pos := 0
	ok := true
	for pos < len(domain) {
		ok = f.eval(rec, domain, &pos) && ok
	}
	return ok
}

func (f *fakeOdoo) eval(rec map[string]any, d []any, pos *int) bool {
	item := d[*pos]
	*pos++
	switch x := item.(type) {
	case string:
		switch x {
		case "|":
			a, b := f.eval(rec, d, pos), f.eval(rec, d, pos)
			return a || b
		case "&":
			a, b := f.eval(rec, d, pos), f.eval(rec, d, pos)
			return a && b
		case "!":
			return !f.eval(rec, d, pos)
		}
	case []any:
		if len(x) == 3 {
			return f.leaf(rec, x[0].(string), x[1].(string), x[2])
		}
	}
	f.t.Errorf("fake odoo: bad domain item %#v in %v", item, d)
	return false
}

func (f *fakeOdoo) leaf(rec map[string]any, field, op string, want any) bool {
	got, ok := rec[field]
	if !ok {
		f.t.Errorf("fake odoo: domain names unknown field %q", field)
		return false
	}
	if m2o, isM2O := got.([]any); isM2O && len(m2o) == 2 {
		got = m2o[0]
	}
	switch op {
	case "=":
		return same(got, want)
	case "!=":
		return !same(got, want)
	case "in", "not in":
		in := false
		for _, w := range asList(want) {
			in = in || same(got, w)
		}
		return in == (op == "in")
	case ">":
		return asFloat(got) > asFloat(want)
	case "=ilike":
		s, isStr := got.(string)
		return isStr && ilike(s, want.(string))
	}
	f.t.Errorf("fake odoo: operator %q not supported", op)
	return false
}

func ilike(s, pattern string) bool {
	var re strings.Builder
	re.WriteString("(?is)^")
	for _, r := range pattern {
		switch r {
		case '%':
			re.WriteString(".*")
		case '_':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(s)
}

func same(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		if fb, ok := toFloat(b); ok {
			return fa == fb
		}
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func asFloat(v any) float64 { f, _ := toFloat(v); return f }
func asInt(v any) int64     { return int64(asFloat(v)) }
func asList(v any) []any    { l, _ := v.([]any); return l }

func asIDs(v any) []int64 {
	var ids []int64
	for _, x := range asList(v) {
		ids = append(ids, asInt(x))
	}
	return ids
}

// callsTo returns the recorded calls of model/method.
func (f *fakeOdoo) callsTo(model, method string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if c.Model == model && c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// canon re-encodes v as compact JSON, for comparing what was sent.
func canon(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}
