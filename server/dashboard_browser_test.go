package server_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// artifactsDir is where browser tests leave screenshots: artifacts/ at the
// module's root (ignored by git; CI may keep it).
const artifactsDir = "../artifacts"

// chromium finds the browser: $CHROMIUM, else chromium on PATH (Debian's
// package, which .ci/run installs). Outside CI a machine without it skips
// the test, saying so; in CI it fails.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("chromium is not installed: this test drives a real headless Chromium; install it with `apt-get install -y chromium` or set CHROMIUM (in CI it is required)")
	}
	t.Fatal("chromium is not installed but CI is set: .ci/run must install it (apt-get install -y chromium)")
	return ""
}

// newBrowser starts a headless Chromium of the test's own (fresh profile),
// closed when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first call starts the browser, which lives as long as its
	// context: no timeout on it; each step below has its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// browserStep runs steps with a deadline, failing the test with what.
func browserStep(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// browserValue runs one action that returns a value, with a deadline.
func browserValue[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestDashboardInBrowser drives the real stack, on a real loopback
// listener with a real SQLite database, from a real Chromium: sign in,
// search by ID number, open a charge, deactivate it, see its new state,
// sign out. It saves screenshots in artifacts/.
func TestDashboardInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	held := charge("FAC-3", "1032456789")
	held.Amount = decimal.RequireFromString("18333.333")
	s, _ := dashStack(t, map[string][]erp.Charge{
		"1032456789": {charge("FAC-1", "1032456789"), charge("FAC-2", "1032456789"), held},
		"79845123":   {charge("APTO-301", "79845123")},
	})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=1032456789"))
	decodePayments(t, s.get(t, "/get-recaudas?id_number=79845123"))
	s.pay(t, "9001", "APTO-301")
	srv := httptest.NewServer(s.e)
	t.Cleanup(srv.Close)
	shots := map[string][]byte{}

	browserStep(t, ctx, "open /admin", chromedp.Navigate(srv.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := browserValue(t, ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, srv.URL+"/admin/login") {
		t.Errorf("/admin without a session shows %s, want the sign-in page", loc)
	}
	browserStep(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("token"), adminToken),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.CSS(".cards")))
	shots["dashboard-overview.png"] = browserValue(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	browserStep(t, ctx, "phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	shots["dashboard-overview-phone.png"] = browserValue(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	browserStep(t, ctx, "desktop width", chromedp.EmulateViewport(1280, 900))

	browserStep(t, ctx, "search by ID number",
		chromedp.Click(chromedp.CSS(`nav.tabs a[href="/admin/charges"]`)),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "1032456789"),
		chromedp.Click(chromedp.ID("search")),
		chromedp.WaitVisible(chromedp.ID("results")))
	browserStep(t, ctx, "open the charge",
		chromedp.Click(chromedp.CSS(`#charges a[href="/admin/charges/FAC-1"]`)),
		chromedp.WaitVisible(chromedp.ID("action-deactivate")))
	before := browserValue(t, ctx, "state", chromedp.Text(chromedp.ID("charge-status")))
	browserStep(t, ctx, "deactivate",
		chromedp.Click(chromedp.ID("action-deactivate")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	after := browserValue(t, ctx, "state", chromedp.Text(chromedp.ID("charge-status")))
	if before != "Enviado" || after != "Inactivo" {
		t.Errorf("state shown %q, then %q after deactivating; want Enviado, then Inactivo", before, after)
	}
	if status, _ := s.charge(t, "FAC-1"); status != models.StatusInactive {
		t.Errorf("FAC-1 is %s in the database, want inactive", status)
	}
	shots["dashboard.png"] = browserValue(t, ctx, "screenshot", chromedp.FullScreenshot(100))

	browserStep(t, ctx, "sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("token")))
	browserStep(t, ctx, "open /admin again", chromedp.Navigate(srv.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := browserValue(t, ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, srv.URL+"/admin/login") {
		t.Errorf("/admin after signing out shows %s, want the sign-in page", loc)
	}

	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, png := range shots {
		if !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("%s: no PNG captured", name)
			continue
		}
		path, err := filepath.Abs(filepath.Join(artifactsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}
