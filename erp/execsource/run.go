package execsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"time"

	"github.com/tidwall/gjson"

	"recauda-bridge/erp"
	"recauda-bridge/redact"
)

// Limits on what a command's stderr may put in the log.
const (
	maxStderrLines    = 20
	maxStderrLineSize = 512
	// waitDelay bounds how long Wait waits for the output pipes after the
	// command exits, when a background child it left behind still holds
	// them open.
	waitDelay = 500 * time.Millisecond
)

var errOutputTooLarge = errors.New("output too large")

// exitError is a command that ran and exited with a non-zero status.
type exitError struct {
	code int
}

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run starts argv with stdin, waits for it under timeout, and returns its
// stdout (at most maxOut bytes). On the deadline, or when stdout grows past
// maxOut, the command's whole process group is killed; so are any
// processes it left behind when it exits. Errors wrap erp.ErrUnavailable,
// except a non-zero exit, which is an *exitError also wrapping it.
func (s *Source) run(ctx context.Context, op string, argv []string, stdin []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = s.cfg.Dir
	cmd.Env = s.env
	cmd.Stdin = bytes.NewReader(stdin)
	stdout := &cappedBuffer{max: s.cfg.MaxOutputBytes, onOver: cancel}
	cmd.Stdout = stdout
	stderr := &lineLogger{ctx: ctx, log: s.log, op: op}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	setProcessGroup(cmd)

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("execsource: %s: starting %s: %w: %w", op, argv[0], err, erp.ErrUnavailable)
	}
	err := cmd.Wait()
	// Whatever happened, nothing the command started outlives it.
	killProcessGroup(cmd)
	stderr.flush(payerNames(stdout.buf.Bytes()))

	switch {
	case stdout.over:
		return nil, fmt.Errorf("execsource: %s: %s: %w (over %d bytes): %w", op, argv[0], errOutputTooLarge, s.cfg.MaxOutputBytes, erp.ErrUnavailable)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("execsource: %s: %s timed out after %s and was killed: %w: %w",
			op, argv[0], time.Since(start).Round(time.Millisecond), context.DeadlineExceeded, erp.ErrUnavailable)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("execsource: %s: %s: %w: %w", op, argv[0], ctx.Err(), erp.ErrUnavailable)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.Is(err, exec.ErrWaitDelay):
		// It exited successfully but left a child holding its output open;
		// the child is gone now, and whether the output is whole is for the
		// parser to tell.
		s.log.WarnContext(ctx, "command left a background process holding its output; killed it", "op", op, "command", argv[0])
	case errors.As(err, &ee):
		return nil, fmt.Errorf("execsource: %s: %s failed: %w: %w", op, argv[0], &exitError{code: ee.ExitCode()}, erp.ErrUnavailable)
	default:
		return nil, fmt.Errorf("execsource: %s: %s: %w: %w", op, argv[0], err, erp.ErrUnavailable)
	}
	return stdout.buf.Bytes(), nil
}

// cappedBuffer keeps at most max bytes; past that it refuses the write and
// calls onOver once (which kills the command).
type cappedBuffer struct {
	buf    bytes.Buffer
	max    int64
	over   bool
	onOver func()
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.over {
		return 0, errOutputTooLarge
	}
	if int64(c.buf.Len())+int64(len(p)) > c.max {
		c.over = true
		c.onOver()
		return 0, errOutputTooLarge
	}
	return c.buf.Write(p)
}

// lineLogger keeps a command's stderr line by line, and flush logs it at
// warning level once the command is done: at most maxStderrLines lines of at
// most maxStderrLineSize bytes each, then one line saying how many more were
// left out. Every line is masked first (redact.Text): a script may print
// whatever it reads, ID numbers and names included. exec.Cmd writes to it
// from a single goroutine.
type lineLogger struct {
	ctx     context.Context
	log     *slog.Logger
	op      string
	partial []byte
	kept    []string
	lines   int
}

func (l *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := max(maxStderrLineSize-len(l.partial), 0)
			l.partial = append(l.partial, p[:min(room, len(p))]...)
			break
		}
		room := max(maxStderrLineSize-len(l.partial), 0)
		l.partial = append(l.partial, p[:min(room, i)]...)
		l.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineLogger) emit() {
	line := string(bytes.TrimRight(l.partial, "\r"))
	l.partial = l.partial[:0]
	l.lines++
	if l.lines <= maxStderrLines {
		l.kept = append(l.kept, line)
	}
}

// flush logs the lines kept and a last one without newline, each with its
// ID numbers and the given names masked, then the count of lines left out.
func (l *lineLogger) flush(names []string) {
	if len(l.partial) > 0 {
		l.emit()
	}
	for _, line := range l.kept {
		l.log.WarnContext(l.ctx, "command stderr", "op", l.op, "line", redact.Text(line, names...))
	}
	if l.lines > maxStderrLines {
		l.log.WarnContext(l.ctx, "command stderr: more lines not logged", "op", l.op, "omitted", l.lines-maxStderrLines)
	}
}

// payerNames are the payer_name values anywhere in a command's JSON output:
// the names its stderr may quote.
func payerNames(out []byte) []string {
	if len(out) == 0 || !gjson.ValidBytes(out) {
		return nil
	}
	var names []string
	var walk func(r gjson.Result)
	walk = func(r gjson.Result) {
		r.ForEach(func(k, v gjson.Result) bool {
			switch {
			case k.String() == "payer_name" && v.Type == gjson.String:
				names = append(names, v.String())
			case v.IsObject() || v.IsArray():
				walk(v)
			}
			return true
		})
	}
	walk(gjson.ParseBytes(out))
	return names
}
