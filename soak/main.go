package main

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitPass        = 0
	exitFail        = 1   // a check failed
	exitCannotRun   = 2   // bad flags, no binary, gowsgi did not start
	exitInterrupted = 130 // ^C
)

// options are the command's flags.
type options struct {
	duration     time.Duration
	gowsgi       string
	python       string
	concurrency  int
	killEvery    time.Duration
	hupEvery     time.Duration
	hostileEvery time.Duration
	sampleEvery  time.Duration
	warmup       time.Duration
	out          string
	seed         uint64
}

func main() { os.Exit(run()) }

func run() int {
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "how long the traffic runs")
	flag.StringVar(&o.gowsgi, "gowsgi", "bin/gowsgi", "the gowsgi binary (built by `make soak`)")
	flag.StringVar(&o.python, "python", ".venv/bin/python", "the workers' interpreter")
	flag.IntVar(&o.concurrency, "concurrency", 16, "traffic clients; half keep-alive, half a new connection per request")
	flag.DurationVar(&o.killEvery, "kill-every", 20*time.Second, "SIGKILL one worker this often (0: never)")
	flag.DurationVar(&o.hupEvery, "hup-every", 45*time.Second, "SIGHUP the master this often (0: never)")
	flag.DurationVar(&o.hostileEvery, "hostile-every", 2*time.Second, "send one hostile request this often (0: never)")
	flag.DurationVar(&o.sampleEvery, "sample-every", 10*time.Second, "sample memory this often")
	flag.DurationVar(&o.warmup, "warmup", 30*time.Second, "memory growth is measured from the first sample after this")
	flag.StringVar(&o.out, "out", "soak/results/latest.json", "where the JSON results go")
	flag.Uint64Var(&o.seed, "seed", 0, "seed of the traffic's randomness (0: from the clock)")
	flag.Parse()
	if flag.NArg() > 0 || o.duration <= 0 || o.concurrency < 1 || o.sampleEvery <= 0 {
		fmt.Fprintln(os.Stderr, "soak: -duration, -concurrency and -sample-every must be positive; no arguments")
		flag.Usage()
		return exitCannotRun
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	if err := checkFiles(&o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitCannotRun
	}

	interrupt, hurry := trapSignals()
	dir, err := os.MkdirTemp("", "gowsgi-soak-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		return exitCannotRun
	}
	fmt.Printf("soak: starting gowsgi (%d worker(s) x %d thread(s), harakiri %ds) from a copy of %s in %s\n",
		processes, threads, harakiri, o.gowsgi, dir)
	srv, err := startServer(interrupt, o.gowsgi, o.python, dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: gowsgi did not become ready: %v\n", err)
		return exitCannotRun
	}
	res := soak(interrupt, hurry, o, srv)
	code := exitPass
	if !res.Verdict.Pass {
		code = exitFail
	}
	if res.Interrupted {
		code = exitInterrupted
	}
	// The log is kept when something is worth reading in it.
	if code == exitPass {
		os.RemoveAll(dir)
		res.Log.Kept = false
	}
	printSummary(os.Stdout, res)
	if res.Interrupted {
		fmt.Println("soak: interrupted; the results were not written")
		return code
	}
	if err := writeJSON(o.out, res); err != nil {
		fmt.Fprintf(os.Stderr, "soak: writing %s: %v\n", o.out, err)
		return exitFail
	}
	fmt.Printf("results: %s\n", o.out)
	return code
}

// checkFiles makes the paths absolute and checks that what the soak needs
// is there; it builds nothing.
func checkFiles(o *options) error {
	if _, err := os.Stat("testdata/apps/all.py"); err != nil {
		return errors.New("soak: testdata/apps/all.py not found: run the soak from the repository root")
	}
	var err error
	if o.gowsgi, err = filepath.Abs(o.gowsgi); err != nil {
		return err
	}
	if _, err := os.Stat(o.gowsgi); err != nil {
		return fmt.Errorf("soak: no gowsgi binary at %s\nhint: build it with `go build -o bin/gowsgi ./cmd/gowsgi`, or run `make soak`.", o.gowsgi)
	}
	// The interpreter stays a path through the virtualenv (not resolved):
	// a venv's python finds its site-packages through its own path.
	if o.python, err = filepath.Abs(o.python); err != nil {
		return err
	}
	if _, err := os.Stat(o.python); err != nil {
		return fmt.Errorf("soak: no python at %s\nhint: scripts/setup-venv.sh makes .venv, or pass -python.", o.python)
	}
	return nil
}

// trapSignals returns a context cancelled by the first SIGINT or SIGTERM
// and a channel closed by the second, which skips the graceful stop.
func trapSignals() (context.Context, <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	hurry := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Println("\nsoak: interrupted: stopping the traffic and gowsgi (^C again to kill it at once)")
		cancel()
		<-sigs
		fmt.Println("soak: killing gowsgi")
		close(hurry)
	}()
	return ctx, hurry
}

// soak runs the traffic and the faults for o.duration, stops gowsgi and
// accounts for everything.
func soak(interrupt context.Context, hurry <-chan struct{}, o options, srv *server) *results {
	clk := &clock{t0: time.Now()}
	res := &results{Started: clk.t0.UTC().Truncate(time.Second), Config: describe(o, srv)}
	mem := &sampler{srv: srv, clock: clk}
	tr := newTraffic(srv.addr, o.concurrency, clk, o.seed)
	fl := &faults{srv: srv, clock: clk, mem: mem, rng: rand.New(rand.NewPCG(o.seed, 1)),
		killEach: o.killEvery, hupEach: o.hupEvery}
	hs := &hostile{addr: srv.addr, clock: clk}

	clk.logf("traffic: %d clients on http://%s for %s; worker kill every %s, HUP every %s, hostile request every %s",
		o.concurrency, srv.addr, o.duration, o.killEvery, o.hupEvery, o.hostileEvery)
	tr.start()
	runCtx, endRun := context.WithTimeout(interrupt, o.duration)
	defer endRun()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); fl.run(runCtx, interrupt) }()
	go func() { defer wg.Done(); hs.run(runCtx, o.hostileEvery) }()
	go func() {
		defer wg.Done()
		mem.run(runCtx, o.sampleEvery, func(m memSample) {
			clk.logf("memory: master %d RSS %s PSS %s; tree of %d RSS %s PSS %s; traffic %d sent, %d failed",
				m.Master, mib(m.MasterMem.RSS), mib(m.MasterMem.PSS), m.TreeProcs, mib(m.TreeMem.RSS), mib(m.TreeMem.PSS),
				tr.sent.Load(), tr.failed.Load())
		})
	}()
	watchCtx, endWatch := context.WithCancel(runCtx)
	select {
	case <-runCtx.Done():
	case <-srv.watchGone(watchCtx):
		res.Aborted = "gowsgi exited in the middle of the soak; its log:\n" + srv.log.tail()
		clk.logf("gowsgi is gone: no master is running")
		endRun()
	}
	endWatch()
	wg.Wait() // a HUP under way finishes first
	hs.wait()
	// The end sample is taken under the same load as the start one.
	mem.sample("end")
	clk.logf("stopping the traffic")
	tr.finish()
	clk.logf("stopping gowsgi (SIGTERM to the master the pidfile names)")
	res.Stop = srv.stop(hurry)
	clk.logf("gowsgi stopped in %.1fs", res.Stop.Took)
	res.Interrupted = interrupt.Err() != nil

	res.Duration = seconds(clk.now())
	res.Faults = fl.done
	res.Traffic = account(tr, fl.done, hs.events)
	res.Hostile = summarizeHostile(hs.events)
	res.Memory = mem.judge(o.warmup)
	res.Log = logReport{Path: srv.log.path, Kept: true, Lines: srv.log.lines.Load(),
		WorkerSIGKILL: srv.log.sigkillLines.Load(), Harakiri: srv.log.harakiriLines.Load(), Panics: srv.log.panicLines.Load()}
	res.Verdict = judge(res)
	return res
}

// describe records what ran, so results can be compared.
func describe(o options, srv *server) runConfig {
	c := runConfig{
		Duration: o.duration.String(), Concurrency: o.concurrency,
		KeepAliveClients: (o.concurrency + 1) / 2, NewConnectionClients: o.concurrency / 2,
		KillEvery: o.killEvery.String(), HUPEvery: o.hupEvery.String(), HostileEvery: o.hostileEvery.String(),
		SampleEvery: o.sampleEvery.String(), Warmup: o.warmup.String(),
		Processes: processes, Threads: threads, Harakiri: harakiri, Addr: srv.addr,
		Gowsgi: o.gowsgi, Python: o.python, Seed: o.seed, GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
	}
	if f, err := os.Open(srv.exe); err == nil {
		h := sha256.New()
		io.Copy(h, f)
		f.Close()
		c.GowsgiSHA256 = hex.EncodeToString(h.Sum(nil))
	}
	if out, err := exec.Command(srv.exe, "--version").Output(); err == nil {
		c.GowsgiVersion = strings.TrimSpace(string(out))
	}
	// The commit the binary was built from, as go build stamped it (the
	// binary may come from another tree than the one the soak runs in);
	// without a stamp (-buildvcs=false), the soak's own work tree.
	if info, err := buildinfo.ReadFile(srv.exe); err == nil {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				c.Commit, c.CommitFrom = s.Value, "the binary's build stamp"
			case "vcs.modified":
				c.Dirty = s.Value == "true"
			}
		}
	}
	if c.Commit == "" {
		if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
			c.Commit, c.CommitFrom = strings.TrimSpace(string(out)), "the soak's work tree (the binary has no build stamp)"
			st, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
			c.Dirty = len(strings.TrimSpace(string(st))) > 0
		}
	}
	return c
}

// clock times everything from the start of the traffic.
type clock struct {
	t0 time.Time
	mu sync.Mutex
}

// now is nanoseconds since the traffic started (monotonic).
func (c *clock) now() int64 { return int64(time.Since(c.t0)) }

// logf prints one event line stamped with its time.
func (c *clock) logf(format string, a ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Printf("[%s] %s\n", stamp(c.now()), fmt.Sprintf(format, a...))
}

// seconds is ns as seconds, to the millisecond.
func seconds(ns int64) float64 { return math.Round(float64(ns)/1e6) / 1e3 }

// stamp is ns as mm:ss.mmm.
func stamp(ns int64) string {
	d := time.Duration(ns).Round(time.Millisecond)
	return fmt.Sprintf("%02d:%06.3f", int(d/time.Minute), (d % time.Minute).Seconds())
}

// mib formats KiB as MiB.
func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
