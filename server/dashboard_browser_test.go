package server_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/internal/browsertest"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
)

// artifactsDir is where browser tests leave screenshots: artifacts/ at the
// module's root (ignored by git; CI may keep it).
const artifactsDir = "../artifacts"

// TestDashboardInBrowser drives the real stack, on a real loopback
// listener with a real SQLite database, from a real Chromium: sign in,
// search by ID number, open a charge, deactivate it, see its new state,
// sign out. It saves screenshots in artifacts/.
func TestDashboardInBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	held := charge("FAC-3", "1032456789")
	held.Amount = decimal.RequireFromString("18333.333")
	s, _ := dashStack(t, map[string][]erp.Charge{
		"1032456789": {charge("FAC-1", "1032456789"), charge("FAC-2", "1032456789"), held},
		"79845123":   {charge("APTO-301", "79845123")},
	})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=1032456789"))
	decodePayments(t, s.get(t, "/get-recaudas?id_number=79845123"))
	s.pay(t, "9001", "APTO-301")
	drain(t, recauda.NewWorker(s.store, s.source, recauda.WorkerConfig{}, func() time.Time { return fixedNow }, slog.New(slog.DiscardHandler)))
	srv := httptest.NewServer(s.e)
	t.Cleanup(srv.Close)
	shots := map[string][]byte{}

	browsertest.Step(t, ctx, "open /admin", chromedp.Navigate(srv.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := browsertest.Value(t, ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, srv.URL+"/admin/login") {
		t.Errorf("/admin without a session shows %s, want the sign-in page", loc)
	}
	browsertest.Step(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("token"), adminToken),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.CSS(".cards")))
	shots["dashboard-overview.png"] = browsertest.Value(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	browsertest.Step(t, ctx, "phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	shots["dashboard-overview-phone.png"] = browsertest.Value(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	browsertest.Step(t, ctx, "desktop width", chromedp.EmulateViewport(1280, 900))

	browsertest.Step(t, ctx, "search by ID number",
		chromedp.Click(chromedp.CSS(`nav.tabs a[href="/admin/charges"]`)),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "1032456789"),
		chromedp.Click(chromedp.ID("search")),
		chromedp.WaitVisible(chromedp.ID("results")))
	browsertest.Step(t, ctx, "open the charge",
		chromedp.Click(chromedp.CSS(`#charges a[href="/admin/charges/FAC-1"]`)),
		chromedp.WaitVisible(chromedp.ID("action-deactivate")))
	before := browsertest.Value(t, ctx, "state", chromedp.Text(chromedp.ID("charge-status")))
	browsertest.Step(t, ctx, "deactivate",
		chromedp.Click(chromedp.ID("action-deactivate")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	after := browsertest.Value(t, ctx, "state", chromedp.Text(chromedp.ID("charge-status")))
	if before != "Enviado" || after != "Inactivo" {
		t.Errorf("state shown %q, then %q after deactivating; want Enviado, then Inactivo", before, after)
	}
	if status, _ := s.charge(t, "FAC-1"); status != models.StatusInactive {
		t.Errorf("FAC-1 is %s in the database, want inactive", status)
	}
	shots["dashboard.png"] = browsertest.Value(t, ctx, "screenshot", chromedp.FullScreenshot(100))

	// A new user's Spanish pages: the timeline and the held-back reasons in
	// Spanish, no English line of the store and no raw key.
	browsertest.Step(t, ctx, "open the paid charge",
		chromedp.Navigate(srv.URL+"/admin/charges/APTO-301"),
		chromedp.WaitVisible(chromedp.CSS("ol.timeline")))
	timeline := browsertest.Value(t, ctx, "timeline", chromedp.Text(chromedp.CSS("main")))
	wantSpanish(t, "the paid charge", timeline, []string{"Envío n.º 1", "Webhook Aplicado: transacción 9001", "Registro en el ERP n.º 1 en cola",
		"Registrado en el ERP", "registrado en el ERP en el intento 1"}, rawTimeline)
	shots["dashboard-timeline.png"] = browsertest.Value(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	browsertest.Step(t, ctx, "open the held-back records",
		chromedp.Click(chromedp.CSS(`nav.tabs a[href="/admin/held-back"]`)),
		chromedp.WaitVisible(chromedp.CSS("section.rule")))
	heldBack := browsertest.Value(t, ctx, "held back", chromedp.Text(chromedp.CSS("main")))
	wantSpanish(t, "the held-back records", heldBack, []string{"Registros retenidos",
		"recauda_information.amount debe tener como máximo 2 decimales; tiene 3"}, []string{"must have at most", "violation_"})

	// Reconciliation: the week of APTO-301's payment, its totals, the files;
	// then a range without payments.
	browsertest.Step(t, ctx, "open the reconciliation",
		chromedp.Click(chromedp.CSS(`nav.tabs a[href="/admin/reconciliation"]`)),
		chromedp.WaitVisible(chromedp.ID("recon-list")))
	browsertest.Step(t, ctx, "pick the week of the payment",
		chromedp.SetValue(chromedp.CSS(`input[name="from"]`), "2026-11-16"),
		chromedp.SetValue(chromedp.CSS(`input[name="to"]`), "2026-11-22"),
		chromedp.Submit(chromedp.CSS(`input[name="to"]`)),
		chromedp.WaitVisible(chromedp.ID("recon-totals-table")))
	totals := browsertest.Value(t, ctx, "totals", chromedp.Text(chromedp.ID("recon-totals-table")))
	payments := browsertest.Value(t, ctx, "payments", chromedp.Text(chromedp.ID("recon-payments")))
	if !strings.Contains(totals, "150.000,50") || !strings.Contains(totals, "COP") || !strings.Contains(payments, "APTO-301") {
		t.Errorf("reconciliation shows totals %q and payments %q, want APTO-301's 150.000,50 COP", totals, payments)
	}
	var links []string
	for _, a := range browsertest.Value(t, ctx, "download links", chromedp.AttributesAll(chromedp.CSSAll(".downloads a"))) {
		links = append(links, a["href"])
	}
	if len(links) != 3 || !strings.Contains(links[0], "/admin/reconciliation/export?") || !strings.Contains(links[0], "format=csv") {
		t.Errorf("download links = %v, want csv, csv-excel and xlsx (no Asobancaria without its settings)", links)
	}
	shots["dashboard-reconciliation.png"] = browsertest.Value(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	browsertest.Step(t, ctx, "a range without payments",
		chromedp.SetValue(chromedp.CSS(`input[name="from"]`), "2026-11-01"),
		chromedp.SetValue(chromedp.CSS(`input[name="to"]`), "2026-11-21"),
		chromedp.Submit(chromedp.CSS(`input[name="to"]`)),
		chromedp.WaitVisible(chromedp.ID("recon-empty")))
	if empty := browsertest.Value(t, ctx, "the list", chromedp.Text(chromedp.ID("recon-empty"))); !strings.Contains(empty, "No hubo pagos") {
		t.Errorf("1 to 21 November lists %q, want no payments", empty)
	}

	browsertest.Step(t, ctx, "sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("token")))
	browsertest.Step(t, ctx, "open /admin again", chromedp.Navigate(srv.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := browsertest.Value(t, ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, srv.URL+"/admin/login") {
		t.Errorf("/admin after signing out shows %s, want the sign-in page", loc)
	}

	browsertest.Save(t, artifactsDir, shots)
}

// wantSpanish checks the text of a page for the words it must show and
// those it must not.
func wantSpanish(t *testing.T, page, text string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", page, w, text)
		}
	}
	for _, n := range not {
		if strings.Contains(text, n) {
			t.Errorf("%s shows %q:\n%s", page, n, text)
		}
	}
}
