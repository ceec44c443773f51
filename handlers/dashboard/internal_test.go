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

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

func TestDashboardTextHasEveryKeyInBothLanguages(t *testing.T) {
	es, en := dashboardText[langES], dashboardText[langEN]
	for k := range es {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is in Spanish but not in English", k)
		}
	}
	for k := range en {
		if _, ok := es[k]; !ok {
			t.Errorf("key %q is in English but not in Spanish", k)
		}
	}

	// Every key the templates and the Go code name must exist.
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
	scan("*.go", regexp.MustCompile(`\.T\("([a-z_]+)"\)`))
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
	for _, k := range []string{"sent", "resent", "released", "deactivated", "activated", "webhook", "writeback_enqueued"} {
		used["event_"+k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(used)) {
		if _, ok := es[k]; !ok {
			t.Errorf("key %q is used but has no text", k)
		}
	}
	if len(used) < 100 {
		t.Fatalf("found only %d keys in use; the scan is broken", len(used))
	}
}

func TestDashboardMoneyAndTimes(t *testing.T) {
	d := decimal.RequireFromString("1234567.5")
	at := time.Date(2026, 11, 23, 3, 30, 0, 0, time.UTC)
	tests := []struct {
		lang, money, when, day string
	}{
		{langES, "$ 1.234.567,50 COP", "22/11/2026 22:30", "22/11"},
		{langEN, "$1,234,567.50 COP", "2026-11-22 22:30", "Nov 22"},
	}
	for _, tc := range tests {
		tr := newTranslator(tc.lang)
		if got := tr.money(d, "COP"); got != tc.money {
			t.Errorf("%s money = %q, want %q", tc.lang, got, tc.money)
		}
		if got := tr.when(&at); got != tc.when {
			t.Errorf("%s when = %q, want %q", tc.lang, got, tc.when)
		}
		if got := tr.day(at.In(models.Bogota)); got != tc.day {
			t.Errorf("%s day = %q, want %q", tc.lang, got, tc.day)
		}
	}
	if got := newTranslator(langES).when(nil); got != "—" {
		t.Errorf("when(nil) = %q, want —", got)
	}
	if got := newTranslator("fr").T("sign_out"); got != "Cerrar sesión" {
		t.Errorf("an unknown language gives %q, want Spanish", got)
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
