//go:build !unix

package store

import "time"

// processCPU is unknown here: the benchmarks then report no CPU per op.
func processCPU() time.Duration { return 0 }
