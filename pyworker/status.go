package pyworker

// This file takes snapshots of the supervisor's state for logs and the
// status page. The snapshot is taken on the owner goroutine (statusEvent);
// what the request path reads is atomics.

import (
	"sort"
	"strings"
	"time"
)

// Status is a snapshot of the workers, for logs and status pages.
type Status struct {
	Generation int
	Python     string
	Workers    []WorkerStatus
}

// WorkerStatus describes one worker process.
type WorkerStatus struct {
	ID, Pid, Generation int
	State               string
	Requests            int64
	Started             time.Time      // when the process was spawned
	Threads             []ThreadStatus // what each thread runs (metrics.go)
}

// Status returns a snapshot of the workers; the zero Status once the
// supervisor has finished.
func (m *Manager) Status() Status {
	reply := make(chan Status, 1)
	if !m.send(statusEvent{reply: reply}) {
		return Status{}
	}
	select {
	case st := <-reply:
		return st
	case <-m.done:
		return Status{}
	}
}

func (m *Manager) status() Status {
	st := Status{Generation: m.Generation(), Python: m.pythonVersion}
	for _, g := range m.gens {
		for _, w := range g.workers {
			st.Workers = append(st.Workers, workerStatus(w, g))
		}
	}
	sort.Slice(st.Workers, func(i, j int) bool { return st.Workers[i].ID < st.Workers[j].ID })
	return st
}

// PythonVersion is the first line of the workers' sys.version.
func (m *Manager) PythonVersion() string {
	v := m.Status().Python
	if i := strings.IndexByte(v, ' '); i > 0 {
		return v[:i]
	}
	return v
}

// ImportedFiles returns the project files the newest ready worker had
// imported (Options.ReportFiles), or nil.
func (m *Manager) ImportedFiles() []string {
	if p := m.files.Load(); p != nil {
		return *p
	}
	return nil
}
