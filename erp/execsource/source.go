// Package execsource is an erp.Source that runs a command the merchant
// already has (a script that queries their ERP, a CLI of their accounting
// software) and reads the pending charges from its output. It can record
// payments by running a second command.
//
// The lookup command gets the customer's ID number twice, as its last
// argument and as {"id_number":"..."} on stdin, and prints to stdout either
// Efipay's own shape, {"payments":[...]}, or flat records,
// {"charges":[{"ref_payment":..., "amount":..., ...}]} with the field names
// of the CSV source. See README.md.
package execsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"recauda-bridge/erp"
	"recauda-bridge/erp/httpsource"
	"recauda-bridge/models"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMaxOutputBytes = 5 << 20
)

// Exit codes of the write-back command other than 0 (recorded) that mean
// something particular; any other non-zero code means "try again later".
const (
	// ExitRefused (65, EX_DATAERR) means the ERP refused the payment for
	// good: retrying would not help, an operator must look.
	ExitRefused = 65
	// ExitUnknownCharge (67, EX_NOUSER) means the ERP does not know the
	// charge.
	ExitUnknownCharge = 67
)

// Config is the "exec" section of the ERP configuration file.
type Config struct {
	// Command is the lookup command as an argument list (no shell parsing):
	// ["/opt/erp/pending.sh", "--format", "json"]. The ID number is appended
	// as the last argument. A relative path with a slash is relative to Dir.
	Command []string `yaml:"command"`
	// Dir is the working directory of both commands; default the bridge's.
	Dir string `yaml:"dir"`
	// Env adds variables to the commands' environment; values may use
	// ${VAR} from the bridge's environment (for secrets).
	Env map[string]string `yaml:"env"`
	// CleanEnv starts the commands with only PATH, HOME, LANG, TZ and Env
	// instead of the bridge's whole environment (which holds the bridge's
	// own secrets).
	CleanEnv bool `yaml:"clean_env"`
	// Timeout bounds one run of a command (default 10s); the caller's
	// deadline wins when it is shorter. On it, the command's whole process
	// group is killed.
	Timeout time.Duration `yaml:"timeout"`
	// MaxOutputBytes caps the lookup's stdout (default 5 MiB).
	MaxOutputBytes int64 `yaml:"max_output_bytes"`
	// WritebackCommand, when set, records a payment: it gets the payment as
	// JSON on stdin and must exit 0 once the payment is recorded, also when
	// it already was (idempotency on transaction_id is the command's job).
	WritebackCommand []string `yaml:"writeback_command"`
	// WritebackTimeout bounds one run of WritebackCommand (and of
	// ReversalCommand); default Timeout.
	WritebackTimeout time.Duration `yaml:"writeback_timeout"`
	// ReversalCommand, when set, undoes a payment the write-back command
	// recorded (Efipay's "Reversada"): it gets the reversal as JSON on stdin,
	// with "kind":"reversal", and must exit 0 once the payment is reversed,
	// also when it already was. It may be the write-back script with an
	// argument of its own. Without it, each reversal waits for the operator.
	ReversalCommand []string `yaml:"reversal_command"`
}

// Source runs the merchant's command. It is safe for concurrent use: every
// lookup is a process of its own.
type Source struct {
	cfg Config
	env []string
	log *slog.Logger
}

// New checks cfg and returns a Source. The commands must exist and be
// executable now; every problem is reported at once. A nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Source, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("execsource: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.WritebackTimeout == 0 {
		cfg.WritebackTimeout = cfg.Timeout
	}
	if cfg.MaxOutputBytes == 0 {
		cfg.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if cfg.Timeout < 0 {
		bad("timeout", "must not be negative")
	}
	if cfg.WritebackTimeout < 0 {
		bad("writeback_timeout", "must not be negative")
	}
	if cfg.MaxOutputBytes < 0 {
		bad("max_output_bytes", "must not be negative")
	}
	if cfg.Dir != "" {
		if fi, err := os.Stat(cfg.Dir); err != nil || !fi.IsDir() {
			bad("dir", "%q is not a directory", cfg.Dir)
		}
	}
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		bad("command", "is required, as a list: [\"/path/to/script\", \"arg\"]")
	} else if err := checkExecutable(cfg.Dir, cfg.Command[0]); err != nil {
		bad("command", "%v", err)
	}
	if len(cfg.WritebackCommand) > 0 {
		if cfg.WritebackCommand[0] == "" {
			bad("writeback_command", "first item must be the program")
		} else if err := checkExecutable(cfg.Dir, cfg.WritebackCommand[0]); err != nil {
			bad("writeback_command", "%v", err)
		}
	}
	if len(cfg.ReversalCommand) > 0 {
		switch {
		case len(cfg.WritebackCommand) == 0:
			bad("reversal_command", "needs writeback_command: only a payment the bridge recorded is reversed")
		case cfg.ReversalCommand[0] == "":
			bad("reversal_command", "first item must be the program")
		default:
			if err := checkExecutable(cfg.Dir, cfg.ReversalCommand[0]); err != nil {
				bad("reversal_command", "%v", err)
			}
		}
	}
	env, err := buildEnv(cfg.Env, cfg.CleanEnv)
	if err != nil {
		bad("env", "%v", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, env: env, log: logger.With("erp", "exec")}, nil
}

// checkExecutable finds prog the way exec.Cmd will: a name without a slash
// in PATH, a relative path relative to dir.
func checkExecutable(dir, prog string) error {
	path := prog
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return fmt.Errorf("%q not found in PATH", prog)
		}
		path = p
	} else if !filepath.IsAbs(prog) && dir != "" {
		path = filepath.Join(dir, prog)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%q: %v", prog, errors.Unwrap(err))
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%q is not an executable file", prog)
	}
	return nil
}

// buildEnv returns the commands' environment: the bridge's (or a minimal
// one) plus extra, whose ${VAR} references are expanded.
func buildEnv(extra map[string]string, clean bool) ([]string, error) {
	var env []string
	if clean {
		for _, k := range []string{"PATH", "HOME", "LANG", "TZ"} {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
	} else {
		env = os.Environ()
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("%q is not a variable name", k)
		}
		v, err := erp.ExpandEnv(extra[k], os.LookupEnv)
		if err != nil {
			errs = append(errs, err)
		}
		env = append(env, k+"="+v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return env, nil
}

// CanRecord reports whether a write-back command is configured.
func (s *Source) CanRecord() bool { return len(s.cfg.WritebackCommand) > 0 }

// CanReverse reports whether a reversal command is configured.
func (s *Source) CanReverse() bool { return len(s.cfg.ReversalCommand) > 0 }

// PendingCharges runs the lookup command for idNumber and reads its stdout.
// A non-zero exit, output that is not one of the two shapes, output over
// MaxOutputBytes, or the deadline give an error wrapping erp.ErrUnavailable.
// A record with a field that cannot be read comes back with Defects; records
// without ref_payment or of another customer are dropped with a warning.
func (s *Source) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	if idNumber == "" || strings.HasPrefix(idNumber, "-") || strings.ContainsRune(idNumber, 0) {
		// It becomes an argument: never let it pass for an option.
		return nil, fmt.Errorf("execsource: refusing ID number %q as a command argument", idNumber)
	}
	stdin, _ := json.Marshal(map[string]string{"id_number": idNumber})
	argv := append(append([]string(nil), s.cfg.Command...), idNumber)
	out, err := s.run(ctx, "lookup", argv, append(stdin, '\n'), s.cfg.Timeout)
	if err != nil {
		return nil, err
	}
	charges, err := parseOutput(out)
	if err != nil {
		return nil, fmt.Errorf("execsource: lookup: %s: %w: %w", s.cfg.Command[0], err, erp.ErrUnavailable)
	}
	charges, st := httpsource.Screen(idNumber, charges)
	if st.OtherCustomer > 0 {
		s.log.WarnContext(ctx, "command printed records of other customers; dropped them", "dropped", st.OtherCustomer, "kept", len(charges))
	}
	if st.NoRef > 0 {
		s.log.WarnContext(ctx, "command printed records without ref_payment; dropped them", "dropped", st.NoRef)
	}
	return charges, nil
}

// parseOutput reads {"payments":[...]} or {"charges":[...]}.
func parseOutput(out []byte) ([]erp.Charge, error) {
	if !gjson.ValidBytes(out) {
		return nil, errors.New("stdout is not valid JSON")
	}
	root := gjson.ParseBytes(out)
	if !root.IsObject() {
		return nil, errors.New(`stdout is not a JSON object with "payments" or "charges"`)
	}
	payments, charges := root.Get("payments"), root.Get("charges")
	listOrNull := func(r gjson.Result) bool { return r.IsArray() || r.Type == gjson.Null }
	switch {
	case payments.Exists() && charges.Exists():
		return nil, errors.New(`stdout has both "payments" and "charges"; give one`)
	case payments.Exists() && listOrNull(payments):
		out := []erp.Charge{}
		for _, item := range payments.Array() {
			out = append(out, chargeFromEfipayItem(item))
		}
		return out, nil
	case charges.Exists() && listOrNull(charges):
		out := []erp.Charge{}
		for _, item := range charges.Array() {
			out = append(out, httpsource.ChargeFromItem(item, httpsource.FlatMapping()))
		}
		return out, nil
	}
	return nil, errors.New(`stdout has no "payments" or "charges" list`)
}

// chargeFromEfipayItem decodes an item in Efipay's shape the way every
// source does (erp.ChargeFromPayment). An item that does not decode is read
// field by field instead, so that one bad field becomes a Defect and the
// others still say which charge it is.
func chargeFromEfipayItem(item gjson.Result) erp.Charge {
	var p models.Payment
	if err := json.Unmarshal([]byte(item.Raw), &p); err == nil {
		return erp.ChargeFromPayment(p)
	}
	return httpsource.ChargeFromItem(item, httpsource.EfipayMapping())
}

// writebackPayment is what the write-back command gets on stdin.
type writebackPayment struct {
	RefPayment    string       `json:"ref_payment"`
	IDNumber      string       `json:"id_number"`
	Amount        models.Money `json:"amount"`
	Currency      string       `json:"currency"`
	TransactionID string       `json:"transaction_id"`
	PaidAt        string       `json:"paid_at"`
	Status        string       `json:"status"`
	PaymentMethod string       `json:"payment_method"`
}

// RecordPayment runs the write-back command with p as JSON on stdin. Exit 0
// is success; ExitUnknownCharge wraps erp.ErrNotFound; ExitRefused is a
// permanent error; any other failure (another exit code, the deadline, a
// command that cannot start) wraps erp.ErrUnavailable, and the bridge runs
// the command again later with the same transaction_id.
func (s *Source) RecordPayment(ctx context.Context, p erp.Payment) error {
	if !s.CanRecord() {
		return fmt.Errorf("execsource: no writeback_command configured: %w", erp.ErrUnsupported)
	}
	stdin, err := json.Marshal(writebackPayment{
		RefPayment:    p.RefPayment,
		IDNumber:      p.IDNumber,
		Amount:        models.NewMoney(p.Amount),
		Currency:      p.Currency,
		TransactionID: p.TransactionID,
		PaidAt:        p.PaidAt.UTC().Format(time.RFC3339),
		Status:        p.Status,
		PaymentMethod: p.PaymentMethod,
	})
	if err != nil {
		return fmt.Errorf("execsource: write-back: %w", err)
	}
	return s.runWrite(ctx, "write-back", s.cfg.WritebackCommand, stdin, p.RefPayment)
}

// reversal is what the reversal command gets on stdin.
type reversal struct {
	Kind          string       `json:"kind"`
	RefPayment    string       `json:"ref_payment"`
	IDNumber      string       `json:"id_number"`
	Amount        models.Money `json:"amount"`
	Currency      string       `json:"currency"`
	TransactionID string       `json:"transaction_id"`
	ReversedAt    string       `json:"reversed_at"`
	Status        string       `json:"status"`
	PaymentMethod string       `json:"payment_method"`
}

// RecordReversal runs the reversal command with r as JSON on stdin
// ("kind":"reversal", "status":"reversed", amount the reversed payment's).
// Exit codes as RecordPayment's; without a reversal command it answers
// erp.ErrUnsupported.
func (s *Source) RecordReversal(ctx context.Context, r erp.Reversal) error {
	if !s.CanReverse() {
		return fmt.Errorf("execsource: no reversal_command configured: %w", erp.ErrUnsupported)
	}
	stdin, err := json.Marshal(reversal{
		Kind:          "reversal",
		RefPayment:    r.RefPayment,
		IDNumber:      r.IDNumber,
		Amount:        models.NewMoney(r.Amount),
		Currency:      r.Currency,
		TransactionID: r.TransactionID,
		ReversedAt:    r.ReversedAt.UTC().Format(time.RFC3339),
		Status:        models.StatusReversed,
		PaymentMethod: r.PaymentMethod,
	})
	if err != nil {
		return fmt.Errorf("execsource: reversal: %w", err)
	}
	return s.runWrite(ctx, "reversal", s.cfg.ReversalCommand, stdin, r.RefPayment)
}

// runWrite runs a write-back or reversal command with stdin and maps its
// exit code.
func (s *Source) runWrite(ctx context.Context, what string, argv []string, stdin []byte, ref string) error {
	_, err := s.run(ctx, what, argv, append(stdin, '\n'), s.cfg.WritebackTimeout)
	var ee *exitError
	if errors.As(err, &ee) {
		switch ee.code {
		case ExitUnknownCharge:
			return fmt.Errorf("execsource: %s: %s says the ERP does not know charge %q: %w", what, argv[0], ref, erp.ErrNotFound)
		case ExitRefused:
			return fmt.Errorf("execsource: %s: %s refused it for good (exit %d); see its stderr in the log", what, argv[0], ee.code)
		}
	}
	return err
}

// Check reports whether the lookup command is still there and executable.
func (s *Source) Check(context.Context) error {
	if err := checkExecutable(s.cfg.Dir, s.cfg.Command[0]); err != nil {
		return fmt.Errorf("execsource: %w: %w", err, erp.ErrUnavailable)
	}
	return nil
}

var (
	_ erp.PaymentRecorder  = (*Source)(nil)
	_ erp.ReversalRecorder = (*Source)(nil)
	_ erp.HealthChecker    = (*Source)(nil)
)

var _ erp.Source = (*Source)(nil)
