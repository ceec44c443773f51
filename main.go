// Command recauda-bridge connects a merchant's ERP to Efipay's Recauda ERP:
// it answers Efipay's lookup with each customer's pending charges, offered
// once, and takes Efipay's payment webhooks. Run `recauda-bridge help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"recauda-bridge/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env, err := config.Environment(".env")
	if err == nil {
		err = run(ctx, os.Args[1:], env, os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintln(os.Stderr, "recauda-bridge:", ee.err)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "recauda-bridge:", err)
		os.Exit(1)
	}
}

const usage = `recauda-bridge connects a merchant's ERP to Efipay's Recauda ERP.

Usage:
  recauda-bridge serve              run the server (migrates the database first)
  recauda-bridge migrate [--dry-run]
                                    list the pending database migrations, apply them (unless
                                    --dry-run) and exit
  recauda-bridge validate FILE      check a {"payments":[...]} JSON file against every Efipay rule
  recauda-bridge preview ID_NUMBER  show what a lookup would send and hold back, claiming nothing
  recauda-bridge check-source [ID_NUMBER]
                                    test the configured ERP source: connection, query or mapping,
                                    and a sample lookup; exit 0 when it answers
  recauda-bridge import [--skip-invalid] FILE
                                    import a .csv or .json file of charges into the bridge's own
                                    ledger (ERP_SOURCE=local); all or nothing unless --skip-invalid
  recauda-bridge sandbox [--lookup URL] [--webhook URL] [--allow-remote]
                                    a local stand-in for Efipay's collection portal on SANDBOX_ADDR:
                                    look customers up and pay them with signed webhooks
  recauda-bridge conformance [flags] URL [ID_NUMBER...]
                                    check a Recauda ERP lookup endpoint against Efipay's contract:
                                    PASS/WARN/FAIL per check; exit 0 when nothing failed
  recauda-bridge report --from DAY [--to DAY] [--format F] [-o FILE]
                                    the payments received on those days in Colombia (csv, csv-excel,
                                    xlsx, asobancaria2001)
  recauda-bridge rotate-session-secret
                                    replace the secret the dashboard's sessions are signed with:
                                    everyone is signed out, on every replica, within 10 s
  recauda-bridge backup DEST        write a checked copy of the SQLite database to DEST, also
                                    while serve runs; exit 1 on any failure
  recauda-bridge healthcheck        exit 0 when the server on this machine answers /readyz
  recauda-bridge version            print the version
  recauda-bridge help               print this help

Configuration comes from the environment (a .env file fills gaps); see .env.example.
`

// exitError carries a process exit code; err may be nil when the command
// already said everything it had to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageError(stderr io.Writer, format string, args ...any) error {
	fmt.Fprintf(stderr, format+"\n\n", args...)
	fmt.Fprint(stderr, usage)
	return &exitError{code: 2}
}

// run is the composition root: it dispatches the subcommand and builds what
// that subcommand needs, nothing more.
func run(ctx context.Context, args []string, env config.Lookup, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(stderr, "missing command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		if len(rest) != 0 {
			return usageError(stderr, "serve takes no arguments")
		}
		return serve(ctx, env, stdout, stderr)
	case "migrate":
		if len(rest) > 1 || (len(rest) == 1 && rest[0] != "--dry-run") {
			return usageError(stderr, "migrate takes only --dry-run")
		}
		return migrate(ctx, env, len(rest) == 1, stdout, stderr)
	case "validate":
		if len(rest) != 1 {
			return usageError(stderr, "validate takes exactly one FILE")
		}
		return validateFile(rest[0], stdout)
	case "preview":
		if len(rest) != 1 {
			return usageError(stderr, "preview takes exactly one ID_NUMBER")
		}
		return preview(ctx, env, rest[0], stdout, stderr)
	case "check-source":
		if len(rest) > 1 {
			return usageError(stderr, "check-source takes at most one ID_NUMBER")
		}
		id := ""
		if len(rest) == 1 {
			id = rest[0]
		}
		return checkSource(ctx, env, id, stdout, stderr)
	case "import":
		o, err := parseImportArgs(rest)
		if err != nil {
			return usageError(stderr, "%v\n\n%s", err, importUsage)
		}
		o.progress = terminal(stderr)
		return importLedger(ctx, env, o, stdout, stderr)
	case "sandbox":
		return runSandbox(ctx, rest, env, stdout, stderr)
	case "conformance":
		return runConformance(ctx, rest, stdout, stderr)
	case "report":
		o, err := parseReportArgs(rest)
		if err != nil {
			return usageError(stderr, "%v\n\n%s", err, reportUsage)
		}
		return runReport(ctx, env, o, stdout, stderr)
	case "rotate-session-secret":
		if len(rest) != 0 {
			return usageError(stderr, "rotate-session-secret takes no arguments")
		}
		return rotateSessionSecret(ctx, env, stdout)
	case "backup":
		if len(rest) != 1 {
			return usageError(stderr, "backup takes exactly one DEST")
		}
		return backup(ctx, env, rest[0], stdout)
	case "healthcheck":
		if len(rest) != 0 {
			return usageError(stderr, "healthcheck takes no arguments")
		}
		return healthcheck(ctx, env, stdout)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "recauda-bridge", version())
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError(stderr, "unknown command %q", cmd)
	}
}
