package dashboard

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"recauda-bridge/locale"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/validation"
)

// TestDashboardWordsExist checks that every key the templates and the code
// name, and every code the dashboard words, has a text in every language:
// no page shows a raw key.
func TestDashboardWordsExist(t *testing.T) {
	used := map[string]bool{}
	scan := func(pattern string, re *regexp.Regexp) {
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			t.Fatalf("no files match %s: %v", pattern, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = true
			}
		}
	}
	scan("../../web/templates/dashboard_*.html", regexp.MustCompile(`\.T "([a-z_]+)"`))
	scan("*.go", regexp.MustCompile(`\.T\("([a-z_]*[a-z])"[,)]`))
	for _, f := range flashes {
		used["done_"+f], used["failed_"+f] = true, true
	}
	for _, a := range []string{"release", "deactivate", "activate"} {
		used[a], used[a+"_help"] = true, true
	}
	for _, s := range models.Statuses {
		used["status_"+s] = true
	}
	for _, o := range models.WebhookOutcomes {
		used["outcome_"+o] = true
	}
	for _, s := range models.WritebackStates {
		used["wb_"+s] = true
	}
	for _, k := range []string{"records", "records_one", "error_conflict", "error_not_found", "error_forbidden",
		"error_unavailable", "error_internal", "error_bad_request", "login_expired", "login_signed_out"} {
		used[k] = true
	}
	for _, k := range []string{"sent", "resent", "released", "deactivated", "activated", "changed", "webhook", "writeback_enqueued",
		"writeback_done", "writeback_failed", "writeback_needs_operator", "writeback_retry", "writeback_cancelled"} {
		used["event_"+k] = true
	}
	for _, c := range recauda.EntryCodes() {
		used["entry_"+c] = true
	}
	for _, c := range recauda.DecisionCodes() {
		used["decision_"+c] = true
	}
	for _, c := range recauda.NoteCodes() {
		used["note_"+c] = true
	}
	for _, k := range slices.Sorted(maps.Keys(used)) {
		for _, lang := range locale.Langs() {
			if !locale.For(lang).Has(k) {
				t.Errorf("key %q is used but has no text in %s", k, lang)
			}
		}
	}
	if len(used) < 150 {
		t.Fatalf("found only %d keys in use; the scan is broken", len(used))
	}
}

// TestCodesInTheReadersLanguage words timeline lines, webhook details and
// violations in each language.
func TestCodesInTheReadersLanguage(t *testing.T) {
	es, en := locale.For("es"), locale.For("en")
	decimals := validation.Violation{Field: "recauda_information.amount", Rule: "decimal_places",
		Message: "recauda_information.amount must have at most 2 decimal places; it has 3",
		Params:  map[string]string{"field": "recauda_information.amount", "max": "2", "got": "3"}}
	oneOf := validation.Violation{Field: "recauda_information.currency_type", Rule: "one_of",
		Message: `recauda_information.currency_type must be one of "COP", "USD", "EUR" (exact case); it is "cop"`,
		Params:  map[string]string{"field": "recauda_information.currency_type", "allowed": `"COP", "USD", "EUR"`, "value": `"cop"`}}
	old := decimals
	old.Params = nil
	tests := []struct {
		name, got, want string
	}{
		{"send", entryText(es, "send #1"), "Envío n.º 1"},
		{"send in English", entryText(en, "send #1"), "Send #1"},
		{"send with notes", entryText(es, "send #1: overdue since 2026-12-04, sent without a limit date (OVERDUE_POLICY=offer); the offer of FAC-1 ended on 2026-12-04 unpaid; re-issued as FAC-1-V1"),
			"Envío n.º 1: vencido desde el 2026-12-04, enviado sin fecha límite (OVERDUE_POLICY=offer); la oferta de FAC-1 terminó el 2026-12-04 sin pagar; se emitió de nuevo como FAC-1-V1"},
		{"webhook", entryText(es, "webhook applied: transaction 5001 Aprobada COP 85000"),
			"Webhook Aplicado: transacción 5001, Aprobada, $ 85.000,00 COP"},
		{"webhook with a detail", entryText(es, "webhook flagged: transaction 5002 Aprobada COP 85000: currency USD differs from the charge's COP"),
			"Webhook Marcado: transacción 5002, Aprobada, $ 85.000,00 COP: la moneda USD difiere de la del cobro, COP"},
		{"write-back queued", entryText(es, "write-back #1 queued for transaction 5001"),
			"Registro en el ERP n.º 1 en cola para la transacción 5001"},
		{"write-back done", entryText(es, "write-back #1: payment 5001 recorded in the ERP on attempt 1"),
			"Registro n.º 1: pago 5001 registrado en el ERP en el intento 1"},
		{"write-back failed", entryText(es, "write-back #1: attempt 1 failed: erp down; next attempt at 2026-11-23T03:30:00Z"),
			"Registro n.º 1: falló el intento 1: erp down; próximo intento el 22/11/2026 22:30"},
		{"a line in no known form", entryText(es, "written by hand"), "written by hand"},
		{"webhook detail", decisionText(es, "transaction already applied"), "la transacción ya estaba aplicada"},
		{"violation", violationText(es, decimals), "recauda_information.amount debe tener como máximo 2 decimales; tiene 3"},
		{"violation in English", violationText(en, decimals), decimals.Message},
		{"violation quoting the value", violationText(es, oneOf),
			`recauda_information.currency_type debe ser uno de "COP", "USD", "EUR" (mayúsculas y minúsculas exactas); es "cop"`},
		{"violation stored without values", violationText(es, old), old.Message},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/admin"},
		{"/admin", "/admin"},
		{"/admin/charges?q=1&status=paid", "/admin/charges?q=1&status=paid"},
		{"/admin/charges/A%2FB", "/admin/charges/A%2FB"},
		{"/administrator", "/admin"},
		{"/admin/api/charges", "/admin"},
		{"/admin/login?next=/admin", "/admin"},
		{"//evil.example/admin", "/admin"},
		{"https://evil.example/admin", "/admin"},
		{"/\\evil.example", "/admin"},
		{"/admin\\..\\x", "/admin"},
		{"/admin/\r\nSet-Cookie: x", "/admin"},
		{"javascript:alert(1)", "/admin"},
		{"/get-recaudas?id_number=1", "/admin"},
	}
	for _, tc := range tests {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAxisSteps(t *testing.T) {
	tests := []struct{ most, step, top int64 }{
		{0, 1, 1}, {1, 1, 1}, {3, 1, 3}, {5, 1, 5}, {6, 2, 6}, {7, 2, 8}, {11, 5, 15}, {24, 5, 25},
		{26, 10, 30}, {99, 20, 100}, {101, 50, 150}, {1000, 200, 1000}, {1234, 500, 1500},
	}
	for _, tc := range tests {
		step, top := axisSteps(tc.most)
		if step != tc.step || top != tc.top {
			t.Errorf("axisSteps(%d) = %d, %d; want %d, %d", tc.most, step, top, tc.step, tc.top)
		}
		if top/step > 5 || top < tc.most {
			t.Errorf("axisSteps(%d) = %d, %d: more than 5 steps or below the data", tc.most, step, top)
		}
	}
}

// fixedSecret is a session secret that never changes.
func fixedSecret(b byte) func(context.Context) ([]byte, error) {
	secret := bytes.Repeat([]byte{b}, 32)
	return func(context.Context) ([]byte, error) { return secret, nil }
}

func TestSessionsRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ctx := context.Background()
	sessionsOf := func(secret byte, token string) *sessions {
		t.Helper()
		s := newSessions(fixedSecret(secret), token, time.Hour, clock)
		if err := s.refresh(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := sessionsOf(1, "token-a")
	sess, value := s.issue()
	if got, ok := s.check(value); !ok || got.id != sess.id {
		t.Fatal("a fresh session is refused")
	}
	if _, ok := sessionsOf(1, "token-a").check(value); !ok {
		t.Fatal("another replica (same secret, same token) refuses the session")
	}
	if _, ok := sessionsOf(1, "token-b").check(value); ok {
		t.Fatal("a session survives a new ADMIN_TOKEN")
	}
	if _, ok := sessionsOf(2, "token-a").check(value); ok {
		t.Fatal("a session survives a new secret")
	}
	if s.csrf(sess) == sessionsOf(2, "token-a").csrf(sess) {
		t.Fatal("the CSRF token does not depend on the secret")
	}
	if s.loginCSRF("nonce") == sessionsOf(2, "token-a").loginCSRF("nonce") {
		t.Fatal("the sign-in form's CSRF token is a function of ADMIN_TOKEN alone: guesses of the token can be tested against it")
	}
	other, _ := s.issue()
	if s.csrf(sess) == s.csrf(other) {
		t.Fatal("two sessions share a CSRF token")
	}
	s.revoke(sess)
	if _, ok := s.check(value); ok {
		t.Fatal("a revoked session is accepted")
	}
	now = now.Add(time.Hour)
	s.revoke(other) // prunes sess, expired by now
	if len(s.revoked) != 1 {
		t.Fatalf("%d revoked sessions kept, want 1: expired ones are forgotten", len(s.revoked))
	}
}

// The receipt's CSP allows exactly one inline handler, by its hash: the
// print button's. Changing the handler must change the hash too.
func TestReceiptPrintHandlerMatchesCSP(t *testing.T) {
	b, err := os.ReadFile("../../web/templates/receipt.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `onclick="window.print()"`) {
		t.Fatal(`receipt.html no longer has onclick="window.print()"; update the hash in Register`)
	}
}
