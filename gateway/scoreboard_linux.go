package gateway

// This file is the scoreboard: a page of shared memory the master creates
// (memfd) and every worker maps, through which the master sees what the
// engines do without a message per request. Each worker has a row: its
// pid, whether it accepts, its open connections and requests served; each
// of its threads a slot: when its current request started (0: idle) and
// the request's method and path. Workers write only their own row;
// the master reads them all (harakiri, the status page) and workers read
// the others' connection counts (balancing, MayAccept). Every field is a
// 64-bit word read and written atomically; the path bytes are written
// before the start time that publishes them.

import (
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	boardMagic    = 0x676f77736769_01 // "gowsgi" v1
	boardHeader   = 64
	boardWorker   = 1024 // bytes of a worker row before its thread slots
	boardThread   = 128  // bytes of one thread slot
	boardPathSize = boardThread - 16
)

// Scoreboard is the shared page, as one process maps it.
type Scoreboard struct {
	mem              []byte
	workers, threads int
	row              int // this worker's row; -1 in the master

	mu   sync.Mutex   // the master's: gone
	gone boardMetrics // the metrics of released rows
}

// CreateScoreboard makes a scoreboard for rows workers of threads threads
// each; the master passes File to the workers.
func CreateScoreboard(rows, threads int) (*Scoreboard, *os.File, error) {
	fd, err := unix.MemfdCreate("gowsgi-scoreboard", 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("memfd_create", err)
	}
	f := os.NewFile(uintptr(fd), "gowsgi-scoreboard")
	size := boardSize(rows, threads)
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, nil, err
	}
	b, err := mapBoard(fd, rows, threads)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	atomic.StoreUint64(b.word(0), boardMagic)
	atomic.StoreUint64(b.word(8), uint64(rows))
	atomic.StoreUint64(b.word(16), uint64(threads))
	return b, f, nil
}

// OpenScoreboard maps the scoreboard a worker inherited as descriptor fd.
func OpenScoreboard(fd, rows, threads int) (*Scoreboard, error) {
	b, err := mapBoard(fd, rows, threads)
	if err != nil {
		return nil, err
	}
	if atomic.LoadUint64(b.word(0)) != boardMagic || int(atomic.LoadUint64(b.word(8))) != rows || int(atomic.LoadUint64(b.word(16))) != threads {
		unix.Munmap(b.mem)
		return nil, fmt.Errorf("scoreboard (fd %d) is not one of %d workers x %d threads: is the master another gowsgi version?", fd, rows, threads)
	}
	return b, nil
}

func boardSize(rows, threads int) int {
	return boardHeader + rows*(boardWorker+threads*boardThread)
}

func mapBoard(fd, rows, threads int) (*Scoreboard, error) {
	mem, err := unix.Mmap(fd, 0, boardSize(rows, threads), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return &Scoreboard{mem: mem, workers: rows, threads: threads, row: -1}, nil
}

func (b *Scoreboard) word(off int) *uint64 { return (*uint64)(unsafe.Pointer(&b.mem[off])) }

func (b *Scoreboard) rowOff(row int) int {
	return boardHeader + row*(boardWorker+b.threads*boardThread)
}

// Worker row words: the row's state, then the request metrics (metrics.go's,
// counted here by the engine and summed by the master).
const (
	wPid       = 0
	wAccepting = 8
	wConns     = 16
	wRequests  = 24
	wInFlight  = 32
	wClass     = 40                                             // requests by status class, len(statusClasses) words
	wLatency   = wClass + 8*len(statusClasses)                  // per class: a bucket count per latency bound and +Inf
	wLatSum    = wLatency + 8*len(statusClasses)*latencyBuckets // per class: the latency sum, float64 bits
	wQueue     = wLatSum + 8*len(statusClasses)                 // queue wait: a count per bound and +Inf
	wQueueSum  = wQueue + 8*queueBuckets
	wEnd       = wQueueSum + 8
)

var _ [boardWorker - wEnd]struct{} // the row holds its words

// Claim makes row this worker's, accepting.
func (b *Scoreboard) Claim(row, pid int) {
	b.row = row
	o := b.rowOff(row)
	atomic.StoreUint64(b.word(o+wConns), 0)
	atomic.StoreUint64(b.word(o+wRequests), 0)
	for off := wInFlight; off < wEnd; off += 8 {
		atomic.StoreUint64(b.word(o+off), 0)
	}
	for t := 0; t < b.threads; t++ {
		atomic.StoreUint64(b.word(b.threadOff(row, t)), 0)
	}
	atomic.StoreUint64(b.word(o+wPid), uint64(pid))
	atomic.StoreUint64(b.word(o+wAccepting), 1)
}

// Release clears row (the master, once its worker is gone); its request
// metrics are kept, so that the counters the master reports never go back.
func (b *Scoreboard) Release(row int) {
	o := b.rowOff(row)
	b.mu.Lock()
	b.gone.add(b, o)
	for off := wClass; off < wEnd; off += 8 {
		atomic.StoreUint64(b.word(o+off), 0)
	}
	b.mu.Unlock()
	atomic.StoreUint64(b.word(o+wAccepting), 0)
	atomic.StoreUint64(b.word(o+wPid), 0)
	atomic.StoreUint64(b.word(o+wConns), 0)
	for t := 0; t < b.threads; t++ {
		atomic.StoreUint64(b.word(b.threadOff(row, t)), 0)
	}
}

// Header words after the magic and the sizes: dev mode's live reload
// (livereload_engine_linux.go). The master writes them, the engines read.
const (
	hLiveVersion = 24 // the live reload version pages carry (LiveReload's)
	hLiveGen     = 32 // the generation whose engines answer live reload; older ones are stale
)

// SetLive publishes the live reload version and the generation that
// serves now (math.MaxInt: none, the master answers).
func (b *Scoreboard) SetLive(version, gen int) {
	atomic.StoreUint64(b.word(hLiveGen), uint64(gen))
	atomic.StoreUint64(b.word(hLiveVersion), uint64(version))
}

// Live returns what SetLive published.
func (b *Scoreboard) Live() (version, gen int) {
	return int(atomic.LoadUint64(b.word(hLiveVersion))), int(atomic.LoadUint64(b.word(hLiveGen)))
}

// StopAccepting says this worker takes no more connections.
func (b *Scoreboard) StopAccepting() {
	if b.row >= 0 {
		atomic.StoreUint64(b.word(b.rowOff(b.row)+wAccepting), 0)
	}
}

// MayAccept implements Balancer: this worker takes a connection while it
// holds no more than one more than the accepting worker with the fewest
// (so at most two more once it took it). One is slack: a connection
// waiting for its request is no work, and behind nginx, which opens one
// for every request, a worker often has one; made to leave the next to
// the others, it sat idle (TestScoreboardBalance).
func (b *Scoreboard) MayAccept(open int) bool {
	if open <= 1 {
		// Within one of any count: the other rows' lines are not read
		// (behind nginx, a connection per request, each read was a cache
		// line from the other worker's CPU).
		return true
	}
	fewest := -1
	for r := 0; r < b.workers; r++ {
		if r == b.row {
			continue
		}
		o := b.rowOff(r)
		if atomic.LoadUint64(b.word(o+wAccepting)) == 0 || atomic.LoadUint64(b.word(o+wPid)) == 0 {
			continue
		}
		n := int(atomic.LoadUint64(b.word(o + wConns)))
		if fewest < 0 || n < fewest {
			fewest = n
		}
	}
	return fewest < 0 || open <= fewest+1
}

// Opened implements Balancer.
func (b *Scoreboard) Opened() { atomic.AddUint64(b.word(b.rowOff(b.row)+wConns), 1) }

// Closed implements Balancer.
func (b *Scoreboard) Closed() { atomic.AddUint64(b.word(b.rowOff(b.row)+wConns), ^uint64(0)) }

func (b *Scoreboard) threadOff(row, t int) int { return b.rowOff(row) + boardWorker + t*boardThread }

// Begin notes that thread t of this worker started a request.
func (b *Scoreboard) Begin(t int, method, path string) {
	if b.row < 0 || t >= b.threads {
		return
	}
	o := b.threadOff(b.row, t)
	slot := b.mem[o+16 : o+boardThread]
	n := copy(slot, method) // "METHOD path", without a string for it
	if n < len(slot) {
		slot[n] = ' '
		n++
		n += copy(slot[n:], path)
	}
	atomic.StoreUint64(b.word(o+8), uint64(n))
	atomic.StoreUint64(b.word(o), uint64(time.Now().UnixNano()))
}

// End notes that thread t's request is done.
func (b *Scoreboard) End(t int) {
	if b.row < 0 || t >= b.threads {
		return
	}
	atomic.StoreUint64(b.word(b.threadOff(b.row, t)), 0)
	atomic.AddUint64(b.word(b.rowOff(b.row)+wRequests), 1)
}

// ThreadState is what the master reads of one thread.
type ThreadState struct {
	Pid     int
	Thread  int
	Since   time.Time // zero: idle
	Request string    // "GET /path"
}

// Busy lists the threads running a request, with when it started.
func (b *Scoreboard) Busy() []ThreadState {
	var out []ThreadState
	for r := 0; r < b.workers; r++ {
		pid := int(atomic.LoadUint64(b.word(b.rowOff(r) + wPid)))
		if pid == 0 {
			continue
		}
		for t := 0; t < b.threads; t++ {
			o := b.threadOff(r, t)
			since := atomic.LoadUint64(b.word(o))
			if since == 0 {
				continue
			}
			n := int(atomic.LoadUint64(b.word(o + 8)))
			n = min(n, boardPathSize)
			out = append(out, ThreadState{Pid: pid, Thread: t, Since: time.Unix(0, int64(since)), Request: string(b.mem[o+16 : o+16+n])})
		}
	}
	return out
}

// Requests is the number of requests the worker of pid served.
func (b *Scoreboard) Requests(pid int) int64 {
	for r := 0; r < b.workers; r++ {
		if int(atomic.LoadUint64(b.word(b.rowOff(r)+wPid))) == pid {
			return int64(atomic.LoadUint64(b.word(b.rowOff(r) + wRequests)))
		}
	}
	return 0
}

// Conns is the number of open connections of each worker row that has one.
func (b *Scoreboard) Conns() map[int]int {
	out := map[int]int{}
	for r := 0; r < b.workers; r++ {
		o := b.rowOff(r)
		if pid := int(atomic.LoadUint64(b.word(o + wPid))); pid != 0 {
			out[pid] = int(atomic.LoadUint64(b.word(o + wConns)))
		}
	}
	return out
}

func bucketOf(bounds []float64, v float64) int {
	i := 0
	for i < len(bounds) && v > bounds[i] {
		i++
	}
	return i
}

func (b *Scoreboard) addFloat(off int, v float64) {
	p := b.word(off)
	for {
		old := atomic.LoadUint64(p)
		if atomic.CompareAndSwapUint64(p, old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// begin, done and waited are Metrics' observations, in this worker's row.
func (b *Scoreboard) begin() { atomic.AddUint64(b.word(b.rowOff(b.row)+wInFlight), 1) }

func (b *Scoreboard) done(class int, seconds float64) {
	o := b.rowOff(b.row)
	atomic.AddUint64(b.word(o+wInFlight), ^uint64(0))
	atomic.AddUint64(b.word(o+wClass+8*class), 1)
	atomic.AddUint64(b.word(o+wLatency+8*(class*latencyBuckets+bucketOf(latencyBounds, seconds))), 1)
	b.addFloat(o+wLatSum+8*class, seconds)
}

func (b *Scoreboard) waited(seconds float64) {
	o := b.rowOff(b.row)
	atomic.AddUint64(b.word(o+wQueue+8*bucketOf(queueBounds, seconds)), 1)
	b.addFloat(o+wQueueSum, seconds)
}

// add adds the row at offset o.
func (m *boardMetrics) add(b *Scoreboard, o int) {
	m.inFlight += atomic.LoadUint64(b.word(o + wInFlight))
	for c := range statusClasses {
		m.class[c] += atomic.LoadUint64(b.word(o + wClass + 8*c))
		for k := 0; k < latencyBuckets; k++ {
			m.latency[c][k] += atomic.LoadUint64(b.word(o + wLatency + 8*(c*latencyBuckets+k)))
		}
		m.latSum[c] += math.Float64frombits(atomic.LoadUint64(b.word(o + wLatSum + 8*c)))
	}
	for k := 0; k < queueBuckets; k++ {
		m.queue[k] += atomic.LoadUint64(b.word(o + wQueue + 8*k))
	}
	m.queueSum += math.Float64frombits(atomic.LoadUint64(b.word(o + wQueueSum)))
}

// totals sums every row and the released ones (the master).
func (b *Scoreboard) totals() boardMetrics {
	b.mu.Lock()
	t := b.gone
	t.inFlight = 0
	b.mu.Unlock()
	for r := 0; r < b.workers; r++ {
		t.add(b, b.rowOff(r))
	}
	return t
}

// BoardMetrics is the Metrics of an engine, counted in its scoreboard row.
func BoardMetrics(b *Scoreboard) *Metrics { return &Metrics{board: b} }

// WithBoard makes the master's m report the engines' requests, counted in
// b.
func (m *Metrics) WithBoard(b *Scoreboard) {
	if m != nil {
		m.board = b
	}
}
