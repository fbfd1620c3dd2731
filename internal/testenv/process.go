package testenv

import (
	"syscall"
	"testing"
	"time"
)

// Process is a server a test runs itself (etcd, an API server, an
// operator): in its own process group, killed with the test binary if that
// dies first, output appended to a log file.
type Process struct{ p *proc }

// StartProcess starts bin with args, env added to the test's environment and
// its output in logPath; it is stopped (SIGTERM, SIGKILL after 10 s) when t
// ends. A binary that cannot be started fails t.
func StartProcess(t testing.TB, name, logPath string, env []string, bin string, args ...string) *Process {
	t.Helper()
	p, err := startProc(name, logPath, env, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	pr := &Process{p: p}
	t.Cleanup(pr.Stop)
	return pr
}

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.p.exited }

// Tail is the last n lines of the process's log, for failure messages.
func (p *Process) Tail(n int) string { return Tail(p.p.log, n) }

// Stop ends the process (SIGTERM, SIGKILL after 10 s); stopping twice is harmless.
func (p *Process) Stop() { p.p.stop(syscall.SIGTERM, 10*time.Second) }
