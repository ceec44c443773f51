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

// compare measures two builds of the bridge: the one at git revision rev
// (A) and bin, the working tree's (B), in turn, the order alternating, for
// rounds rounds: on this machine one run differs from the next by several
// per cent, more than a small change does, so only the median of paired
// rounds says anything. what is "steady" (both servers run throughout) or
// "writes" (rounds of first offers, then rounds of webhooks for the charges
// offered).
func compare(bin, dir, csv, rev, what string, d time.Duration, conc, rounds, customers int) {
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
	var t comparison
	switch what {
	case "steady":
		const warm = 1000
		a := startBridge(base, dir, "a", filepath.Join(dir, "a.db"), csv, conc, warm)
		defer a.stop()
		b := startBridge(bin, dir, "b", filepath.Join(dir, "b.db"), csv, conc, warm)
		defer b.stop()
		measure := func(s *server) result {
			return s.measured(func() result { return closedLoop("steady state", s.addr, conc, d, steadyLookups(s, warm)) })
		}
		for r := range rounds {
			var ra, rb result
			if r%2 == 0 {
				ra, rb = measure(a), measure(b)
			} else {
				rb, ra = measure(b), measure(a)
			}
			t.add("steady state", r, ra, rb)
		}
	case "writes":
		// Both servers start empty and look up the same customers, each
		// with its own database; then each takes webhooks for what it
		// offered. Short turns, many of them, so that the machine's drift
		// falls on both alike.
		a := startBridge(base, dir, "a", filepath.Join(dir, "a.db"), csv, conc, 0, writesEnv...)
		defer a.stop()
		b := startBridge(bin, dir, "b", filepath.Join(dir, "b.db"), csv, conc, 0, writesEnv...)
		defer b.stop()
		looked := map[*server]int{}
		lookups := func(s *server) result {
			return s.measured(func() result {
				r, n := firstOffers("", s, looked[s], customers, conc, d)
				looked[s] += n
				return r
			})
		}
		posted := map[*server]int{}
		hooks := func(s *server) result {
			return s.measured(func() result {
				r, n := webhookIntake("", s, 0, looked[s], posted[s], conc, d)
				posted[s] += n
				return r
			})
		}
		for _, run := range []struct {
			name    string
			measure func(*server) result
		}{{"first offers", lookups}, {"webhook intake", hooks}} {
			for r := range rounds {
				var ra, rb result
				if r%2 == 0 {
					ra, rb = run.measure(a), run.measure(b)
				} else {
					rb, ra = run.measure(b), run.measure(a)
				}
				t.add(run.name, r, ra, rb)
			}
		}
	default:
		log.Fatalf("-compare-what %q: want steady or writes", what)
	}
	fmt.Printf("\n%s (A) against the working tree (B), %d interleaved rounds of %s, %d connections:\n\n", rev, rounds, d, conc)
	fmt.Println("| run | round | A requests/s | B requests/s | B/A | A server CPU per request | B server CPU per request | B/A |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	fmt.Println(strings.Join(t.lines, "\n"))
	fmt.Println()
	for _, name := range t.names {
		fmt.Printf("%s, medians of the rounds' ratios: requests/s B/A %.3f, server CPU per request B/A %.3f.\n",
			name, medianRatio(t.rates[name]), medianRatio(t.cpus[name]))
	}
}

// comparison collects paired rounds of A and B by run.
type comparison struct {
	names       []string
	rates, cpus map[string][]float64
	lines       []string
}

func (t *comparison) add(name string, round int, a, b result) {
	if t.rates == nil {
		t.rates, t.cpus = map[string][]float64{}, map[string][]float64{}
	}
	if _, ok := t.rates[name]; !ok {
		t.names = append(t.names, name)
	}
	rate, cpu := b.rps()/a.rps(), float64(b.cpuPerRequest())/float64(a.cpuPerRequest())
	t.rates[name] = append(t.rates[name], rate)
	t.cpus[name] = append(t.cpus[name], cpu)
	t.lines = append(t.lines, fmt.Sprintf("| %s | %d | %.0f | %.0f | %.3f | %v | %v | %.3f |", name, round+1, a.rps(), b.rps(), rate,
		a.cpuPerRequest(), b.cpuPerRequest(), cpu))
}
