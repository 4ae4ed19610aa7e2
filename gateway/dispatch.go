package gateway

// This file runs a request on a worker for both listeners (HTTP and the
// uwsgi protocol): wait for a slot, run the request, retry what no worker
// received, and turn the outcome into the status each listener answers.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// defaultQueueTimeout is how long a ready request waits for a worker
// thread when QueueTimeout is not set.
const defaultQueueTimeout = 60 * time.Second

// dispatch is one request on its way to a worker.
type dispatch struct {
	backend Backend
	req     *pyworker.Request
	queue   time.Duration // how long to wait for a slot; 0: defaultQueueTimeout
	// x is the request's exchange: its responder gets the response, its
	// wire watches the client while the request waits for the first slot
	// (watchPeer), and it notes each slot's worker before the request runs
	// there (the access log names it).
	x *exchange
}

// errAcquire wraps Acquire's error: the request never reached a worker.
type errAcquire struct {
	err     error
	timeout time.Duration
}

func (e *errAcquire) Error() string { return e.err.Error() }
func (e *errAcquire) Unwrap() error { return e.err }

// instantBackend is a Backend whose Acquire never waits and whose slots
// never refuse a request (ErrNotDelivered): the engine's thread, which is
// the one asking.
type instantBackend interface {
	Backend
	acquiresAtOnce()
}

// run acquires a slot, runs the request and releases the slot; a request
// no worker received (the worker died while its slot was idle, or before
// it got to a GET queued behind another request) goes to another worker,
// three more times at most. Its error is Do's, or an *errAcquire.
func (d *dispatch) run(ctx context.Context) error {
	qt := d.queue
	if qt == 0 {
		qt = defaultQueueTimeout
	}
	if _, ok := d.backend.(instantBackend); ok {
		// Nothing to wait for, so no deadline: a context.WithTimeout is a
		// runtime timer, and arming one wakes another Go thread to watch
		// it (a futex wake-up and two context switches per request, on
		// the engine's hot path).
		slot, err := d.backend.Acquire(ctx, d.req)
		if err != nil {
			return &errAcquire{err: err, timeout: qt}
		}
		d.x.pid, d.x.gen = slot.Worker()
		err = slot.Do(d.runContext(), d.req, appResponse{d.x})
		d.backend.Release(slot)
		return err
	}
	var err error
	for try := 0; try < 4; try++ {
		actx, cancel := context.WithTimeout(ctx, qt)
		var stop func()
		if try == 0 {
			stop = d.x.w.watchPeer(cancel)
		}
		slot, aerr := d.backend.Acquire(actx, d.req)
		if stop != nil {
			stop()
		}
		cancel()
		if aerr != nil {
			// Also on a retry: the request ran nowhere, so what counts is
			// why no slot came (shutting down, client gone, queue full).
			return &errAcquire{err: aerr, timeout: qt}
		}
		d.x.pid, d.x.gen = slot.Worker()
		err = slot.Do(d.runContext(), d.req, appResponse{d.x})
		d.backend.Release(slot)
		if !errors.Is(err, pyworker.ErrNotDelivered) {
			return err
		}
	}
	return err
}

// runContext is the context the request runs in its worker with: the
// exchange's abandon, which ends when the server closes, and then gives up
// a request still in its worker (pyworker.Slot.Do) at the cost of the
// worker. It is not the request's context, which also ends when the client
// goes away: that costs no worker (the app's next write fails and the
// worker stops the request).
func (d *dispatch) runContext() context.Context {
	if d.x.abandon == nil {
		return context.Background()
	}
	return d.x.abandon
}

// verdict is what a listener does with run's error.
type verdict struct {
	// status to answer through the listener's fail; 0 means the response
	// is under way (its own status stands) and err tells how it ended.
	status int
	// failErr goes to fail with the status (logged there for 5xx).
	failErr error
	// log is a line to log first, "" for none.
	log string
}

// judge maps run's error for the request "method path" to a verdict.
// clientGone says the client went away (ctx ended): a request that never
// got a worker is then a 499.
func judge(method, path string, err error, clientGone bool) verdict {
	var acq *errAcquire
	var appErr *pyworker.AppError
	var badResp *pyworker.BadResponseError
	switch {
	case errors.As(err, &acq):
		switch {
		case clientGone:
			return verdict{status: 499} // the client gave up while queued
		case errors.Is(err, pyworker.ErrStopping):
			return verdict{status: http.StatusServiceUnavailable, failErr: errors.New("gowsgi is shutting down")}
		}
		return verdict{status: http.StatusServiceUnavailable, failErr: fmt.Errorf("no worker free after %s", acq.timeout)}
	case errors.As(err, &appErr):
		return verdict{status: http.StatusInternalServerError, log: fmt.Sprintf("%s %s: %s", method, path, strings.TrimRight(appErr.Traceback, "\n"))}
	case errors.As(err, &badResp):
		return verdict{status: http.StatusInternalServerError, log: fmt.Sprintf("%s %s: %v", method, path, badResp)}
	case errors.Is(err, pyworker.ErrAbandoned):
		// The server is closing: its connection is closed too, so the
		// answer most likely reaches nobody.
		return verdict{status: http.StatusServiceUnavailable, failErr: fmt.Errorf("%s %s: %w (gowsgi is stopping)", method, path, err)}
	case errors.Is(err, pyworker.ErrHarakiri):
		return verdict{status: http.StatusGatewayTimeout, failErr: fmt.Errorf("%s %s: %w", method, path, err)}
	case errors.Is(err, pyworker.ErrWorkerDied):
		return verdict{status: http.StatusBadGateway, log: fmt.Sprintf("%s %s: %v", method, path, err)}
	case errors.Is(err, pyworker.ErrClientGone):
		return verdict{status: 499}
	case errors.Is(err, pyworker.ErrResponseBroken):
		return verdict{log: fmt.Sprintf("%s %s: the response broke after its headers were sent (traceback above)", method, path)}
	}
	return verdict{status: http.StatusBadGateway, log: fmt.Sprintf("%s %s: %v", method, path, err)}
}
