package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"recauda-bridge/conformance"
	"recauda-bridge/internal/loopback"
	"recauda-bridge/validation"
)

// conformanceUsage is the command's own help, shown with a usage error.
const conformanceUsage = `recauda-bridge conformance [flags] URL [ID_NUMBER...]

Checks a Recauda ERP lookup endpoint against Efipay's contract and prints one
line per check (PASS, WARN or FAIL, with the reason), then a verdict. Give the
ID number of a customer with pending charges to check the items: the first
lookup of each is offered to the check, as it would be to Efipay.
Exit 0 when nothing failed, 1 otherwise, 2 for bad usage.

Flags (before or after URL):
  --token SECRET        append SECRET to URL's path, as the bridge's LOOKUP_TOKEN
  --header 'Name: v'    send this header with every call (repeatable)
  --calls N             lookups per ID number the answer time is measured over (default 10)
  --json                print the report as JSON
  --allow-remote        allow a URL that is not this machine (loopback only by default)
`

// headerFlags collects repeated --header values.
type headerFlags http.Header

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("want 'Name: value', got %q", v)
	}
	http.Header(h).Add(name, strings.TrimSpace(value))
	return nil
}

// conformanceArgs are the parsed command line.
type conformanceArgs struct {
	opts     conformance.Options
	jsonOut  bool
	warnings []string
}

// parseConformanceArgs reads flags anywhere among URL and the ID numbers.
func parseConformanceArgs(args []string) (conformanceArgs, error) {
	var a conformanceArgs
	header := headerFlags{}
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.opts.Token, "token", "", "")
	fs.Var(header, "header", "")
	fs.IntVar(&a.opts.Calls, "calls", 10, "")
	fs.BoolVar(&a.jsonOut, "json", false, "")
	fs.BoolVar(&a.opts.AllowRemote, "allow-remote", false, "")
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return a, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) == 0 {
		return a, errors.New("conformance takes a URL")
	}
	if a.opts.Calls < 2 {
		return a, fmt.Errorf("--calls must be at least 2, got %d", a.opts.Calls)
	}
	a.opts.URL, a.opts.IDNumbers, a.opts.Header = positional[0], positional[1:], http.Header(header)
	// conformance.Run refuses a remote URL without --allow-remote; with it,
	// say loudly what is called.
	if u, err := url.Parse(a.opts.URL); err == nil && u.Host != "" && !loopback.IsLocal(u) && a.opts.AllowRemote {
		a.warnings = append(a.warnings, fmt.Sprintf("WARNING: --allow-remote: calling %s, a remote host, %d times", u.Host, len(a.opts.IDNumbers)*a.opts.Calls+5))
	}
	return a, nil
}

// runConformance checks an endpoint and prints the report.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, err := parseConformanceArgs(args)
	if err != nil {
		return usageError(stderr, "%v\n\n%s", err, conformanceUsage)
	}
	for _, w := range a.warnings {
		fmt.Fprintln(stderr, w)
	}
	a.opts.Validator = validation.New(nil)
	rep, err := conformance.Run(ctx, a.opts)
	if errors.Is(err, conformance.ErrUsage) {
		return usageError(stderr, "%v\n\n%s", err, conformanceUsage)
	}
	if err != nil {
		return err
	}
	if a.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printConformance(stdout, rep)
	}
	if rep.Failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

func printConformance(w io.Writer, rep *conformance.Report) {
	fmt.Fprintf(w, "conformance of %s\n", rep.Target)
	for _, r := range rep.Results {
		id := r.IDNumber
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(w, "%s  %-12s %-18s %s\n", r.Status, id, r.Check, r.Reason)
	}
	fmt.Fprintf(w, "verdict: %s (%d passed, %d warnings, %d failed)\n", rep.Verdict, rep.Passed, rep.Warnings, rep.Failed)
}
