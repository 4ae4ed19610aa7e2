package master

// This file is gowsgi from systemd's perspective: socket activation (the
// listeners arrive as fds 3, 4, ... with LISTEN_PID, LISTEN_FDS and
// LISTEN_FDNAMES) and Type=notify (READY=1, RELOADING=1, STOPPING=1,
// MAINPID= and STATUS= sent as datagrams to $NOTIFY_SOCKET). Neither needs
// libsystemd: both protocols are a few environment variables and a socket.
//
// Socket activation composes with the zero-downtime restarts: the first
// master takes the inherited sockets instead of binding, and hands them to
// tableflip as if it had bound them, so a HUP passes them on as usual.

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// listenFdsStart is the first fd systemd passes (SD_LISTEN_FDS_START).
const listenFdsStart = 3

// systemdSocketsEnv lists, one a line, the unix socket paths that systemd
// owns: gowsgi neither chmods nor removes them (the .socket unit's
// SocketMode= and its own cleanup do). It outlives the LISTEN_* variables
// so the masters that follow a HUP know it too.
const systemdSocketsEnv = "GOWSGI_SYSTEMD_SOCKETS"

// inheritedFd is one socket systemd passed.
type inheritedFd struct {
	fd   int
	name string // from LISTEN_FDNAMES, "" when not given
	ln   net.Listener
}

func (f inheritedFd) String() string {
	return fmt.Sprintf("inherited fd %d (%s)", f.fd, f.ln.Addr())
}

// activation is the sockets systemd passed, each matched to the listener
// of the configuration it serves. A nil *activation binds as usual.
type activation struct {
	byKey map[string]net.Listener // network + " " + addr as listen passes it
}

// socketActivation takes the sockets systemd passed, when LISTEN_PID is
// this process, and matches every one of them to a configured listener:
//
//  1. An fd whose name (LISTEN_FDNAMES, the .socket unit's
//     FileDescriptorName=) is a listener's address as written, or its key
//     ("http" for http and http-socket, "socket", "https"), serves that
//     listener; a key shared by several listeners goes to the one whose
//     address the fd has, else to the first one not yet taken.
//  2. Every other fd serves the listener whose address is the fd's local
//     address: the same port and IP (":8000", "0.0.0.0:8000" and
//     "[::]:8000" all mean every interface; a host name matches any of
//     its addresses), or the same unix socket path. A listener on port 0
//     can only be matched by name.
//
// An fd that matches no listener, or a listener that no fd matches, is an
// error: serving on a socket nobody configured, or binding one behind
// systemd's back, is never what was meant. The LISTEN_* variables are
// removed either way, so neither workers nor later masters see them.
func socketActivation(specs []Listen) (*activation, error) {
	pidStr, nStr, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if pid, err := strconv.Atoi(pidStr); err != nil || pid != os.Getpid() {
		return nil, nil // not for us (or not set at all)
	}
	n, err := strconv.Atoi(nStr)
	if err != nil || n <= 0 {
		return nil, nil
	}
	var nameList []string
	if names != "" {
		nameList = strings.Split(names, ":")
		if len(nameList) != n {
			return nil, &ConfigError{
				Msg:  fmt.Sprintf("systemd passed %d sockets (LISTEN_FDS) but %d names (LISTEN_FDNAMES=%s)", n, len(nameList), names),
				Hint: "this is a bug in what started gowsgi; systemd always passes one name per socket.",
			}
		}
	}
	fds := make([]inheritedFd, 0, n)
	closeAll := func() {
		for _, f := range fds {
			f.ln.Close()
		}
	}
	for i := 0; i < n; i++ {
		fd := listenFdsStart + i
		f := os.NewFile(uintptr(fd), "systemd-socket-"+strconv.Itoa(fd))
		// FileListener dups the fd with close-on-exec; closing the
		// original keeps the socket out of the Python workers.
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			closeAll()
			return nil, &ConfigError{
				Msg:  fmt.Sprintf("inherited fd %d is not a listening stream socket: %v", fd, err),
				Hint: "gowsgi takes ListenStream= sockets only; check the .socket unit.",
			}
		}
		var name string
		if nameList != nil {
			name = nameList[i]
		}
		fds = append(fds, inheritedFd{fd: fd, name: name, ln: ln})
	}
	match, err := matchInherited(fds, specs)
	if err != nil {
		closeAll()
		return nil, err
	}
	a := &activation{byKey: map[string]net.Listener{}}
	var owned []string
	for i, f := range fds {
		l := specs[match[i]]
		a.byKey[l.network()+" "+strings.TrimPrefix(l.Addr, "unix:")] = f.ln
		if f.ln.Addr().Network() == "unix" {
			owned = append(owned, f.ln.Addr().String())
		}
	}
	if len(owned) > 0 {
		os.Setenv(systemdSocketsEnv, strings.Join(owned, "\n"))
	}
	return a, nil
}

// listenerKey is the name a listener answers to in LISTEN_FDNAMES.
func listenerKey(l Listen) string { return strings.TrimPrefix(l.Flag, "--") }

// matchInherited pairs each inherited fd with a listener (see
// socketActivation for the rule): match[i] is the index in specs of fds[i]'s
// listener.
func matchInherited(fds []inheritedFd, specs []Listen) ([]int, error) {
	match := make([]int, len(fds))
	taken := make([]bool, len(specs))
	for i := range match {
		match[i] = -1
	}
	take := func(i, j int) { match[i], taken[j] = j, true }
	// By name first, so an fd matched by address cannot take a listener
	// that another fd names.
	for i, f := range fds {
		if f.name == "" {
			continue
		}
		first, byAddr := -1, -1
		for j, l := range specs {
			if taken[j] {
				continue
			}
			if f.name == l.Addr || f.name == strings.TrimPrefix(l.Addr, "unix:") {
				byAddr, first = j, j
				break
			}
			if f.name == listenerKey(l) {
				if first < 0 {
					first = j
				}
				if byAddr < 0 && addrMatches(f.ln.Addr(), l) {
					byAddr = j
				}
			}
		}
		switch {
		case byAddr >= 0:
			take(i, byAddr)
		case first >= 0:
			take(i, first)
		}
	}
	for i, f := range fds {
		if match[i] >= 0 {
			continue
		}
		for j, l := range specs {
			if !taken[j] && addrMatches(f.ln.Addr(), l) {
				take(i, j)
				break
			}
		}
		if match[i] < 0 {
			return nil, &ConfigError{
				Msg: fmt.Sprintf("%s matches no listener in the configuration", f),
				Hint: fmt.Sprintf("add a listener for %s to the configuration (http = ADDR, socket = ADDR or https = ADDR,CERT,KEY), "+
					"remove it from the .socket unit, or name it with FileDescriptorName=http|socket|https.", f.ln.Addr()),
			}
		}
	}
	for j, l := range specs {
		if !taken[j] {
			var have []string
			for _, f := range fds {
				have = append(have, f.String())
			}
			return nil, &ConfigError{
				Msg: fmt.Sprintf("%s %s has no socket from systemd (it passed %s)", l.Flag, l.Addr, strings.Join(have, ", ")),
				Hint: fmt.Sprintf("add ListenStream=%s to the .socket unit (for port 0 or a name gowsgi cannot match, "+
					"FileDescriptorName=%s), or remove the listener from the configuration.", strings.TrimPrefix(l.Addr, "unix:"), listenerKey(l)),
			}
		}
	}
	return match, nil
}

// addrMatches reports whether a socket bound to got is what l asks for.
func addrMatches(got net.Addr, l Listen) bool {
	if l.network() == "unix" {
		if got.Network() != "unix" {
			return false
		}
		want := strings.TrimPrefix(l.Addr, "unix:")
		if strings.HasPrefix(want, "@") {
			return want == got.String()
		}
		abs, err := filepath.Abs(want)
		return err == nil && abs == filepath.Clean(got.String())
	}
	tcp, ok := got.(*net.TCPAddr)
	if !ok {
		return false
	}
	host, portStr, err := net.SplitHostPort(l.Addr)
	if err != nil {
		return false
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port == 0 || port != tcp.Port {
		return false
	}
	if host == "" {
		return tcp.IP.IsUnspecified()
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.Equal(tcp.IP) || (ip.IsUnspecified() && tcp.IP.IsUnspecified())
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if ip.Equal(tcp.IP) {
			return true
		}
	}
	return false
}

// bind is the listen function under tableflip: a socket systemd passed for
// this address, else a new one. A nil activation always binds.
func (a *activation) bind(network, addr string) (net.Listener, error) {
	if a != nil {
		if ln, ok := a.byKey[network+" "+addr]; ok {
			delete(a.byKey, network+" "+addr)
			return ln, nil
		}
	}
	return bindSocket(network, addr)
}

// systemdOwns reports whether the unix socket at path came from systemd
// (see systemdSocketsEnv).
func systemdOwns(path string) bool {
	env := os.Getenv(systemdSocketsEnv)
	if env == "" {
		return false
	}
	if !strings.HasPrefix(path, "@") {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
	}
	for _, p := range strings.Split(env, "\n") {
		if p != "" && p == path {
			return true
		}
	}
	return false
}

// tableflipNetwork is the network a listener is filed under in tableflip.
// tableflip unlinks the unix sockets it knows when the last master stops;
// systemd's socket must stay, so it is filed under another name.
func tableflipNetwork(network, addr string) string {
	if network == "unix" && systemdOwns(addr) {
		return "systemd+unix"
	}
	return network
}

// notifier sends sd_notify(3) messages to $NOTIFY_SOCKET. A nil notifier
// (gowsgi not started by systemd with Type=notify) sends nothing.
type notifier struct {
	addr *net.UnixAddr
}

// systemdNotify is this process's notifier. NOTIFY_SOCKET stays in the
// environment: the master that follows a HUP must tell systemd it is the
// main process now.
var systemdNotify = sync.OnceValue(func() *notifier { return newNotifier(os.Getenv("NOTIFY_SOCKET")) })

// newNotifier returns a notifier for socket: a path, or "@name" for an
// abstract socket (Go's net package maps the "@" to the leading NUL).
func newNotifier(socket string) *notifier {
	if socket == "" || !(strings.HasPrefix(socket, "/") || strings.HasPrefix(socket, "@")) {
		return nil // vsock: and the like are not supported
	}
	return &notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}
}

// send writes one datagram of newline-separated VAR=value lines.
func (n *notifier) send(lines ...string) error {
	if n == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("notifying systemd at %s: %w", n.addr.Name, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("notifying systemd at %s: %w", n.addr.Name, err)
	}
	return nil
}

// notify sends lines to systemd and logs (does not return) a failure:
// systemd's bookkeeping must never stop the server.
func (m *Master) notify(lines ...string) {
	if err := systemdNotify().send(lines...); err != nil {
		m.logf("%v", err)
	}
}

// workersStatus is the STATUS= line: "STATUS=2 workers ready, generation 1".
func (m *Master) workersStatus() string {
	st := m.mgr.Status()
	ready := 0
	for _, w := range st.Workers {
		if w.State == "ready" {
			ready++
		}
	}
	return fmt.Sprintf("STATUS=%d workers ready, generation %d", ready, st.Generation)
}

// notifyReady tells systemd the master serves. After a HUP the new master
// also says it is the main process now (systemd accepts that from a
// process other than the old main one only with NotifyAccess=all).
func (m *Master) notifyReady(handover bool) {
	if handover {
		m.notify("MAINPID="+strconv.Itoa(os.Getpid()), "READY=1", m.workersStatus())
		return
	}
	m.notify("READY=1", m.workersStatus())
}

// notifyReloading tells systemd a HUP restart started; READY=1 follows from
// the new master, or from this one if the restart fails.
func (m *Master) notifyReloading() {
	m.notify("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(monotonicUsec(), 10),
		fmt.Sprintf("STATUS=reloading: starting a new master; pid %d serves meanwhile", os.Getpid()))
}

// notifyRestartFailed tells systemd the restart is over and this master
// still serves.
func (m *Master) notifyRestartFailed(err error) {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	m.notify("READY=1", m.workersStatus()+"; restart failed: "+msg)
}

// notifyStopping tells systemd the master is shutting down.
func (m *Master) notifyStopping() {
	m.notify("STOPPING=1", "STATUS=stopping: finishing in-flight requests")
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, which systemd wants
// with RELOADING=1 (Type=notify-reload).
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}
