package master

// This file binds the configured addresses: TCP, unix sockets (a stale
// socket file of a crashed run is replaced, a live one is refused) and the
// sockets a HUP's previous master or systemd passed.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// bindSocket is net.Listen with plain TCP. Since Go 1.24 net.Listen opens
// a Linux TCP listener as MPTCP (IPPROTO_MPTCP) wherever the kernel has it
// (5.6 on). The clients gowsgi serves (nginx, load balancers, browsers)
// speak plain TCP, so each connection went through MPTCP's request socket,
// accept and poll to fall back to TCP (0.7% of the workers' CPU behind
// nginx in perf), and the TCP options gowsgi sets on its listeners depend
// on MPTCP supporting each: TCP_DEFER_ACCEPT (socket-timeout) only since
// 2022 (mptcp_net-next issue 271), so on older kernels gowsgi would refuse
// to start. uWSGI's listeners, and nginx's, are TCP
// (TestListenersArePlainTCP).
func bindSocket(network, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return lc.Listen(context.Background(), network, addr)
}

// listen binds one address, through listenFn when set (it returns an
// inherited socket after a HUP).
func listen(l Listen, listenFn func(network, addr string) (net.Listener, error)) (net.Listener, error) {
	addr := strings.TrimPrefix(l.Addr, "unix:")
	if listenFn == nil {
		listenFn = bindSocket
	}
	if l.network() == "unix" {
		if dir := filepath.Dir(addr); dir != "" {
			if _, err := os.Stat(dir); err != nil {
				return nil, &ListenError{Addr: l.Addr, Flag: l.Flag, Err: err}
			}
		}
		// A socket file left by a crashed run is replaced only when
		// nothing answers on it. (An inherited socket answers: it is ours.)
		if _, err := os.Stat(addr); err == nil && !systemdOwns(addr) {
			if c, err := net.DialTimeout("unix", addr, time.Second); err == nil {
				c.Close()
				if ln, err := listenFn("unix", addr); err == nil {
					return ln, nil // inherited from the previous master
				}
				return nil, &ListenError{Addr: l.Addr, Flag: l.Flag, Err: syscall.EADDRINUSE}
			}
			os.Remove(addr)
		}
	}
	ln, err := listenFn(l.network(), addr)
	if err == nil && l.Backlog > 0 {
		if berr := setBacklog(ln, l.Backlog); berr != nil {
			ln.Close()
			return nil, &ListenError{Addr: l.Addr, Flag: "listen", Err: berr}
		}
	}
	if err == nil && l.network() == "tcp" && l.DeferAccept != 0 {
		if derr := setDeferAccept(ln, l.DeferAccept); derr != nil {
			ln.Close()
			return nil, &ListenError{Addr: l.Addr, Flag: "socket-timeout", Err: derr}
		}
	}
	if err == nil && l.network() == "unix" && l.Mode != 0 && !systemdOwns(addr) {
		if cerr := os.Chmod(addr, l.Mode); cerr != nil {
			ln.Close()
			return nil, &ListenError{Addr: l.Addr, Flag: "chmod-socket", Err: cerr}
		}
	}
	if err != nil {
		for _, target := range []error{syscall.EADDRINUSE, syscall.EACCES, syscall.EADDRNOTAVAIL} {
			if errors.Is(err, target) {
				err = target
			}
		}
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
			var se *os.SyscallError
			if errors.As(err, &se) {
				err = se.Err
			}
		}
		return nil, &ListenError{Addr: l.Addr, Flag: l.Flag, Err: err}
	}
	return ln, nil
}

// URLs lists where the master listens, as a person would open them.
func (m *Master) URLs() []string {
	var out []string
	for _, ln := range m.listeners {
		a := ln.Addr()
		if a.Network() == "unix" {
			out = append(out, "unix:"+a.String())
			continue
		}
		out = append(out, ListenerScheme(ln)+"://"+a.String())
	}
	// uwsgi://ADDR: ADDR is what nginx's uwsgi_pass takes.
	for _, ln := range m.uwsgiListeners {
		a := ln.Addr()
		if a.Network() == "unix" {
			out = append(out, "uwsgi://unix:"+a.String())
			continue
		}
		out = append(out, "uwsgi://"+a.String())
	}
	return out
}

// Listeners are the HTTP listeners, in the order of the configuration.
func (m *Master) Listeners() []net.Listener { return m.listeners }

// PythonVersion is the workers' interpreter version ("3.11.7").
func (m *Master) PythonVersion() string { return m.mgr.PythonVersion() }

// Config is the configuration the master runs (do not change it).
func (m *Master) Config() *Config { return &m.cfg }

// Out is where the master writes its messages (dated with logdate).
func (m *Master) Out() io.Writer { return m.msgs }

// printReady prints where the master listens, as runserver does.
func (m *Master) printReady() {
	if m.cfg.Banner != nil {
		m.cfg.Banner(m)
		return
	}
	st := m.mgr.Status()
	py := st.Python
	if i := strings.IndexByte(py, ' '); i > 0 {
		py = py[:i]
	}
	ready := 0
	for _, w := range st.Workers {
		if w.State == "ready" {
			ready++
		}
	}
	// One write, so a reader never sees half of the block.
	var b strings.Builder
	fmt.Fprintf(&b, "gowsgi %s: %d of %d worker processes ready, %d thread(s) each (python %s, generation %d)\n",
		Version, ready, m.cfg.Workers.Processes, m.cfg.Workers.Threads, py, st.Generation)
	for _, u := range m.URLs() {
		fmt.Fprintf(&b, "gowsgi: listening on %s\n", u)
	}
	b.WriteString("gowsgi: quit with CONTROL-C\n")
	io.WriteString(m.msgs, b.String())
}

// closeListeners stops accepting; unix socket files are removed unless
// another master serves on them (a HUP's new one, or, before this one is
// ready, the previous one), or systemd owns them.
func (m *Master) closeListeners() {
	m.stopStats()
	for _, ln := range append(m.listeners[:len(m.listeners):len(m.listeners)], m.uwsgiListeners...) {
		ln.Close()
		if ln.Addr().Network() == "unix" && !m.handedOver.Load() && !m.inherited.Load() && !systemdOwns(ln.Addr().String()) {
			os.Remove(ln.Addr().String())
		}
	}
}
