package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// compareSteady measures steady state of two builds of the bridge: the one
// at git revision rev (A) and bin, the working tree's (B). Both servers run
// at once and are measured in turn, the order alternating, for rounds
// rounds: on this machine one run differs from the next by several per
// cent, more than a small change does, so only the median of paired rounds
// says anything.
func compareSteady(bin, dir, csv, rev string, d time.Duration, conc, rounds int) {
	src := filepath.Join(dir, "base")
	if err := os.MkdirAll(src, 0o755); err != nil {
		log.Fatal(err)
	}
	archive := exec.Command("sh", "-c", `git archive "$1" | tar -x -C "$2"`, "sh", rev, src)
	if out, err := archive.CombinedOutput(); err != nil {
		log.Fatalf("git archive %s: %v\n%s", rev, err, out)
	}
	base := filepath.Join(dir, "recauda-bridge-base")
	build := exec.Command("go", "build", "-o", base, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		log.Fatalf("build %s: %v\n%s", rev, err, out)
	}
	const warm = 1000
	a := startBridge(base, dir, "a", filepath.Join(dir, "a.db"), csv, conc, warm)
	defer a.stop()
	b := startBridge(bin, dir, "b", filepath.Join(dir, "b.db"), csv, conc, warm)
	defer b.stop()
	measure := func(s *server) result {
		return s.measured(func() result { return closedLoop("steady state", s.addr, conc, d, steadyLookups(s, warm)) })
	}
	var rates, cpus []float64
	var lines []string
	for r := range rounds {
		var ra, rb result
		if r%2 == 0 {
			ra, rb = measure(a), measure(b)
		} else {
			rb, ra = measure(b), measure(a)
		}
		rates = append(rates, rb.rps()/ra.rps())
		cpus = append(cpus, float64(rb.cpuPerRequest())/float64(ra.cpuPerRequest()))
		lines = append(lines, fmt.Sprintf("| %d | %.0f | %.0f | %.3f | %v | %v | %.3f |", r+1, ra.rps(), rb.rps(), rates[r],
			ra.cpuPerRequest(), rb.cpuPerRequest(), cpus[r]))
	}
	fmt.Printf("\nSteady state, %s (A) against the working tree (B), %d interleaved rounds of %s, %d connections:\n\n", rev, rounds, d, conc)
	fmt.Println("| round | A requests/s | B requests/s | B/A | A server CPU per request | B server CPU per request | B/A |")
	fmt.Println("|---|---|---|---|---|---|---|")
	fmt.Println(strings.Join(lines, "\n"))
	fmt.Printf("\nMedians of the rounds' ratios: requests/s B/A %.3f, server CPU per request B/A %.3f.\n", medianRatio(rates), medianRatio(cpus))
}
