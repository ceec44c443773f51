package sqlsource

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
)

// testDSN returns the DSN held in the environment variable env. Outside CI
// a test without its database skips, saying why; in CI (CI is set) it fails,
// because a skipped database test there would hide a broken set-up.
func testDSN(t *testing.T, env, what string) string {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn != "" {
		return dsn
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s is not set: this test needs a real %s; run `eval \"$(bash scripts/test-services.sh)\"` to start one (in CI it is required)", env, what)
	}
	t.Fatalf("%s is not set but CI is: the database tests must run in CI (.ci/run should eval scripts/test-services.sh)", env)
	return ""
}

// uniqueName returns a fresh schema or database name, inside the
// recauda_% pattern the test user is granted.
func uniqueName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand: %v", err)
	}
	return "recauda_t" + hex.EncodeToString(b)
}

// testdata reads a file of testdata/sqlsource at the module's root.
func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sqlsource", name))
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	return string(b)
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newTestSource calls New and closes the source at the end of the test.
func newTestSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(testContext(t), cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// logBuffer is a slog handler target that tests can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func boolPtr(b bool) *bool { return &b }

// assertCharges compares the charges a lookup returned with the wanted ones.
func assertCharges(t *testing.T, got, want []erp.Charge) {
	t.Helper()
	if len(got) != len(want) {
		refs := make([]string, len(got))
		for i, c := range got {
			refs[i] = c.RefPayment
		}
		t.Fatalf("got %d charges %q, want %d", len(got), refs, len(want))
	}
	for i := range want {
		assertCharge(t, got[i], want[i])
	}
}

func assertUnavailable(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, erp.ErrUnavailable) {
		t.Fatalf("got error %v, want one wrapping erp.ErrUnavailable", err)
	}
}
