package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/report"
)

// reportUsage is the report command's own help, shown with a usage error.
const reportUsage = `recauda-bridge report --from YYYY-MM-DD [--to YYYY-MM-DD] [--format FORMAT] [-o FILE]

Writes the payments received (and reversals, as negative rows) whose day in
Colombia is from..to, both inclusive (--to defaults to --from), to FILE or
standard output. FORMAT is csv (default), csv-excel (semicolons, decimal
comma, for Excel in Spanish), xlsx, or asobancaria2001 (needs the
ASOBANCARIA_* settings).
`

// reportOptions is the report command's input.
type reportOptions struct {
	query  report.Query
	format string
	out    string
}

func parseReportArgs(args []string) (reportOptions, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	from := fs.String("from", "", "first day")
	to := fs.String("to", "", "last day")
	o := reportOptions{}
	fs.StringVar(&o.format, "format", report.FormatCSV, "format")
	fs.StringVar(&o.out, "o", "", "output file")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("report: %w", err)
	}
	if !slices.Contains(report.Formats, o.format) {
		return o, fmt.Errorf("report: --format must be one of %s, got %q", strings.Join(report.Formats, ", "), o.format)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("report takes no arguments besides its flags, got %q", fs.Arg(0))
	}
	if *from == "" {
		return o, errors.New("report needs --from YYYY-MM-DD")
	}
	if *to == "" {
		*to = *from
	}
	var err error
	if o.query.From, err = time.Parse(time.DateOnly, *from); err != nil {
		return o, fmt.Errorf("report: --from must be YYYY-MM-DD, got %q", *from)
	}
	if o.query.To, err = time.Parse(time.DateOnly, *to); err != nil {
		return o, fmt.Errorf("report: --to must be YYYY-MM-DD, got %q", *to)
	}
	if o.query.To.Before(o.query.From) {
		return o, fmt.Errorf("report: --to %s is before --from %s", *to, *from)
	}
	return o, nil
}

// reportSettings are the Asobancaria 2001 settings as the report takes them.
func reportSettings(c config.Config) report.Asobancaria {
	a := c.Asobancaria
	return report.Asobancaria{NIT: a.NIT, BankCode: a.BankCode, Account: a.Account, AccountType: a.AccountType,
		ServiceCode: a.ServiceCode, PaymentOrigin: a.PaymentOrigin, PaymentMeans: a.PaymentMeans}
}

func runReport(ctx context.Context, env config.Lookup, o reportOptions, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	svc := report.New(nil, time.Now, reportSettings(cfg))
	if err := svc.CheckFormat(o.format); err != nil {
		return &exitError{code: 1, err: err}
	}
	st, err := openStore(ctx, cfg, nil, readOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	svc = report.New(st, time.Now, reportSettings(cfg))
	w := stdout
	var f *os.File
	if o.out != "" {
		if f, err = os.Create(o.out); err != nil {
			return err
		}
		w = f
	}
	err = svc.Export(ctx, w, o.format, o.query)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(o.out) // half a file would pass for a complete one
			return err
		}
		fmt.Fprintf(stderr, "report: wrote %s (%s, %s to %s)\n", o.out, o.format,
			o.query.From.Format(time.DateOnly), o.query.To.Format(time.DateOnly))
	}
	return err
}
