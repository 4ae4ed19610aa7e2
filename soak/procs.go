package main

// This file reads the process tree below a gowsgi master from /proc: which
// processes are its workers, and how much memory they use.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// process is one entry of /proc.
type process struct {
	pid, ppid int
	state     byte   // R, S, D, Z, ...
	exe       string // the /proc/PID/exe link; empty when unreadable
	python    bool   // a gowsgi python process (zygote or worker)
}

// procTable is a snapshot of /proc.
type procTable struct {
	procs    map[int]*process
	children map[int][]int
}

// readProcs takes a snapshot of every process.
func readProcs() *procTable {
	t := &procTable{procs: map[int]*process{}, children: map[int][]int{}}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok := readProcess(pid)
		if !ok {
			continue
		}
		t.procs[pid] = p
		t.children[p.ppid] = append(t.children[p.ppid], pid)
	}
	return t
}

func readProcess(pid int) (*process, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses, so
	// cut at the last ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return nil, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	p := &process{pid: pid, ppid: ppid, state: fields[0][0]}
	p.exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	p.python = bytes.Contains(cmdline, []byte("_gowsgi"))
	return p, true
}

// tree lists root and every live process below it, except the subtree of
// another master below it: during a HUP the new master is the old one's
// child until the old one exits, and it must count as itself, not as part
// of the old master.
func (t *procTable) tree(root int, isMaster func(*process) bool) []int {
	if p, ok := t.procs[root]; !ok || p.state == 'Z' {
		return nil
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		for _, c := range t.children[out[i]] {
			p := t.procs[c]
			if p.state == 'Z' || isMaster(p) {
				continue
			}
			out = append(out, c)
		}
	}
	return out
}

// workers lists the python processes below root that have no children:
// the workers. The zygote is the python process whose children they are.
func (t *procTable) workers(root int, isMaster func(*process) bool) []int {
	var out []int
	for _, pid := range t.tree(root, isMaster) {
		p := t.procs[pid]
		if pid == root || !p.python {
			continue
		}
		hasChild := slices.ContainsFunc(t.children[pid], func(c int) bool { return t.procs[c].state != 'Z' })
		if !hasChild {
			out = append(out, pid)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, ok := readProcess(pid)
	return ok && p.state != 'Z'
}

// memory is a process's resident and proportional set sizes, in KiB.
type memory struct {
	RSS int64 `json:"rss_kib"`
	PSS int64 `json:"pss_kib"`
}

func (m *memory) add(o memory) {
	m.RSS += o.RSS
	m.PSS += o.PSS
}

// readMemory reads /proc/PID/smaps_rollup.
func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "Rss:"):
			dst = &m.RSS
		case strings.HasPrefix(line, "Pss:"):
			dst = &m.PSS
		default:
			continue
		}
		fields := strings.Fields(line) // "Rss:   16680 kB"
		if len(fields) < 2 {
			continue
		}
		*dst, _ = strconv.ParseInt(fields[1], 10, 64)
		found++
	}
	if err := sc.Err(); err != nil {
		return memory{}, fmt.Errorf("reading smaps_rollup of %d: %w", pid, err)
	}
	if found < 2 {
		return memory{}, fmt.Errorf("smaps_rollup of %d has no Rss/Pss lines", pid)
	}
	return m, nil
}
