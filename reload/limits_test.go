package reload

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/fsnotify/fsnotify"
)

func TestLimitErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		sentinel error
		text     string // the message, with %s for the sysctl's current value
		hint     string // a part of Hint's text
	}{
		{
			name:     "watch limit",
			err:      watchError("/home/me/mysite/frontend", syscall.ENOSPC),
			sentinel: ErrWatchLimit,
			text:     "watching /home/me/mysite/frontend: inotify watch limit reached (fs.inotify.max_user_watches = %s)",
			hint:     "sudo sysctl fs.inotify.max_user_watches=524288",
		},
		{
			name:     "instance limit",
			err:      initError(fmt.Errorf("couldn't initialize inotify: %w", syscall.EMFILE)),
			sentinel: ErrInstanceLimit,
			text:     "creating inotify instance: inotify instance limit reached (fs.inotify.max_user_instances = %s)",
			hint:     "sudo sysctl fs.inotify.max_user_instances=512",
		},
		{
			name:     "queue overflow",
			err:      eventError("/home/me/mysite", fsnotify.ErrEventOverflow),
			sentinel: ErrOverflow,
			text:     "watching /home/me/mysite: inotify event queue overflowed (fs.inotify.max_queued_events = %s)",
			hint:     "sudo sysctl fs.inotify.max_queued_events=65536",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.sentinel) {
				t.Errorf("%v is not %v", tc.err, tc.sentinel)
			}
			var le *limitError
			if !errors.As(tc.err, &le) {
				t.Fatalf("%v is not a limit error", tc.err)
			}
			// Linux has the sysctl: without it the text went unchecked
			// (issue 13, bug 6).
			v := sysctlValue(le.sysctl)
			if v == "" {
				t.Fatalf("no /proc/sys value for %s: the text cannot be checked", le.sysctl)
			}
			if want := fmt.Sprintf(tc.text, v); tc.err.Error() != want {
				t.Errorf("text\n got %s\nwant %s", tc.err, want)
			}
			if h := Hint(tc.err); !strings.Contains(h, tc.hint) || !strings.Contains(h, "/etc/sysctl.d/") {
				t.Errorf("Hint = %q, want it to say %q", h, tc.hint)
			}
		})
	}
}

func TestLimitErrorWithoutProc(t *testing.T) {
	err := &limitError{ErrWatchLimit, "fs.inotify.no_such_sysctl", syscall.ENOSPC}
	if want := "inotify watch limit reached (see fs.inotify.no_such_sysctl)"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestHint(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string // a part of the hint; "" for no hint
	}{
		{"nil", nil, ""},
		{"unrelated", errors.New("boom"), ""},
		{"not a limit", watchError("/x", syscall.ENOENT), ""},
		{"watch limit, wrapped again", fmt.Errorf("dev: %w", watchError("/x", syscall.ENOSPC)), "--exclude"},
		{"permission", watchError("/x/pgdata", syscall.EACCES), "--exclude"},
		{"permission from fs", fmt.Errorf("x: %w", fs.ErrPermission), "make it readable"},
		{"root removed", fmt.Errorf("watching /x: %w", ErrRootRemoved), "start gowsgi dev again"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Hint(tc.err)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("Hint(%v) = %q, want one with %q", tc.err, got, tc.want)
			}
		})
	}
}
