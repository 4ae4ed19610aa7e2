//go:build !linux

package pyworker

import "syscall"

// ChildProcAttr is the one place process attributes of Python children are
// set: their own process group (a terminal's ^C reaches only the master,
// which stops them in order). macOS has no parent-death signal: a worker
// whose master was SIGKILLed notices when its connections to the master
// close. (This file exists so that the macOS wheels build; see
// scripts/build-wheel.py.)
func ChildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
