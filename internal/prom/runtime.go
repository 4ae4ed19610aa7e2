package prom

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// WriteRuntime writes the usual go_* and process_* metrics of this
// process (the subset dashboards use: goroutines, threads, heap, GC, CPU,
// memory, file descriptors, start time). start is when the process
// started.
func WriteRuntime(w *Writer, start time.Time) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Family("go_info", "Information about the Go environment.", "gauge")
	w.Sample("go_info", 1, "version", runtime.Version())
	w.Family("go_goroutines", "Number of goroutines that currently exist.", "gauge")
	w.Sample("go_goroutines", float64(runtime.NumGoroutine()))
	w.Family("go_gomaxprocs", "Number of OS threads that can run Go code at once (GOMAXPROCS).", "gauge")
	w.Sample("go_gomaxprocs", float64(runtime.GOMAXPROCS(0)))
	if n, err := countThreads(); err == nil {
		w.Family("go_threads", "Number of OS threads of the process.", "gauge")
		w.Sample("go_threads", float64(n))
	}
	w.Family("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", "gauge")
	w.Sample("go_memstats_heap_alloc_bytes", float64(ms.HeapAlloc))
	w.Family("go_memstats_heap_inuse_bytes", "Bytes in in-use heap spans.", "gauge")
	w.Sample("go_memstats_heap_inuse_bytes", float64(ms.HeapInuse))
	w.Family("go_memstats_sys_bytes", "Bytes of memory obtained from the OS by the Go runtime.", "gauge")
	w.Sample("go_memstats_sys_bytes", float64(ms.Sys))
	w.Family("go_gc_cycles_total", "Completed GC cycles.", "counter")
	w.Sample("go_gc_cycles_total", float64(ms.NumGC))
	w.Family("go_gc_pause_seconds_total", "Total time the world was stopped for GC.", "counter")
	w.Sample("go_gc_pause_seconds_total", float64(ms.PauseTotalNs)/1e9)

	if cpu, rss, vsz, err := readStat(); err == nil {
		w.Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter")
		w.Sample("process_cpu_seconds_total", cpu)
		w.Family("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge")
		w.Sample("process_resident_memory_bytes", float64(rss))
		w.Family("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge")
		w.Sample("process_virtual_memory_bytes", float64(vsz))
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		w.Family("process_open_fds", "Number of open file descriptors.", "gauge")
		w.Sample("process_open_fds", float64(len(fds)))
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		w.Family("process_max_fds", "Maximum number of open file descriptors.", "gauge")
		w.Sample("process_max_fds", float64(lim.Cur))
	}
	w.Family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge")
	w.Sample("process_start_time_seconds", float64(start.UnixNano())/1e9)
}

// clockTicks is USER_HZ, the unit of /proc/self/stat's CPU times; it is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// readStat reads CPU seconds, resident and virtual bytes from
// /proc/self/stat.
func readStat() (cpu float64, rss, vsz int64, err error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15, vsize 23, rss 24.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 22 {
		return 0, 0, 0, os.ErrInvalid
	}
	num := func(i int) int64 { n, _ := strconv.ParseInt(f[i-3], 10, 64); return n }
	return float64(num(14)+num(15)) / clockTicks, num(24) * int64(os.Getpagesize()), num(23), nil
}

func countThreads() (int, error) {
	ts, err := os.ReadDir("/proc/self/task")
	return len(ts), err
}
