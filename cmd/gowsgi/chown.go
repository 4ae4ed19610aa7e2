package main

// This file is uWSGI's chown-socket = user[:group]: the unix sockets are
// given to that owner after they are bound and before privileges are
// dropped (which needs root, or the owner's own uid).

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// socketOwner is one unix socket and its new owner; -1 keeps an id.
type socketOwner struct {
	path     string
	uid, gid int
}

// resolveOwner reads "user[:group]", names or numbers; a user alone keeps
// the socket's group, as uWSGI does.
func resolveOwner(spec string) (uid, gid int, err error) {
	u, g, _ := strings.Cut(spec, ":")
	uid, gid = -1, -1
	if u != "" {
		if uid, err = strconv.Atoi(u); err != nil {
			pw, lerr := user.Lookup(u)
			if lerr != nil {
				return 0, 0, &usageError{msg: fmt.Sprintf("chown-socket %s: no such user %s", spec, u), hint: "name an existing user (see /etc/passwd) or a number."}
			}
			uid, _ = strconv.Atoi(pw.Uid)
		}
	}
	if g != "" {
		if gid, err = strconv.Atoi(g); err != nil {
			gr, lerr := user.LookupGroup(g)
			if lerr != nil {
				return 0, 0, &usageError{msg: fmt.Sprintf("chown-socket %s: no such group %s", spec, g), hint: "name an existing group (see /etc/group) or a number."}
			}
			gid, _ = strconv.Atoi(gr.Gid)
		}
	}
	return uid, gid, nil
}

// chownSockets gives each socket to its owner. A socket systemd passed is
// left alone: its unit's SocketUser= decides.
func (id identity) chownSockets() error {
	for _, s := range id.chown {
		if systemdOwns(s.path) {
			continue
		}
		if err := os.Lchown(s.path, s.uid, s.gid); err != nil {
			return fmt.Errorf("chown-socket %s: %w", s.path, err)
		}
	}
	return nil
}
