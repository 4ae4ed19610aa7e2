package master

// This file drops root privileges the way uWSGI's uid/gid do: after the
// listeners are bound (so ports below 1024 work) and before any app code
// runs (the workers are started after the drop and inherit it).

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Identity is a resolved uid/gid pair; -1 leaves that id unchanged.
type Identity struct {
	uid, gid   int
	user, grp  string // as configured, for messages
	configured bool
	chown      []socketOwner // chown-socket: unix sockets to give away first (chown.go)
}

// ResolveIdentity turns uid/gid values (names or numbers) into ids.
func ResolveIdentity(uidName, gidName string) (Identity, error) {
	id := Identity{uid: -1, gid: -1, user: uidName, grp: gidName}
	if uidName == "" && gidName == "" {
		return id, nil
	}
	id.configured = true
	if uidName != "" {
		if n, err := strconv.Atoi(uidName); err == nil {
			id.uid = n
		} else {
			u, err := user.Lookup(uidName)
			if err != nil {
				return id, &ConfigError{Msg: fmt.Sprintf("uid %s: no such user", uidName), Hint: "name an existing user (see /etc/passwd) or a number."}
			}
			id.uid, _ = strconv.Atoi(u.Uid)
			if gidName == "" {
				id.gid, _ = strconv.Atoi(u.Gid)
			}
		}
	}
	if gidName != "" {
		if n, err := strconv.Atoi(gidName); err == nil {
			id.gid = n
		} else {
			g, err := user.LookupGroup(gidName)
			if err != nil {
				return id, &ConfigError{Msg: fmt.Sprintf("gid %s: no such group", gidName), Hint: "name an existing group (see /etc/group) or a number."}
			}
			id.gid, _ = strconv.Atoi(g.Gid)
		}
	}
	return id, nil
}

// drop switches the whole process (every thread, since Go 1.16) to id.
// It returns the cache directory the Python runtime is to be extracted to
// then: one of the new user's, since root's is not readable by it ("" when
// nothing was dropped: pyworker's default).
func (id Identity) drop() (cacheDir string, err error) {
	if !id.configured {
		return "", nil
	}
	if err := id.chownSockets(); err != nil {
		return "", err
	}
	if id.uid < 0 && id.gid < 0 {
		return "", nil // chown-socket alone: nothing to drop
	}
	cacheDir = os.Getenv("GOWSGI_CACHE_DIR")
	if cacheDir == "" {
		uid := id.uid
		if uid < 0 {
			uid = os.Getuid()
		}
		cacheDir = filepath.Join(os.TempDir(), fmt.Sprintf("gowsgi-cache-%d", uid))
	}
	if id.gid >= 0 && os.Getgid() != id.gid {
		if err := syscall.Setgroups([]int{id.gid}); err != nil {
			return "", fmt.Errorf("dropping privileges: setgroups(%d): %w", id.gid, err)
		}
		if err := syscall.Setgid(id.gid); err != nil {
			return "", fmt.Errorf("dropping privileges: setgid(%s): %w", id.grp, err)
		}
	}
	if id.uid >= 0 && os.Getuid() != id.uid {
		if err := syscall.Setuid(id.uid); err != nil {
			return "", fmt.Errorf("dropping privileges: setuid(%s): %w", id.user, err)
		}
	}
	return cacheDir, checkCacheDir(cacheDir)
}

// checkCacheDir refuses a shared-temp cache directory that someone else
// created: whoever owns it decides what code the workers run.
func checkCacheDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the runtime cache %s: %w", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok || int(sys.Uid) != os.Getuid() || st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("the runtime cache %s is not a directory owned by uid %d and writable only by it; remove it, or set GOWSGI_CACHE_DIR", dir, os.Getuid())
	}
	return nil
}
