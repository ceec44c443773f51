//go:build unix

package execsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"recauda-bridge/erp"
)

// processGone reports whether pid no longer runs: it does not exist, or it
// is a zombie waiting for a parent that does not reap (as PID 1 in some
// containers does not).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	t.Setenv("CHILD_PID_FILE", pidFile)
	s, _ := newSource(t, Config{Command: []string{script(t, "sleepy.sh")}, Timeout: 500 * time.Millisecond})

	start := time.Now()
	_, err := s.PendingCharges(context.Background(), "123456")
	if !errors.Is(err, erp.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrUnavailable on the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s, want about 500ms", d)
	}

	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the script did not record its child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d of the timed-out command is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCallerDeadlineWins(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	t.Setenv("CHILD_PID_FILE", pidFile)
	s, _ := newSource(t, Config{Command: []string{script(t, "sleepy.sh")}, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.PendingCharges(ctx, "123456"); !errors.Is(err, erp.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s, want about 300ms", d)
	}
}
