package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// AccessLog writes one line per request:
//
//	127.0.0.1 - [24/Nov/2026:16:29:46 +0000] "GET /items/ HTTP/1.1" 200 512 1.84ms pid=4121 gen=1
//
// Lines are queued and written by one goroutine in batches, so a request
// never waits for the terminal or the disk.
//
// The queue is never closed: a handler that outlived the grace period may
// still log after Close, and a send on a closed channel panics, even in a
// select with a default (issue 13, bug 3). Close stops the writer instead;
// a line queued after that is dropped.
type AccessLog struct {
	lines chan []byte
	stop  chan struct{} // closed by Close
	done  chan struct{} // closed when the writer has written what was queued
	once  sync.Once
	// Format turns a request into a line (without the newline). nil uses
	// the default format above.
	Format func(dst []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte
	// Skip, when set, leaves out the requests whose status it reports
	// (uWSGI's log-4xx/log-5xx log only those with disable-logging).
	Skip func(status int) bool

	// batch, in the engine, takes the lines instead of the queue.
	batch *logBatch
}

// logBatch is the engine's access log: lines are gathered under a lock by
// the thread that served the request and written together once the next
// would pass 4 KiB or the oldest is 100 ms old (FlushIfOld), so that the
// log costs neither a write(2) per request nor a hand-off to another
// thread. 4 KiB is PIPE_BUF: a write that large to the master's pipe is
// never interleaved with another worker's, so lines stay whole.
type logBatch struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	since time.Time // when the oldest held line was added
}

// logBatchSize is how much the engine's log holds before it writes.
const logBatchSize = 4096

// NewBatchedAccessLog is an access log for the engine (see logBatch).
func NewBatchedAccessLog(w io.Writer) *AccessLog {
	return &AccessLog{batch: &logBatch{w: w}}
}

func (b *logBatch) add(line []byte) {
	b.mu.Lock()
	if len(b.buf)+len(line) > logBatchSize {
		b.writeLocked()
	}
	if len(b.buf) == 0 {
		b.since = time.Now()
	}
	b.buf = append(b.buf, line...)
	b.mu.Unlock()
}

func (b *logBatch) writeLocked() {
	if len(b.buf) > 0 {
		b.w.Write(b.buf)
		b.buf = b.buf[:0]
	}
}

// FlushIfOld writes the held lines of an engine's log if the oldest was
// added more than age ago.
func (l *AccessLog) FlushIfOld(age time.Duration) {
	b := l.batch
	if b == nil {
		return
	}
	b.mu.Lock()
	if len(b.buf) > 0 && time.Since(b.since) > age {
		b.writeLocked()
	}
	b.mu.Unlock()
}

// NewAccessLog starts an access log writing to w.
func NewAccessLog(w io.Writer) *AccessLog {
	l := &AccessLog{lines: make(chan []byte, 4096), stop: make(chan struct{}), done: make(chan struct{})}
	go l.writeLoop(w)
	return l
}

var linePool = sync.Pool{New: func() any { return make([]byte, 0, 256) }}

// Request logs one request. It never blocks: when the writer cannot keep
// up, the line is dropped (better a missing log line than a slow server).
func (l *AccessLog) Request(r *http.Request, status int, size int64, d time.Duration, pid, gen int) {
	if l.Skip != nil && l.Skip(status) {
		return
	}
	b := linePool.Get().([]byte)[:0]
	if l.Format != nil {
		b = l.Format(b, r, status, size, d, pid, gen)
	} else {
		b = defaultFormat(b, r, status, size, d, pid, gen)
	}
	b = append(b, '\n')
	if l.batch != nil {
		l.batch.add(b)
		linePool.Put(b[:0]) //nolint:staticcheck // slices are fine in a pool here
		return
	}
	select {
	case l.lines <- b:
	default:
	}
}

func defaultFormat(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if host == "" {
		host = "-"
	}
	b = append(b, host...)
	b = append(b, " - ["...)
	b = time.Now().AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = appendRequestStatus(b, r, status)
	b = strconv.AppendInt(b, size, 10)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', 2, 64)
	b = append(b, "ms"...)
	if pid != 0 {
		b = append(b, " pid="...)
		b = strconv.AppendInt(b, int64(pid), 10)
		b = append(b, " gen="...)
		b = strconv.AppendInt(b, int64(gen), 10)
	}
	return b
}

func (l *AccessLog) writeLoop(w io.Writer) {
	defer close(l.done)
	bw := bufio.NewWriterSize(w, 64<<10)
	write := func(b []byte) {
		bw.Write(b)
		linePool.Put(b[:0]) //nolint:staticcheck // slices are fine in a pool here
	}
	for {
		select {
		case b := <-l.lines:
			write(b)
			// Write the batch out once nothing else is queued.
			if len(l.lines) == 0 {
				bw.Flush()
			}
		case <-l.stop:
			// What was queued before Close is written; later lines stay
			// in the queue, unread.
			for {
				select {
				case b := <-l.lines:
					write(b)
				default:
					bw.Flush()
					return
				}
			}
		}
	}
}

// Close writes what is queued and stops the writer. Request may still be
// called afterwards; its lines are dropped.
func (l *AccessLog) Close() {
	if l.batch != nil {
		l.batch.mu.Lock()
		l.batch.writeLocked()
		l.batch.mu.Unlock()
		return
	}
	l.once.Do(func() { close(l.stop) })
	<-l.done
}
