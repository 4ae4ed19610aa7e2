package gateway

// This file stops a server, in one order and through one piece of code for
// both wire formats (Server for HTTP, UwsgiServer for the uwsgi protocol):
//
//  1. Stop accepting: the listeners are closed, and no connection starts
//     after this step returns.
//  2. Connections with no request (HTTP keep-alive) get the idle grace to
//     send one more, which is answered with "Connection: close", then are
//     closed; Shutdown gives them none.
//  3. Requests in flight get until the caller's context ends.
//  4. Then the server closes, as Close does at once: requests still waiting
//     for a worker give up, those still in a worker are abandoned
//     (pyworker.Slot.Do closes the worker's connection, and the worker is
//     replaced), every connection is closed, and Close waits at most
//     closeWait for their goroutines to end.
//
// Issue 13: the two servers stopped in different orders, and the uwsgi
// one's Close waited without bound for connections whose request was stuck
// in the app, so a second CONTROL-C could not stop gowsgi.

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// closeWait bounds how long Close waits for the goroutines of the
// connections it closed. Once their requests are abandoned and their
// connections closed they end within microseconds; the bound is for what
// nothing can interrupt (a write to a temporary file on a hung disk).
const closeWait = 500 * time.Millisecond

// stopPoll is how often a stop looks at the connections left when no
// connection ended meanwhile (an idle grace ending, a connection changing
// state unseen).
const stopPoll = 25 * time.Millisecond

// stoppable is what a stop does that depends on the wire format.
type stoppable interface {
	// stopAccepting closes the listeners and returns once no accept loop
	// can start a connection any more.
	stopAccepting()
	// closeIdle closes the connections that have no request in flight,
	// when graceOver (HTTP keep-alive; the uwsgi protocol has none), and
	// returns how many connections are left.
	closeIdle(graceOver bool) int
	// closeConns closes every connection.
	closeConns()
}

// stopper holds the state of a stop shared by both servers. Its zero value
// is ready.
type stopper struct {
	once    sync.Once
	closing context.Context // ends at close: requests in a worker are abandoned
	abandon context.CancelFunc
	ended   chan struct{} // signalled when a connection ends
}

func (st *stopper) init() {
	st.once.Do(func() {
		st.closing, st.abandon = context.WithCancel(context.Background())
		st.ended = make(chan struct{}, 1)
	})
}

// closingContext returns the context that ends when the server closes.
func (st *stopper) closingContext() context.Context {
	st.init()
	return st.closing
}

// connEnded wakes a stop waiting for connections to end.
func (st *stopper) connEnded() {
	st.init()
	select {
	case st.ended <- struct{}{}:
	default:
	}
}

// drain runs the steps above on s; idleGrace is step 2's grace. It returns
// ctx's error when step 3 ran out of time.
func (st *stopper) drain(ctx context.Context, s stoppable, idleGrace time.Duration) error {
	st.init()
	s.stopAccepting()
	graceEnd := time.Now().Add(idleGrace)
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	for s.closeIdle(!time.Now().Before(graceEnd)) > 0 {
		select {
		case <-st.ended:
		case <-tick.C:
		case <-ctx.Done():
			st.close(s)
			return ctx.Err()
		}
	}
	return nil
}

// close is step 4. Its error says how many connections were still open
// after closeWait; their goroutines end on their own later.
func (st *stopper) close(s stoppable) error {
	st.init()
	s.stopAccepting()
	st.abandon()
	s.closeConns()
	deadline := time.NewTimer(closeWait)
	defer deadline.Stop()
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	for {
		left := s.closeIdle(true)
		if left == 0 {
			return nil
		}
		select {
		case <-st.ended:
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("closing the server: %d connection(s) still open after %s", left, closeWait)
		}
	}
}

// closingKey is the context key under which an HTTP request carries its
// server's closing context (see Server's BaseContext).
type closingKey struct{}

// closingFrom returns the closing context ctx carries, nil for none (a
// Handler served by another http.Server).
func closingFrom(ctx context.Context) context.Context {
	c, _ := ctx.Value(closingKey{}).(context.Context)
	return c
}
