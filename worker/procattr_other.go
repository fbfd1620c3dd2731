//go:build !linux

package worker

import "syscall"

// procAttr puts the CLI in its own process group so a timeout ends all of it.
// (No parent-death signal outside Linux: an orphan's output is still never
// taken for another job's, see collect.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
