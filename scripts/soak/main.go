// Command soak SIGKILLs a real recauda-bridge server again and again under
// mixed load and checks, after every restart, that nothing it acknowledged
// was lost or done twice. scripts/sigkill-soak.sh builds the server and runs
// it; the invariants are listed on faulttest.Soak.
//
//	go run ./scripts/soak -bin ./recauda-bridge -dir /tmp/soak -rounds 20
//
// It exits 1 when any invariant is broken, 2 on bad usage or when the run
// could not be carried out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"recauda-bridge/internal/faulttest"
)

func main() {
	var cfg faulttest.SoakConfig
	flag.StringVar(&cfg.Binary, "bin", "", "the recauda-bridge binary (required)")
	flag.StringVar(&cfg.Dir, "dir", "", "an empty work directory: database, charges file, journal, server.log (required)")
	flag.IntVar(&cfg.Rounds, "rounds", 20, "how many times the server is SIGKILLed")
	flag.DurationVar(&cfg.MinRun, "min-run", 500*time.Millisecond, "shortest load before a kill")
	flag.DurationVar(&cfg.MaxRun, "max-run", 3*time.Second, "longest load before a kill")
	flag.IntVar(&cfg.CustomersPerRound, "customers", 300, "new customers added to the ERP file each round")
	flag.IntVar(&cfg.ChargesPerCustomer, "charges", 3, "charges per customer")
	flag.Uint64Var(&cfg.Seed, "seed", 0, "random seed (0: from the clock)")
	flag.DurationVar(&cfg.DrainTimeout, "drain-timeout", 2*time.Minute, "longest wait for the last write-backs")
	flag.Parse()
	if cfg.Binary == "" || cfg.Dir == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	cfg.Out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := faulttest.Soak(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if len(report.Violations) > 0 {
		os.Exit(1)
	}
}
