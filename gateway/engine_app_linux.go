package gateway

// This file is the engine's side of the app call: the pipeline's Backend
// inside a worker, whose only slot is the calling thread. Acquire never
// waits (the thread is free: it is the one asking), and Do runs the app on
// this same OS thread, so that the app's threading.local, its database
// connection and its stack are the ones of the Python thread that called
// into the engine.

import (
	"context"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// EngineApp runs the app for one request on the calling thread and streams
// its response to out. Its error is what pyworker.Slot.Do would return for
// the same outcome: *pyworker.AppError (the app raised before its
// headers), pyworker.ErrClientGone (a write failed: the client went away),
// pyworker.ErrResponseBroken (it failed after its headers), or a
// *pyworker.BadResponseError.
//
// The worker's Python runtime implements it through a C callback
// (engine/, _gowsgi/engine.py); the engine's Go tests with Go functions.
type EngineApp interface {
	Run(req *pyworker.Request, out pyworker.Responder) error
}

// EngineAppFunc adapts a function to EngineApp.
type EngineAppFunc func(req *pyworker.Request, out pyworker.Responder) error

// Run implements EngineApp.
func (f EngineAppFunc) Run(req *pyworker.Request, out pyworker.Responder) error { return f(req, out) }

// threadBackend is the Backend of one engine thread. It also keeps the
// thread's buffers for the request it serves (the encoded environ, the
// answer's head and held body), so that they are not grown again from
// nothing for every request: 9 of the 24 allocations of a keep-alive
// hello request (BenchmarkEngineHTTPRequest).
type threadBackend struct {
	slot               threadSlot
	envBuf, head, body []byte // head is also a uwsgi answer's pending bytes
	// A uwsgi request's: its http.Request, connection and exchange
	// (stepUwsgi).
	uwsgi uwsgiScratch
	uc    uwsgiConn
	x     exchange
	pkt   uwsgiPacket // its vars reused (cut back past uwsgiScanVars)
	now   time.Time   // when the thread's last wait returned
}

type threadSlot struct {
	app      EngineApp
	pid, gen int
	board    *Scoreboard // nil without one
	thread   int
}

func (b *threadBackend) Acquire(context.Context, *pyworker.Request) (Slot, error) {
	if b.slot.board != nil {
		b.slot.board.waited(0) // no queue: the thread that read the request runs it
	}
	return &b.slot, nil
}

func (b *threadBackend) Release(Slot) {}

// keepBuffer is the largest buffer a thread keeps for its next request: a
// large streamed chunk does not stay allocated for ever.
const keepBuffer = 64 << 10

// keep takes back the buffers of the wire of a request done.
func (b *threadBackend) keep(w *engineHTTPWire) {
	b.envBuf, b.head, b.body = keepable(w.envBuf), keepable(w.head), keepable(w.body)
}

// keepable is p emptied, to be kept for the next request, or nil when it
// grew past keepBuffer.
func keepable(p []byte) []byte {
	if cap(p) > keepBuffer {
		return nil
	}
	return p[:0]
}

func (b *threadBackend) acquiresAtOnce() {}

func (s *threadSlot) Do(_ context.Context, req *pyworker.Request, out pyworker.Responder) error {
	if s.board == nil {
		return s.app.Run(req, out)
	}
	s.board.Begin(s.thread, req.Method, req.Path)
	defer s.board.End(s.thread)
	return s.app.Run(req, out)
}

// fileSender is a wire that sends a file with sendfile(2).
type fileSender interface {
	sendFile(fd int, off, n int64) (int64, error)
}

// SendFile sends n bytes of the file open as fd from off as part of the
// response out (wsgi.file_wrapper): with sendfile(2) where the wire can,
// else read and written. It returns the bytes sent.
func SendFile(out pyworker.Responder, fd int, off, n int64) (int64, error) {
	if a, ok := out.(appResponse); ok {
		w := a.x.w
		if hw, ok := w.(*headerWire); ok {
			w = hw.wire
		}
		if fs, ok := w.(fileSender); ok {
			sent, err := fs.sendFile(fd, off, n)
			a.x.written += sent
			return sent, err
		}
	}
	buf := make([]byte, 64<<10)
	var sent int64
	for sent < n {
		k, err := preadFD(fd, buf[:min(int64(len(buf)), n-sent)], off+sent)
		if k > 0 {
			if werr := out.Write(buf[:k]); werr != nil {
				return sent, werr
			}
			sent += int64(k)
		}
		if err != nil || k == 0 {
			return sent, err
		}
	}
	return sent, nil
}

func (s *threadSlot) Worker() (pid, generation int) { return s.pid, s.gen }
