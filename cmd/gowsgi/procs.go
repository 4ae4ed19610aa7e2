package main

import (
	"os"
	"runtime"
)

// The master gives half of the CPUs to Go and leaves the rest to the
// Python workers. With GOMAXPROCS at the CPU count, the Go scheduler keeps
// extra threads spinning and waking for work (the master mostly waits on
// sockets), and on a small machine that steals the CPU the workers need:
// on two cores, with one P instead of two, hello-world went from 21,600 to
// 26,000 requests per second and Django's / from 6,360 to 6,900 (quick A/B
// runs, wrk -c32, 2 workers), and the master's CPU per hello request from
// 52 to 44 us. An explicit GOMAXPROCS in the environment wins.
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
