package worker

import "syscall"

// procAttr puts the CLI in its own process group (so a timeout ends all of
// it) and has the kernel kill it if the worker dies first: a kill -9 of the
// worker must not leave an orphan writing into results/.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
