package pyworker

// This file implements one request from the perspective of the Go master:
// a Slot is one Python thread's connection, and Do drives the frame exchange
// of one request over it.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one request as the gateway hands it to a worker.
type Request struct {
	// Environ is the encoded CGI environ (see AppendEnviron).
	Environ []byte
	// HasBody says whether the request has a body at all.
	HasBody bool
	// First is the start of the body, read by the gateway before a worker
	// was taken, so that small bodies never hold a worker while a slow
	// client sends them. FirstEOF says First is the whole body.
	First    []byte
	FirstEOF bool
	// Body yields the rest of the body after First. Nil when FirstEOF.
	Body io.Reader
	// Path is the request path, for logs.
	Path string
	// Method is the request method: a GET or HEAD without a body may be
	// queued behind a running request (see Queueable).
	Method string
}

// Queueable says whether r may be written to a thread connection while
// another request still runs there (pool.go): it needs no Read round trip,
// and it is safe to give to another worker if the worker dies before
// answering it, because GET and HEAD do not change anything.
func (r *Request) Queueable() bool {
	return !r.HasBody && (r.Method == "GET" || r.Method == "HEAD")
}

// Responder receives a worker's response. The gateway implements it once per
// listener kind (HTTP, uwsgi protocol).
type Responder interface {
	// Start is called once, before the first Write, with the app's status
	// line ("200 OK") and headers in order. An error means the headers are
	// unusable; the request then fails with a 500.
	Start(status string, headers [][2]string) error
	// Write sends part of the body. An error means the client is gone.
	Write(p []byte) error
	// Flush pushes what was written to the client (for streaming).
	Flush()
}

// Errors of Do that callers branch on.
var (
	// ErrWorkerDied: the worker process died during the request.
	ErrWorkerDied = errors.New("worker died during the request")
	// ErrHarakiri: the request ran past the harakiri limit and its worker was killed.
	ErrHarakiri = errors.New("request killed by harakiri")
	// ErrResponseBroken: the response failed after its headers were sent;
	// the client connection must be cut so the client sees a truncated body.
	ErrResponseBroken = errors.New("response broken after headers were sent")
	// ErrNotDelivered: the worker was gone before any byte of the request
	// reached it (its slot was idle when it died), so the request can be
	// given to another worker without ever running twice. It also matches
	// ErrWorkerDied.
	ErrNotDelivered = errors.New("worker gone before the request was delivered")
	// ErrClientGone: the client went away; the worker was told to stop.
	ErrClientGone = errors.New("client went away")
	// ErrAbandoned: Do's context ended while the request was on its slot,
	// so Do closed the slot's connection and returned without waiting for
	// the worker. The worker counts as lost, as after any broken
	// connection: it is replaced.
	ErrAbandoned = errors.New("request abandoned while it ran in the worker")
)

// AppError is returned by Do when the app failed before sending headers.
type AppError struct {
	Traceback string
}

func (e *AppError) Error() string { return "the app raised an exception:\n" + e.Traceback }

// BadResponseError is returned when the app's status or headers cannot be sent.
type BadResponseError struct{ Err error }

func (e *BadResponseError) Error() string { return "invalid response from the app: " + e.Err.Error() }
func (e *BadResponseError) Unwrap() error { return e.Err }

// bodyChunk is the most request body sent in one Body frame.
const bodyChunk = 256 << 10

// Slot is one Python thread's connection to the master. A slot runs one
// request at a time; a second one may be queued behind it (pool.go), its
// Request frame written at once so the Python thread finds it the moment
// it finishes the first, and it reads its answer when the first is done.
type Slot struct {
	w      *worker
	thread int
	conn   net.Conn
	r      *bufio.Reader
	wbuf   []byte // frames of the running request
	qbuf   []byte // the Request frame of a queued one
	rbuf   []byte

	mu      sync.Mutex
	holders int           // requests that acquired the slot and did not release it (at most 2)
	running bool          // a request owns the connection's reading side
	waiter  chan struct{} // closed to give the queued request its turn
	// waiterEarly: the waiting request wrote its frames already.
	waiterEarly bool
	// open: the running request's frames are written, so a request may
	// queue behind it (its frames then follow on the connection).
	open    bool
	offered bool // the slot is in its generation's queue channel
	nextID  uint32
	avg     time.Duration // moving average of the requests' durations

	busySince atomic.Int64 // unix nanos while a request runs, else 0
	path      atomic.Pointer[string]
	broken    atomic.Bool // the connection is unusable
	harakiri  atomic.Bool
}

func newSlot(w *worker, thread int, c net.Conn, r *bufio.Reader) *Slot {
	return &Slot{w: w, thread: thread, conn: c, r: r, rbuf: make([]byte, 64<<10)}
}

// Worker returns the pid and generation of the worker behind s.
func (s *Slot) Worker() (pid, generation int) { return s.w.pid, s.w.gen.n }

// Do runs one request on s and streams the response to out.
//
// When ctx ends before the request does, Do gives the request up: it
// closes the slot's connection (Python cannot be interrupted in the app,
// and nothing else would unblock the read of its answer) and returns
// ErrAbandoned; the slot is broken from then on and its worker replaced.
// So ctx should end only when waiting for the worker is no option any more
// (the server is closing), not when the client goes away: a client that
// goes away fails out.Write, the worker is told to stop the request, and it
// stays usable. (Issue 13: without a context a second CONTROL-C could not
// stop a server whose uwsgi request was stuck in the app.)
func (s *Slot) Do(ctx context.Context, req *Request, out Responder) error {
	if ctx.Done() == nil {
		return s.do(req, out)
	}
	gaveUp := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.broken.Store(true)
		s.conn.Close()
		close(gaveUp)
	})
	err := s.do(req, out)
	if stop() {
		return err
	}
	<-gaveUp
	if err != nil {
		// Whatever do saw (a closed connection, mostly) was our doing; it
		// must not pass for a request no worker received, either, which
		// would be retried elsewhere.
		return fmt.Errorf("%w (worker pid %d): %w", ErrAbandoned, s.w.pid, context.Cause(ctx))
	}
	return nil
}

// do is Do without its context.
func (s *Slot) do(req *Request, out Responder) error {
	s.mu.Lock()
	s.nextID++
	if s.nextID == 0 {
		s.nextID = 1
	}
	id := s.nextID
	var turn chan struct{}
	var werr error
	early := false // the Request frame went out before our turn
	if s.running {
		// Queued behind the running request (pool.go), which took a
		// queueable request only once its own frames were written: ours
		// follow them, in the order of the ids.
		turn = make(chan struct{})
		s.waiter = turn
		if early = req.Queueable(); early {
			// Under the lock: a Request frame (at most buffer-size of
			// headers) fits the socket buffer, so this write does not wait
			// for Python while the running request needs the lock to end.
			s.qbuf = AppendFrame(s.qbuf[:0], TypeRequest, 0, id, req.Environ)
			_, werr = s.conn.Write(s.qbuf)
			s.w.m.stats.queued.Add(1)
		}
		s.waiterEarly = early
	} else {
		s.running = true
	}
	s.mu.Unlock()
	if turn != nil {
		<-turn
		if werr != nil || s.broken.Load() {
			// The request before ours never finished (its worker died, or
			// the connection broke), so the worker never started ours:
			// Python serves a connection's requests in order. Once the one
			// before has its End, ours may have started, and a failure is
			// an ordinary ErrWorkerDied, never retried.
			s.endTurn(time.Time{})
			if werr != nil {
				werr = s.fail(werr)
			} else {
				werr = fmt.Errorf("%w (worker pid %d)", ErrWorkerDied, s.w.pid)
			}
			return fmt.Errorf("%w: %w", ErrNotDelivered, werr)
		}
	}
	start := time.Now()
	s.busySince.Store(start.UnixNano())
	p := req.Path
	s.path.Store(&p)
	defer s.endTurn(start)

	if !early {
		var flags uint8
		if req.HasBody {
			flags = FlagBody
		}
		s.wbuf = AppendFrame(s.wbuf[:0], TypeRequest, flags, id, req.Environ)
		if req.HasBody {
			var bf uint8
			if req.FirstEOF {
				bf = FlagEOF
			}
			s.wbuf = AppendFrame(s.wbuf, TypeBody, bf, id, req.First)
		}
		if n, err := s.conn.Write(s.wbuf); err != nil {
			ferr := s.fail(err)
			if n == 0 && !s.harakiri.Load() {
				// Nothing reached the worker (it died while the slot was idle):
				// the request may go to another worker.
				return fmt.Errorf("%w: %w", ErrNotDelivered, ferr)
			}
			return ferr
		}
		s.openQueue()
	}
	bodyDone := !req.HasBody || req.FirstEOF
	started, aborted := false, false
	var clientErr error
	abort := func() error {
		if aborted {
			return nil
		}
		aborted = true
		s.wbuf = AppendFrame(s.wbuf[:0], TypeAbort, 0, id, nil)
		return s.send()
	}
	for {
		f, err := ReadFrame(s.r, s.rbuf)
		if err != nil {
			return s.fail(err)
		}
		if f.RequestID != id && f.Type != TypeLog {
			return s.fail(fmt.Errorf("frame %s for request %d during request %d", f.Type, f.RequestID, id))
		}
		switch f.Type {
		case TypeRead:
			if bodyDone || aborted {
				// Python asked again after EOF (or after we gave up on the
				// client): answer EOF so it never waits.
				s.wbuf = AppendFrame(s.wbuf[:0], TypeBody, FlagEOF, id, nil)
				if err := s.send(); err != nil {
					return err
				}
				continue
			}
			want := bodyChunk
			if len(f.Payload) == 4 {
				if n := int(binary.BigEndian.Uint32(f.Payload)); n > 0 && n < want {
					want = n
				}
			}
			if err := s.sendBody(id, req.Body, want, &bodyDone); err != nil {
				if errors.Is(err, errClientBody) {
					clientErr = err
					if err := abort(); err != nil {
						return err
					}
					continue
				}
				return err
			}
		case TypeStart:
			if aborted {
				continue
			}
			status, headers, err := ParseStart(f.Payload)
			if err == nil {
				err = out.Start(status, headers)
			}
			if err != nil {
				clientErr = &BadResponseError{Err: err}
				if err := abort(); err != nil {
					return err
				}
				continue
			}
			started = true
		case TypeRespBody:
			if aborted || !started {
				continue
			}
			if err := out.Write(f.Payload); err != nil {
				clientErr = fmt.Errorf("%w: %v", ErrClientGone, err)
				if err := abort(); err != nil {
					return err
				}
				continue
			}
			// Flush only when Python has nothing more queued: a response
			// sent as Start+Body+End in one write goes out in one write.
			if s.r.Buffered() == 0 {
				out.Flush()
			}
		case TypeEnd:
			if clientErr != nil {
				return clientErr
			}
			if f.Flags&FlagError != 0 {
				return ErrResponseBroken
			}
			return nil
		case TypeAppError:
			if clientErr != nil {
				return clientErr
			}
			return &AppError{Traceback: string(f.Payload)}
		case TypeLog:
			s.w.log(f.Payload)
		default:
			return s.fail(fmt.Errorf("unexpected %s frame during a request", f.Type))
		}
	}
}

var errClientBody = errors.New("reading the request body")

// endTurn ends a request's hold on the connection: the queued request, if
// any, reads next. start is when the request began (zero if it never ran);
// its duration feeds the average that decides whether queueing behind this
// slot is worth it (pool.go).
func (s *Slot) endTurn(start time.Time) {
	s.busySince.Store(0)
	s.mu.Lock()
	if !start.IsZero() {
		s.avg += (time.Since(start) - s.avg) / 8
	}
	if s.waiter != nil {
		close(s.waiter)
		s.waiter = nil
		// A queued request's frames are out already: another may queue
		// behind it once this one is released.
		s.open = s.waiterEarly
	} else {
		s.running = false
		s.open = false
	}
	s.mu.Unlock()
}

func (s *Slot) sendBody(id uint32, body io.Reader, want int, done *bool) error {
	if cap(s.wbuf) < HeaderSize+want {
		s.wbuf = make([]byte, 0, HeaderSize+want)
	}
	buf := s.wbuf[HeaderSize : HeaderSize+want]
	n, err := io.ReadFull(body, buf)
	var flags uint8
	switch {
	case err == nil:
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		flags = FlagEOF
		*done = true
	default:
		return fmt.Errorf("%w: %v", errClientBody, err)
	}
	PutHeader(s.wbuf[:HeaderSize], Header{Type: TypeBody, Flags: flags, RequestID: id, Length: uint32(n)})
	s.wbuf = s.wbuf[:HeaderSize+n]
	return s.send()
}

func (s *Slot) send() error {
	if _, err := s.conn.Write(s.wbuf); err != nil {
		return s.fail(err)
	}
	return nil
}

// fail marks the slot unusable and turns a connection error into the error
// the gateway reports.
func (s *Slot) fail(err error) error {
	s.broken.Store(true)
	s.conn.Close()
	if s.harakiri.Load() {
		return ErrHarakiri
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isConnReset(err) {
		return fmt.Errorf("%w (worker pid %d)", ErrWorkerDied, s.w.pid)
	}
	return fmt.Errorf("%w (worker pid %d): %v", ErrWorkerDied, s.w.pid, err)
}
