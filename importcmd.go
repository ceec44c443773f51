package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"recauda-bridge/config"
	"recauda-bridge/recauda/ledgerimport"
)

// importUsage is the import's own help, shown with a usage error.
const importUsage = `recauda-bridge import [--skip-invalid] FILE.csv|FILE.json

Imports charges into the bridge's own ledger (ERP_SOURCE=local), in the
formats of the file source (erp/file/FORMAT.md). Every row is checked with
the lookup's rules; by default one broken row imports nothing (exit 1);
--skip-invalid imports the valid rows. Re-importing a file changes nothing.

A recurring row (columns recurrence=monthly, periods=N, first_due=YYYY-MM-DD)
becomes N charges <ref_payment>-YYYY-MM, due first_due and then the same day
of each following month.
`

// importOptions is the import command's input.
type importOptions struct {
	path        string
	skipInvalid bool
	// progress, when set, receives a progress bar (stderr on a terminal).
	progress io.Writer
}

// parseImportArgs reads [--skip-invalid] FILE, flags before or after FILE.
func parseImportArgs(args []string) (importOptions, error) {
	var o importOptions
	for _, a := range args {
		switch {
		case a == "--skip-invalid" || a == "-skip-invalid":
			o.skipInvalid = true
		case strings.HasPrefix(a, "-") && a != "-":
			return o, fmt.Errorf("import: unknown flag %s", a)
		case o.path != "":
			return o, fmt.Errorf("import takes exactly one FILE")
		default:
			o.path = a
		}
	}
	if o.path == "" {
		return o, fmt.Errorf("import takes exactly one FILE")
	}
	return o, nil
}

// importLedger runs `recauda-bridge import` (recauda/ledgerimport): read,
// expand recurring rows, check every charge, then write the valid ones. It
// prints the charges held back, one line per reason, and a summary; exit 1
// when nothing could be imported because of a broken row (without
// --skip-invalid).
func importLedger(ctx context.Context, env config.Lookup, o importOptions, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	start := time.Now()
	var bar *progressBar
	opts := ledgerimport.Options{SkipInvalid: o.skipInvalid, WebhookURL: cfg.WebhookURL(), Workers: runtime.GOMAXPROCS(0),
		Progress: func(phase string, done, total int) {
			if done == 0 {
				bar.finish()
				bar = newProgressBar(o.progress, phase, total)
			}
			bar.set(done)
		}}
	plan, err := ledgerimport.Check(o.path, opts)
	bar.finish()
	bar = nil
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("import %s: %w", o.path, err)}
	}

	st, err := openStore(ctx, cfg, nil, readWriteMigrate)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := plan.Apply(ctx, st)
	bar.finish()
	if err != nil {
		return fmt.Errorf("import %s: %w", o.path, err)
	}
	for _, h := range res.HeldBack {
		fmt.Fprintf(stdout, "%s\tref_payment=%s\t%s\t%s\t%s\n", h.Where, h.RefPayment, h.Field, h.Rule, h.Message)
	}
	fmt.Fprintf(stdout, "import %s: %d rows, %d charges, in %s\n", filepath.Base(o.path), plan.Rows, plan.Charges,
		time.Since(start).Round(time.Millisecond))
	if !res.Written {
		fmt.Fprintf(stdout, "nothing imported: %d charge(s) rejected; fix them, or rerun with --skip-invalid to import the %d valid one(s)\n",
			res.HeldBackCharges(), res.Valid)
		return &exitError{code: 1}
	}
	fmt.Fprintf(stdout, "created %d, updated %d, unchanged %d, rejected %d\n", res.Created, res.Updated, res.Unchanged, res.HeldBackCharges())
	if cfg.ERPSource != "local" {
		fmt.Fprintf(stdout, "note: ERP_SOURCE is %s; the ledger is served only when ERP_SOURCE=local\n", cfg.ERPSource)
	}
	return nil
}

// progressBar draws "label  42% [=========>          ] 42000/100000" on one
// terminal line, at most ten times a second. A nil *progressBar draws
// nothing.
type progressBar struct {
	w     io.Writer
	label string
	total int
	done  int
	shown int // done when last drawn
	drawn time.Time
}

// newProgressBar returns a bar on w, or nil when w is nil.
func newProgressBar(w io.Writer, label string, total int) *progressBar {
	if w == nil || total == 0 {
		return nil
	}
	return &progressBar{w: w, label: label, total: total}
}

func (p *progressBar) set(done int) {
	if p == nil {
		return
	}
	p.done = done
	if now := time.Now(); now.Sub(p.drawn) >= 100*time.Millisecond || done == p.total {
		p.drawn, p.shown = now, done
		const width = 30
		filled := width * done / p.total
		bar := strings.Repeat("=", filled)
		if filled < width {
			bar += ">" + strings.Repeat(" ", width-filled-1)
		}
		fmt.Fprintf(p.w, "\r%-9s %3d%% [%s] %d/%d", p.label, 100*done/p.total, bar, done, p.total)
	}
}

func (p *progressBar) finish() {
	if p == nil {
		return
	}
	if p.shown != p.done {
		p.drawn = time.Time{}
		p.set(p.done)
	}
	fmt.Fprintln(p.w)
}

// terminal returns w when it is a terminal (a progress bar is wanted
// there), nil otherwise: a redirected stderr gets no bar.
func terminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return w
	}
	return nil
}
