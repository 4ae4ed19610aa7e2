package pyworker

// This file is the control connection of a worker or a zygote, from the
// master's side. Its reader (controlLoop) turns frames into events for the
// owner loop. Its writer (control.writeLoop) is the only goroutine that
// writes to it: the owner loop queues frames (Stop, Fork, Notify, Dump) and
// never writes to a socket itself. It used to (bug 8), without a deadline:
// a worker stopped with SIGSTOP, its socket buffer full, blocked the owner
// loop, and through it every request waiting for a slot.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

const (
	// controlQueue is how many frames may wait for a control connection.
	// The supervisor sends a handful over a process's life (Fork per
	// worker, Stop, a Notify per save in dev); a full queue means the
	// process does not read.
	controlQueue = 64
	// controlWriteTimeout: a process that takes no byte of a frame for
	// this long is stopped or hung. Its control connection is closed,
	// which makes it exit when it runs again (EOF means the master is gone).
	controlWriteTimeout = 5 * time.Second
)

// control is the master's end of a control connection.
type control struct {
	conn    net.Conn
	name    string // the process, for the log line of a failed write
	logf    func(format string, a ...any)
	timeout time.Duration // per frame (controlWriteTimeout)
	out     chan []byte
	closed  chan struct{}
	once    sync.Once
}

func newControl(c net.Conn, name string, logf func(string, ...any), timeout time.Duration) *control {
	ctl := &control{conn: c, name: name, logf: logf, timeout: timeout,
		out: make(chan []byte, controlQueue), closed: make(chan struct{})}
	go ctl.writeLoop()
	return ctl
}

// send queues a frame without waiting. It reports false when the frame
// will not be sent: the connection is closed, or its queue is full.
func (c *control) send(t FrameType, payload []byte) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	select {
	case c.out <- AppendFrame(nil, t, 0, 0, payload):
		return true
	default:
		return false
	}
}

// close closes the connection; queued frames are dropped.
func (c *control) close() {
	c.once.Do(func() {
		close(c.closed)
		c.conn.Close()
	})
}

// writeLoop is the goroutine that writes the queued frames.
func (c *control) writeLoop() {
	for {
		select {
		case <-c.closed:
			return
		case b := <-c.out:
			c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
			if _, err := c.conn.Write(b); err != nil {
				// Only a timeout is news: any other error means the
				// process is gone, and its exit says how.
				if errors.Is(err, os.ErrDeadlineExceeded) {
					c.logf("writing to the control connection of %s: %v; closing it", c.name, err)
				}
				c.close()
				return
			}
		}
	}
}

func (m *Manager) onHello(ev helloEvent) {
	w := m.pending[ev.h.Token]
	if w == nil {
		m.logf("connection from pid %d with an unknown token refused", ev.h.Pid)
		ev.conn.Close()
		return
	}
	switch ev.h.Role {
	case "control", "zygote":
		// The pid is set before the reader starts, and never again
		// (see onForked).
		if w.pid == 0 {
			w.pid = ev.h.Pid
		}
		w.ctrl = newControl(ev.conn, w.String(), m.logf, controlWriteTimeout)
		go m.controlLoop(w, w.ctrl, ev.r)
	case "thread":
		s := newSlot(w, ev.h.Thread, ev.conn, ev.r)
		w.slots = append(w.slots, s)
		m.maybeReady(w)
	default:
		m.logf("connection with unknown role %q refused", ev.h.Role)
		ev.conn.Close()
	}
}

func (m *Manager) onReady(w *worker, info readyInfo) {
	if info.GoRuntime != "" && m.opts.Engine != nil {
		m.onGoRuntime(w, &GoRuntimeError{Module: info.GoRuntime})
		return
	}
	if w.isZygote {
		m.onZygoteReady(w, info)
		return
	}
	w.ready = true
	if info.Python != "" {
		m.pythonVersion = info.Python
	}
	if info.Files != nil {
		m.files.Store(&info.Files)
	}
	m.maybeReady(w)
}

// Notify tells every live worker that files changed (templates, static
// files): the runtime passes them to Django's autoreload file_changed
// signal, which resets the template loaders' caches.
func (m *Manager) Notify(paths []string) {
	m.send(notifyEvent{paths: paths})
}

func (m *Manager) notify(paths []string) {
	payload, _ := json.Marshal(map[string][]string{"changed": paths})
	for _, g := range m.gens {
		for _, w := range g.workers {
			if w.state == stateReady && w.ctrl != nil && !w.ctrl.send(TypeNotify, payload) {
				m.logf("%s is not reading its control connection; it was not told of the changed files", w)
			}
		}
	}
}

// controlLoop reads the control connection of a worker or of the zygote.
func (m *Manager) controlLoop(w *worker, ctl *control, r *bufio.Reader) {
	for {
		f, err := ReadFrame(r, nil)
		if err != nil {
			m.send(controlClosedEvent{w: w})
			return
		}
		switch f.Type {
		case TypeLog:
			w.log(f.Payload)
			continue
		case TypeRetire:
			// The engine counts requests in the worker (max-requests); it
			// has stopped accepting and is finishing what it holds.
			m.send(retireEvent{w: w, why: retireMaxRequests})
			continue
		case TypeStack:
			var st struct {
				Thread int    `json:"thread"`
				Stack  string `json:"stack"`
			}
			if err := json.Unmarshal(f.Payload, &st); err != nil {
				m.logf("%s: decoding its Stack frame: %v", w, err)
				continue
			}
			m.logf("%s thread %d stack:\n%s", w, st.Thread, st.Stack)
			continue
		}
		ev, err := decodeControl(w, f)
		if err != nil {
			// The two sides disagree on the protocol (a runtime from
			// another gowsgi version?). Closing the connection makes the
			// process exit (EOF means the master is gone); it is then
			// replaced like any process that crashed.
			m.logf("%s: %v; closing its control connection", w, err)
			ctl.close()
			m.send(controlClosedEvent{w: w})
			return
		}
		if ev != nil {
			m.send(ev)
		}
	}
}

// decodeControl turns a control frame from w into the event it means: nil
// for a frame to ignore (logged), an error for one that does not decode.
// The supervisor would act on a half-decoded Ready, Forked or Exited, so
// those are errors; they used to be dropped.
func decodeControl(w *worker, f Frame) (event, error) {
	switch f.Type {
	case TypeReady:
		var info readyInfo
		if err := json.Unmarshal(f.Payload, &info); err != nil {
			return nil, fmt.Errorf("decoding its Ready frame: %w", err)
		}
		return readyEvent{w: w, info: info}, nil
	case TypeBootError:
		be := &BootError{}
		if err := json.Unmarshal(f.Payload, be); err != nil {
			// Still an import failure: keep what it said.
			be = &BootError{Type: "Error", Message: string(f.Payload)}
		}
		return bootErrorEvent{w: w, err: be}, nil
	case TypeForked:
		var fk struct {
			Worker int    `json:"worker"`
			Pid    *int   `json:"pid"`
			Error  string `json:"error"`
		}
		if err := json.Unmarshal(f.Payload, &fk); err != nil {
			return nil, fmt.Errorf("decoding its Forked frame: %w", err)
		}
		if fk.Pid == nil || *fk.Pid <= 0 {
			if fk.Error == "" {
				fk.Error = "no pid and no error in its Forked frame"
			}
			return forkFailedEvent{z: w, worker: fk.Worker, err: fk.Error}, nil
		}
		return forkedEvent{z: w, worker: fk.Worker, pid: *fk.Pid}, nil
	case TypeExited:
		var ex struct {
			Pid    int  `json:"pid"`
			Code   *int `json:"code"`
			Signal *int `json:"signal"`
		}
		if err := json.Unmarshal(f.Payload, &ex); err != nil {
			return nil, fmt.Errorf("decoding its Exited frame: %w", err)
		}
		e := Exit{}
		if ex.Signal != nil && *ex.Signal != 0 {
			e.Signal = syscall.Signal(*ex.Signal)
		} else if ex.Code != nil {
			e.Code = *ex.Code
		}
		return childExitEvent{pid: ex.Pid, exit: e}, nil
	}
	w.m.logf("%s: unexpected %s frame on the control connection", w, f.Type)
	return nil, nil
}
