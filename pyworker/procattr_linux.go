package pyworker

import "syscall"

// ChildProcAttr is the one place process attributes of Python children are
// set: their own process group (a terminal's ^C reaches only the master,
// which stops them in order) and SIGKILL when the master dies (Linux's
// PR_SET_PDEATHSIG).
func ChildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
