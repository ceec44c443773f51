package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"recauda-bridge/conformance"
)

// startBridge runs serve with env (plus a fresh database, and a free
// loopback address unless LISTEN_ADDR is set) until the test ends, and
// returns its base URL.
func startBridge(t *testing.T, env map[string]string) string {
	t.Helper()
	addr := env["LISTEN_ADDR"]
	if addr == "" {
		addr = freeAddr(t)
		env["LISTEN_ADDR"] = addr
	}
	if env["DATABASE_URL"] == "" {
		env["DATABASE_URL"] = filepath.Join(t.TempDir(), "bridge.db")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), &bytes.Buffer{}, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after shutdown, want nil", err)
		}
	})
	for i := 0; i < 400; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve stopped at start: %v\n%s", err, stderr.String())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return "http://" + addr
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("serve never answered /healthz")
	return ""
}

const testLookupToken = "lookup-token-0123456789"

// TestConformanceOfTheDemoBridge: the bridge itself, on its demo source,
// passes every check for every demo customer.
func TestConformanceOfTheDemoBridge(t *testing.T) {
	base := startBridge(t, map[string]string{"PUBLIC_URL": "https://bridge.example.com", "LOOKUP_TOKEN": testLookupToken})
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"conformance", "--json", base + "/get-recaudas", "--token", testLookupToken,
		"1032456789", "79845123", "52789456", "1017234567"}, nil, &stdout, &stderr)
	if code := exitCode(err); code != 0 {
		t.Fatalf("exit code = %d (%v), want 0\n%s%s", code, err, stdout.String(), stderr.String())
	}
	var rep conformance.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout.String())
	}
	if len(rep.Results) != 5+4*10 {
		t.Errorf("got %d results, want 45 (5 probes, 10 checks for each of 4 customers)", len(rep.Results))
	}
	for _, r := range rep.Results {
		// The answer time depends on the machine's load: it may warn on a
		// busy one, never fail.
		if r.Status != conformance.Pass && !(r.Check == conformance.CheckTiming && r.Status == conformance.Warn) {
			t.Errorf("%s %s: got %s (%s), want PASS", r.IDNumber, r.Check, r.Status, r.Reason)
		}
	}
	if strings.Contains(stdout.String(), testLookupToken) {
		t.Error("the report shows the lookup token")
	}
}

func TestConformanceCommand(t *testing.T) {
	base := startBridge(t, map[string]string{"LOOKUP_TOKEN": testLookupToken})
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"no URL", []string{"conformance"}, 2, nil, []string{"conformance takes a URL", "--allow-remote"}},
		{"unknown flag", []string{"conformance", "--fast", base}, 2, nil, []string{"flag provided but not defined: -fast"}},
		{"bad header", []string{"conformance", "--header", "nocolon", base}, 2, nil, []string{"want 'Name: value'"}},
		{"one call", []string{"conformance", "--calls", "1", base}, 2, nil, []string{"--calls must be at least 2"}},
		{"not http", []string{"conformance", "ftp://127.0.0.1/get-recaudas"}, 2, nil, []string{"absolute http(s) URL"}},
		{"remote", []string{"conformance", "https://erp.example.com/get-recaudas"}, 2, nil, []string{"pass --allow-remote"}},
		// Without the token every call gets 401: the status check fails.
		{"no token", []string{"conformance", base + "/get-recaudas", "1032456789"}, 1,
			[]string{"FAIL  1032456789   status", "got 401, want 200", "verdict: FAIL"}, nil},
		{"token as a header", []string{"conformance", base + "/get-recaudas", "--header", "X-Lookup-Token: " + testLookupToken, "0000012345"}, 0,
			[]string{"PASS  0000012345   status", "WARN  0000012345   item_rules", "verdict: WARN"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, nil, &stdout, &stderr)
			if got := exitCode(err); got != tc.wantCode {
				t.Fatalf("exit code = %d (err %v), want %d\nstdout: %s\nstderr: %s", got, err, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}
