package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// need returns the path of tool, or ends the test: a skip naming the Debian
// package outside CI, a failure in CI (.ci/run installs every one).
func need(t *testing.T, tool, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s is not installed (Debian: apt-get install %s); .ci/run installs it", tool, debianPackage)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// repoRoot is the module's root, where go build and the scripts run.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	staticOnce sync.Once
	staticDir  string
	staticBin  string
	staticErr  error
)

// staticBinary builds the release binary once per test run, the way the
// image gets it: container/static-build.sh.
func staticBinary(t *testing.T) string {
	t.Helper()
	need(t, "gcc", "build-essential")
	staticOnce.Do(func() {
		staticDir, staticErr = os.MkdirTemp("", "recauda-deploy-bin-")
		if staticErr != nil {
			return
		}
		staticBin = filepath.Join(staticDir, "recauda-bridge")
		cmd := exec.Command("bash", "deploy/container/static-build.sh", staticBin)
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			staticErr = fmt.Errorf("static-build.sh: %v\n%s", err, out)
		}
	})
	if staticErr != nil {
		t.Fatal(staticErr)
	}
	return staticBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if staticDir != "" {
		os.RemoveAll(staticDir)
	}
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// bridge is a recauda-bridge serve process on loopback.
type bridge struct {
	cmd  *exec.Cmd
	addr string
	log  *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startBridge runs bin serve with env (LISTEN_ADDR is added) and waits for
// /readyz.
func startBridge(t *testing.T, bin string, env ...string) *bridge {
	t.Helper()
	b := &bridge{addr: freeAddr(t), log: &syncBuffer{}, done: make(chan error, 1)}
	b.cmd = exec.Command(bin, "serve")
	b.cmd.Dir = t.TempDir() // no stray .env
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.Env = append(append(os.Environ(), env...), "LISTEN_ADDR="+b.addr)
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() { b.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + b.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
		}
		select {
		case err := <-b.done:
			t.Fatalf("the bridge exited (%v) before it was ready:\n%s", err, b.log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("the bridge was not ready within 20s:\n%s", b.log.String())
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (b *bridge) stop(t *testing.T) {
	t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.done:
		b.done <- err
		if err != nil {
			t.Fatalf("the bridge stopped with %v:\n%s", err, b.log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the bridge did not stop within 30s of SIGTERM:\n%s", b.log.String())
	}
}

func (b *bridge) kill() {
	_ = b.cmd.Process.Kill()
	select {
	case err := <-b.done:
		b.done <- err
	case <-time.After(10 * time.Second):
	}
}

// run runs a command with a deadline and returns its combined output.
func run(t *testing.T, timeout time.Duration, dir, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustRun is run that fails the test on a non-zero exit.
func mustRun(t *testing.T, timeout time.Duration, dir, name string, args ...string) string {
	t.Helper()
	out, err := run(t, timeout, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
