package pyworker

// Tests of queueing a request behind the one running on a slot (pool.go),
// with the test playing the Python thread on the other end of a socketpair.

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeThread is the Python side of one thread connection: it answers each
// Request in order with the request's PATH_INFO as the body, after hold
// lets it (when hold is set).
type fakeThread struct {
	conn net.Conn
	seen chan string // PATH_INFO of each Request frame, as it arrives
	hold chan struct{}
	// dieAfter > 0: the connection closes once this many requests were
	// answered (the worker dies in the next one).
	dieAfter int
}

func (f *fakeThread) serve(t *testing.T) {
	r := bufio.NewReader(f.conn)
	reqs := make(chan [2]any, 16)
	go func() {
		defer close(reqs)
		for {
			fr, err := ReadFrame(r, nil)
			if err != nil {
				return
			}
			if fr.Type != TypeRequest {
				continue
			}
			path := ""
			fields := strings.Split(string(fr.Payload), "\x00")
			for i := 0; i+1 < len(fields); i += 2 {
				if fields[i] == "PATH_INFO" {
					path = fields[i+1]
				}
			}
			f.seen <- path
			reqs <- [2]any{fr.RequestID, path}
		}
	}()
	answered := 0
	for req := range reqs {
		if f.dieAfter > 0 && answered == f.dieAfter {
			f.conn.Close()
			return
		}
		if f.hold != nil {
			<-f.hold
		}
		id, path := req[0].(uint32), req[1].(string)
		var b []byte
		b = AppendFrame(b, TypeStart, 0, id, []byte("200 OK\x00Content-Type\x00text/plain"))
		b = AppendFrame(b, TypeRespBody, 0, id, []byte(path))
		b = AppendFrame(b, TypeEnd, 0, id, nil)
		if _, err := f.conn.Write(b); err != nil {
			return
		}
		answered++
	}
}

// queueTestSlot returns a Manager whose current generation has one slot,
// connected to a fakeThread.
func queueTestSlot(t *testing.T, hold bool) (*Manager, *Slot, *fakeThread) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	m := &Manager{opts: Options{QueueGets: true}, events: make(chan event, 16), done: make(chan struct{})}
	ch := make(chan struct{})
	m.swapped.Store(&ch)
	g := &generation{n: 1, idle: make(chan *Slot, 1), queue: make(chan *Slot, 1), retired: make(chan struct{}), workers: map[int]*worker{}}
	w := &worker{m: m, id: 1, gen: g, pid: 4242}
	s := newSlot(w, 0, a, bufio.NewReader(a))
	g.idle <- s
	m.current.Store(g)
	f := &fakeThread{conn: b, seen: make(chan string, 16)}
	if hold {
		f.hold = make(chan struct{})
	}
	go f.serve(t)
	return m, s, f
}

type bodyRecorder struct {
	status string
	body   strings.Builder
}

func (r *bodyRecorder) Start(status string, _ [][2]string) error { r.status = status; return nil }
func (r *bodyRecorder) Write(p []byte) error                     { r.body.Write(p); return nil }
func (r *bodyRecorder) Flush()                                   {}

func get(path string) *Request {
	env := AppendEnviron(AppendEnviron(nil, "REQUEST_METHOD", "GET"), "PATH_INFO", path)
	return &Request{Environ: env, Path: path, Method: "GET"}
}

// run acquires a slot for req and runs it, in a goroutine; the result
// arrives on the returned channel.
func run(m *Manager, req *Request) (<-chan *Slot, <-chan error, *bodyRecorder) {
	slots, errs, rec := make(chan *Slot, 1), make(chan error, 1), &bodyRecorder{}
	go func() {
		s, err := m.Acquire(context.Background(), req)
		if err != nil {
			errs <- err
			return
		}
		slots <- s
		err = s.Do(context.Background(), req, rec)
		m.Release(s)
		errs <- err
	}()
	return slots, errs, rec
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestQueuedGetIsWrittenBeforeItsTurn(t *testing.T) {
	m, s, f := queueTestSlot(t, true)
	_, errs1, rec1 := run(m, get("/first"))
	if p := waitFor(t, f.seen, "the first request"); p != "/first" {
		t.Fatalf("first request frame: %q", p)
	}
	// The only slot is busy: a GET queues behind /first, and its frame
	// reaches the worker while /first still runs.
	slots2, errs2, rec2 := run(m, get("/second"))
	if got := waitFor(t, slots2, "the queued acquire"); got != s {
		t.Fatal("queued on another slot")
	}
	if p := waitFor(t, f.seen, "the queued request's frame"); p != "/second" {
		t.Fatalf("queued request frame: %q", p)
	}
	f.hold <- struct{}{}
	f.hold <- struct{}{}
	if err := waitFor(t, errs1, "the first request"); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(t, errs2, "the queued request"); err != nil {
		t.Fatal(err)
	}
	if n := m.Counters().Queued; n != 1 {
		t.Errorf("Counters().Queued = %d, want 1", n)
	}
	if rec1.body.String() != "/first" || rec2.body.String() != "/second" {
		t.Errorf("bodies %q and %q", rec1.body.String(), rec2.body.String())
	}
	// Both released: the slot is free again, and a third request runs at once.
	if got := waitFor(t, m.current.Load().idle, "the free slot"); got != s {
		t.Fatal("another slot came back")
	}
	m.current.Load().idle <- s
	_, errs3, rec3 := run(m, get("/third"))
	waitFor(t, f.seen, "the third request")
	f.hold <- struct{}{}
	if err := waitFor(t, errs3, "the third request"); err != nil || rec3.body.String() != "/third" {
		t.Fatalf("third: %v %q", err, rec3.body.String())
	}
}

func TestOnlyOneRequestQueuesAndOnlyGETs(t *testing.T) {
	m, _, f := queueTestSlot(t, true)
	_, errs1, _ := run(m, get("/first"))
	waitFor(t, f.seen, "the first request")
	_, errs2, _ := run(m, get("/second"))
	waitFor(t, f.seen, "the queued request")

	// A third GET and a POST find neither a free slot nor a queue place.
	for _, req := range []*Request{get("/third"), {Environ: get("/post").Environ, Method: "POST", HasBody: true, FirstEOF: true}} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := m.Acquire(ctx, req)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s %s: Acquire = %v, want a timeout", req.Method, req.Path, err)
		}
	}
	f.hold <- struct{}{}
	f.hold <- struct{}{}
	waitFor(t, errs1, "the first request")
	waitFor(t, errs2, "the queued request")
}

func TestNoQueueBehindSlowRequests(t *testing.T) {
	m, s, f := queueTestSlot(t, true)
	s.avg = queueLimit // this slot's requests have been slow
	_, errs1, _ := run(m, get("/first"))
	waitFor(t, f.seen, "the first request")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := m.Acquire(ctx, get("/second")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire = %v, want a timeout: no queueing behind a slow slot", err)
	}
	f.hold <- struct{}{}
	waitFor(t, errs1, "the first request")
}

func TestQueuedRequestOfADeadWorkerIsNotDelivered(t *testing.T) {
	m, _, f := queueTestSlot(t, true)
	_, errs1, _ := run(m, get("/first"))
	waitFor(t, f.seen, "the first request")
	_, errs2, _ := run(m, get("/second"))
	waitFor(t, f.seen, "the queued request")
	f.conn.Close() // the worker dies while running /first
	if err := waitFor(t, errs1, "the first request"); !errors.Is(err, ErrWorkerDied) || errors.Is(err, ErrNotDelivered) {
		t.Errorf("running request: %v, want ErrWorkerDied only", err)
	}
	if err := waitFor(t, errs2, "the queued request"); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("queued request: %v, want ErrNotDelivered (another worker may take it)", err)
	}
}

func TestQueueGetsOff(t *testing.T) {
	m, _, f := queueTestSlot(t, true)
	m.opts.QueueGets = false
	_, errs1, _ := run(m, get("/first"))
	waitFor(t, f.seen, "the first request")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := m.Acquire(ctx, get("/second")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire = %v, want a timeout without queue-gets", err)
	}
	f.hold <- struct{}{}
	waitFor(t, errs1, "the first request")
}

// A queued GET whose turn came (the request before it ended) may have
// started: if its worker dies now, it is not given to another worker, so
// a GET that crashes workers is not run on four of them.
func TestQueuedRequestThatMayHaveRunIsNotRetried(t *testing.T) {
	m, _, f := queueTestSlot(t, true)
	f.dieAfter = 1
	_, errs1, rec1 := run(m, get("/first"))
	waitFor(t, f.seen, "the first request")
	_, errs2, _ := run(m, get("/second"))
	waitFor(t, f.seen, "the queued request")
	f.hold <- struct{}{}
	if err := waitFor(t, errs1, "the first request"); err != nil || rec1.body.String() != "/first" {
		t.Fatalf("first: %v %q", err, rec1.body.String())
	}
	err := waitFor(t, errs2, "the queued request")
	if !errors.Is(err, ErrWorkerDied) || errors.Is(err, ErrNotDelivered) {
		t.Errorf("queued request: %v, want ErrWorkerDied and not ErrNotDelivered", err)
	}
}
