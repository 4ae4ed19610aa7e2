package master

// This file is uWSGI's chown-socket = user[:group]: the unix sockets are
// given to that owner after they are bound and before privileges are
// dropped (which needs root, or the owner's own uid).

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// socketOwner is one unix socket and its new owner; -1 keeps an id.
type socketOwner struct {
	path     string
	uid, gid int
}

// ResolveOwner reads "user[:group]", names or numbers; a user alone keeps
// the socket's group, as uWSGI does.
func ResolveOwner(spec string) (uid, gid int, err error) {
	u, g, _ := strings.Cut(spec, ":")
	uid, gid = -1, -1
	if u != "" {
		if uid, err = strconv.Atoi(u); err != nil {
			pw, lerr := user.Lookup(u)
			if lerr != nil {
				return 0, 0, &ConfigError{Msg: fmt.Sprintf("chown-socket %s: no such user %s", spec, u), Hint: "name an existing user (see /etc/passwd) or a number."}
			}
			uid, _ = strconv.Atoi(pw.Uid)
		}
	}
	if g != "" {
		if gid, err = strconv.Atoi(g); err != nil {
			gr, lerr := user.LookupGroup(g)
			if lerr != nil {
				return 0, 0, &ConfigError{Msg: fmt.Sprintf("chown-socket %s: no such group %s", spec, g), Hint: "name an existing group (see /etc/group) or a number."}
			}
			gid, _ = strconv.Atoi(gr.Gid)
		}
	}
	return uid, gid, nil
}

// chownSockets gives each socket to its owner. A socket systemd passed is
// left alone: its unit's SocketUser= decides.
func (id Identity) chownSockets() error {
	for _, s := range id.chown {
		if systemdOwns(s.path) || ownedBy(s.path, s.uid, s.gid) {
			// systemd's unit decides; or the socket was inherited from
			// the previous master, which gave it away already (this one,
			// running as the dropped user, could not chown it again).
			continue
		}
		if err := os.Lchown(s.path, s.uid, s.gid); err != nil {
			return fmt.Errorf("chown-socket %s: %w", s.path, err)
		}
	}
	return nil
}

// ChownSockets gives the unix sockets among listens to uid and gid (-1
// keeps one) after they are bound, before privileges are dropped.
func (id *Identity) ChownSockets(listens []Listen, uid, gid int) {
	for _, l := range listens {
		if l.network() == "unix" {
			id.chown = append(id.chown, socketOwner{path: strings.TrimPrefix(l.Addr, "unix:"), uid: uid, gid: gid})
			id.configured = true
		}
	}
}

// ownedBy reports whether path already has the owner uid and group gid
// (-1 matches any).
func ownedBy(path string, uid, gid int) bool {
	fi, err := os.Lstat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && (uid < 0 || int(st.Uid) == uid) && (gid < 0 || int(st.Gid) == gid)
}
