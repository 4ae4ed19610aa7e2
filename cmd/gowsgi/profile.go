package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

var stopProfile = func() {}

// startCPUProfile writes a CPU profile of the master to path until the
// returned function runs (GOWSGI_CPUPROFILE=path, for benchmarks).
func startCPUProfile(path string) func() {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gowsgi: GOWSGI_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "gowsgi: GOWSGI_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	stopProfile = func() {
		pprof.StopCPUProfile()
		f.Close()
		stopProfile = func() {}
	}
	return func() { stopProfile() }
}
