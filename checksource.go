package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/erp/sources"
	"recauda-bridge/logging"
	"recauda-bridge/recauda"
	"recauda-bridge/validation"
)

// checkSource tests the configured ERP source, step by step, without the
// HTTP server or the tracking store: the configuration, building the source
// (erp/sources: for sql it connects and checks the query's columns, for exec
// it checks the command, ...), then recauda.SourceCheck's steps: its health
// check, its write-back, and, when idNumber is not empty, a sample lookup
// whose charges are assessed as a real lookup would. Each step prints OK, FAIL or SKIP; the last line
// is the verdict. Exit 0 when the source answers, 1 otherwise; charges that
// would be held back are reported but do not fail the check.
func checkSource(ctx context.Context, env config.Lookup, idNumber string, stdout, stderr io.Writer) error {
	if idNumber != "" {
		if err := recauda.ValidateIDNumber(idNumber); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("%q: ID_NUMBER must be 5 to 20 digits", idNumber)}
		}
	}
	step := func(status, format string, args ...any) {
		fmt.Fprintf(stdout, "%-5s %s\n", status, fmt.Sprintf(format, args...))
	}
	fail := func(what string, err error) error {
		step("FAIL", "%s: %s", what, indent(err.Error()))
		fmt.Fprintf(stdout, "verdict: FAIL: %s\n", what)
		return &exitError{code: 1}
	}

	cfg, err := config.Load(env, sources.Config())
	if err != nil {
		return fail("configuration", err)
	}
	step("OK", "configuration (ERP_SOURCE=%s, ERP_TIMEOUT=%s, cache %s, breaker after %d failures, OVERDUE_POLICY=%s)",
		cfg.ERPSource, cfg.ERPTimeout, cacheText(cfg.ERPCacheTTL), cfg.ERPBreakerFailures, cfg.OverduePolicy)

	log := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	src, closeSource, err := sources.Open(ctx, cfg, sources.Deps{Log: log}, prometheus.NewRegistry())
	if err != nil {
		return fail("source "+cfg.ERPSource+" cannot be built", err)
	}
	if closeSource != nil {
		defer func() {
			if err := closeSource(); err != nil {
				log.Warn("closing the source", "error", err)
			}
		}()
	}
	built, _ := sources.Find(cfg.ERPSource)
	step("OK", "source %s built: %s", cfg.ERPSource, built.Proves)

	check := recauda.SourceCheck{Source: src, Timeout: cfg.ERPTimeout,
		Rules: recauda.Rules{Validator: validation.New(time.Now), WebhookURL: cfg.WebhookURL(), Overdue: cfg.OverduePolicy}}
	took, err := check.Health(ctx)
	switch {
	case errors.Is(err, erp.ErrUnsupported):
		step("SKIP", "health check: source %s has none", cfg.ERPSource)
	case err != nil:
		return fail("health check", err)
	default:
		step("OK", "health check (%s)", roundMillis(took))
	}
	switch payments, reversals := check.Writeback(); {
	case !payments:
		step("SKIP", "write-back: not configured (payments are not recorded in the ERP)")
	case reversals:
		step("OK", "write-back: configured (payments are recorded in the ERP)")
		step("OK", "reversals: configured (a payment Efipay reverses is undone in the ERP)")
	default:
		step("OK", "write-back: configured (payments are recorded in the ERP)")
		step("SKIP", "reversals: not configured (each reversal waits for the operator in the write-back queue, needs_operator)")
	}

	if idNumber == "" {
		step("SKIP", "sample lookup: no ID_NUMBER given (recauda-bridge check-source ID_NUMBER tries one)")
		fmt.Fprintf(stdout, "verdict: OK: source %s answers\n", cfg.ERPSource)
		return nil
	}
	sample, err := check.Sample(ctx, idNumber)
	if err != nil {
		return fail("sample lookup for "+idNumber, err)
	}
	n, held := len(sample.Charges), sample.HeldBack
	step("OK", "sample lookup for %s: %d charges (%s)", idNumber, n, roundMillis(sample.Took))
	printSample(stdout, sample)
	switch {
	case n == 0:
		fmt.Fprintf(stdout, "verdict: OK: source %s answers; no pending charges for %s\n", cfg.ERPSource, idNumber)
	case held == 0:
		fmt.Fprintf(stdout, "verdict: OK: source %s answers; %d charges for %s, all valid\n", cfg.ERPSource, n, idNumber)
	default:
		fmt.Fprintf(stdout, "verdict: OK: source %s answers; %d charges for %s, %d valid, %d would be held back (see above)\n",
			cfg.ERPSource, n, idNumber, n-held, held)
	}
	return nil
}

// printSample prints one line per charge of the sample, one more per
// violation and per change to its dates.
func printSample(w io.Writer, s recauda.Sample) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, v := range s.Verdicts {
		c := s.Charges[i]
		decision := recauda.DecisionSend
		if v.HeldBack() {
			decision = recauda.DecisionHeldBack
			for _, viol := range v.Violations {
				fmt.Fprintf(tw, "      HELD BACK\t%s\t%s\t%s: %s\n", c.RefPayment, viol.Field, viol.Rule, viol.Message)
			}
		} else {
			fmt.Fprintf(tw, "      valid\t%s\t%s %s\t%s\n", c.RefPayment, c.Currency, c.Amount.String(), c.Description)
		}
		for _, n := range v.Due.NotesFor(decision) {
			fmt.Fprintf(tw, "      note\t%s\t\t%s\n", c.RefPayment, n)
		}
	}
	tw.Flush()
}

func cacheText(ttl time.Duration) string {
	if ttl == 0 {
		return "off"
	}
	return ttl.String()
}

func roundMillis(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// indent puts each line after the first of a multi-line error under the
// step it belongs to.
func indent(s string) string {
	return strings.ReplaceAll(s, "\n", "\n      ")
}
