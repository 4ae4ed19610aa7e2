package reload

// This file turns the kernel's inotify limits into errors a person can act
// on: which limit, its current value, and (Hint) the command that raises it.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/fsnotify/fsnotify"
)

var (
	// ErrWatchLimit means inotify_add_watch failed with ENOSPC: the user
	// already holds fs.inotify.max_user_watches watches (one per watched
	// directory, summed over every program the user runs).
	ErrWatchLimit = errors.New("inotify watch limit reached")

	// ErrInstanceLimit means inotify_init failed with EMFILE: the user
	// already holds fs.inotify.max_user_instances inotify instances (or,
	// less often, the process is out of file descriptors).
	ErrInstanceLimit = errors.New("inotify instance limit reached")

	// ErrOverflow means the kernel's event queue overflowed and events were
	// lost; the Watcher has rescanned the tree and sent a KindCode batch.
	ErrOverflow = errors.New("inotify event queue overflowed")

	// ErrRootRemoved means the project directory itself was removed or
	// moved away; nothing is watched any more.
	ErrRootRemoved = errors.New("project directory was removed or moved away")

	// ErrClosed is returned by WatchFiles after Close.
	ErrClosed = errors.New("reload: watcher closed")
)

// limitError is one of the limit sentinels with the sysctl that sets it and
// the system error it stands for; errors.Is matches both.
type limitError struct {
	sentinel error
	sysctl   string // e.g. "fs.inotify.max_user_watches"
	cause    error
}

func (e *limitError) Error() string {
	if v := sysctlValue(e.sysctl); v != "" {
		return fmt.Sprintf("%v (%s = %s)", e.sentinel, e.sysctl, v)
	}
	return fmt.Sprintf("%v (see %s)", e.sentinel, e.sysctl)
}

func (e *limitError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// sysctlValue reads an inotify sysctl from /proc, or "" if it cannot.
func sysctlValue(name string) string {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// watchError describes a failure to watch dir, naming the limit when the
// kernel ran out of watches.
func watchError(dir string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		err = &limitError{ErrWatchLimit, "fs.inotify.max_user_watches", err}
	}
	return fmt.Errorf("watching %s: %w", dir, err)
}

// initError describes a failure to create the inotify instance.
func initError(err error) error {
	if errors.Is(err, syscall.EMFILE) {
		err = &limitError{ErrInstanceLimit, "fs.inotify.max_user_instances", err}
	}
	return fmt.Errorf("creating inotify instance: %w", err)
}

// eventError describes an error from fsnotify's Errors channel.
func eventError(root string, err error) error {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		err = &limitError{ErrOverflow, "fs.inotify.max_queued_events", err}
	}
	return fmt.Errorf("watching %s: %w", root, err)
}

// isLimit reports whether err means no further watch can succeed, so there
// is no point walking on.
func isLimit(err error) bool {
	return errors.Is(err, ErrWatchLimit) || errors.Is(err, ErrInstanceLimit)
}

// Hint returns the next action for an error from this package, or "" when
// there is nothing more to say than the error itself. A caller prints it
// under the error:
//
//	gowsgi: watching /home/me/mysite/frontend: inotify watch limit reached (fs.inotify.max_user_watches = 8192)
//	hint: raise it with: sudo sysctl fs.inotify.max_user_watches=524288 (add it to /etc/sysctl.d/ to keep it), or exclude big directories with --exclude
func Hint(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrWatchLimit):
		return "raise it with: sudo sysctl fs.inotify.max_user_watches=524288 (add it to /etc/sysctl.d/ to keep it), or exclude big directories with --exclude"
	case errors.Is(err, ErrInstanceLimit):
		return "every file watcher (editors, other dev servers, syncing tools) holds instances; raise it with: sudo sysctl fs.inotify.max_user_instances=512 (add it to /etc/sysctl.d/ to keep it), or stop other watchers. If it is the open-file limit instead, raise ulimit -n"
	case errors.Is(err, ErrOverflow):
		return "too many changes at once; the tree was rescanned and the app reloaded. If it keeps happening, raise it with: sudo sysctl fs.inotify.max_queued_events=65536 (add it to /etc/sysctl.d/ to keep it)"
	case errors.Is(err, ErrRootRemoved):
		return "restore the project directory and start gowsgi dev again"
	case errors.Is(err, fs.ErrPermission):
		return "changes in that directory are not seen; exclude it with --exclude, or make it readable"
	}
	return ""
}
