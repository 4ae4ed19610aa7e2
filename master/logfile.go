package master

// This file implements log-maxsize: the logto (or daemonize) file is
// renamed FILE.<unix time>, as uWSGI names it, when the next write would
// take it past the limit, and a new FILE is started. Old files are kept
// (uWSGI keeps them too); delete them with logrotate or a cron job.
//
// The workers' stdout and stderr reach the file through one pipe the master
// copies from, instead of holding the file themselves: a worker that held
// the file would go on writing into the renamed one.

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// rotatingFile is a log file that rotates past max bytes. Writes are
// serialised: the master's log, the access log and the workers' pipe share
// it.
type rotatingFile struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
	now  func() time.Time
}

func openRotating(path string, max int64) (*rotatingFile, error) {
	r := &rotatingFile{path: path, max: max, now: time.Now}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Write implements io.Writer. A write that would take a non-empty file past
// max goes to a new file, so every rotated file stays within max (unless a
// single write is larger).
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.size > 0 && r.size+int64(len(p)) > r.max {
		if err := r.rotate(); err != nil {
			// Keep logging into the full file rather than losing lines.
			fmt.Fprintf(r.f, "gowsgi: log-maxsize: rotating %s: %v\n", r.path, err)
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *rotatingFile) rotate() error {
	base := r.path + "." + strconv.FormatInt(r.now().Unix(), 10)
	name := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(name); os.IsNotExist(err) {
			break
		}
		name = base + "-" + strconv.Itoa(i) // two rotations in one second
	}
	if err := os.Rename(r.path, name); err != nil {
		return err
	}
	old := r.f
	if err := r.open(); err != nil {
		r.f = old
		return err
	}
	old.Close()
	return nil
}

func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}

// outputs are where a master and its workers write.
type outputs struct {
	out            io.Writer // the master's log and the access log
	stdout, stderr io.Writer // the workers'; nil: the master's own
}

// openLogs opens the log file the configuration names: logto, or the
// daemonize file in the detached master, with log-maxsize rotation when it
// is set. It returns nil outputs when the master writes where it was
// started (stderr, or the file a daemonizing parent opened for it).
func openLogs(cfg *Config) (_ *outputs, closeLog func(), err error) {
	path := cfg.Logto
	daemonized := os.Getenv(daemonizedEnv) != ""
	if cfg.Daemonize != "" {
		path = ""
		if daemonized {
			path = cfg.Daemonize
		}
	}
	if path == "" {
		return nil, func() {}, nil
	}
	if cfg.LogMaxSize <= 0 {
		if cfg.Daemonize != "" {
			return nil, func() {}, nil // the daemonizing parent opened it as our stderr
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, &ConfigError{Msg: fmt.Sprintf("logto %s: %v", path, err), Hint: "check the path and its directory's permissions."}
		}
		fmt.Fprintf(os.Stderr, "gowsgi: logging to %s\n", path)
		return &outputs{out: f, stdout: f, stderr: f}, func() { f.Close() }, nil
	}
	rf, err := openRotating(path, cfg.LogMaxSize)
	if err != nil {
		return nil, nil, &ConfigError{Msg: fmt.Sprintf("logto %s: %v", path, err), Hint: "check the path and its directory's permissions."}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		rf.Close()
		return nil, nil, err
	}
	go copyWorkerOutput(rf, pr)
	if cfg.Daemonize == "" {
		fmt.Fprintf(os.Stderr, "gowsgi: logging to %s (rotated past %d bytes)\n", path, cfg.LogMaxSize)
	}
	return &outputs{out: rf, stdout: pw, stderr: pw}, func() {
		pw.Close()
		// The file stays open: workers of a draining master may still write.
	}, nil
}

// copyWorkerOutput is the goroutine that moves the workers' output into
// the rotating log.
func copyWorkerOutput(rf *rotatingFile, pr *os.File) {
	io.Copy(rf, pr)
	pr.Close()
}
