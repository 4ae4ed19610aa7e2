package main

import (
	"os"
	"runtime"
)

// The master gives half of the CPUs to Go and leaves the rest to the
// Python workers. With GOMAXPROCS at the CPU count, the Go scheduler keeps
// extra threads spinning and waking for work (the master mostly waits on
// sockets), and on a small machine that steals the CPU the workers need:
// on two cores, hello-world went from 16,600 to 19,700 requests per second
// and the master's CPU per request from 52 to 44 us with one P instead of
// two (BENCHMARKS.md). An explicit GOMAXPROCS in the environment wins.
func setMasterProcs() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(masterProcs(runtime.GOMAXPROCS(0)))
}

// masterProcs is half of n CPUs, rounded up.
func masterProcs(n int) int {
	return max(1, (n+1)/2)
}
