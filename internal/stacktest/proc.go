package stacktest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

// Spec is one program to run.
type Spec struct {
	Name string   // for messages
	Bin  string   // the binary
	Args []string // its arguments
	Env  []string // NAME=value added to the test's environment; later entries win
	// Log is the file its output goes to, appended (a program restarted
	// keeps one log); "" puts it in a file of the test's own.
	Log string
}

// Proc is one run of a program.
type Proc struct {
	Spec
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// StartProc starts s. The program dies with the test binary (parent-death
// signal), as testenv's servers do; nothing else stops it.
func StartProc(s Spec) (*Proc, error) {
	if s.Log == "" {
		return nil, fmt.Errorf("start %s: no log file", s.Name)
	}
	f, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: log: %w", s.Name, err)
	}
	cmd := exec.Command(s.Bin, s.Args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	p := &Proc{Spec: s, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return p, nil
}

// Start starts s for test t: the program is killed when the test ends, and
// the tail of its log is printed if the test failed (all of it with
// STACKTEST_LOGS set).
func Start(t testing.TB, s Spec) *Proc {
	t.Helper()
	if s.Log == "" {
		s.Log = t.TempDir() + "/" + s.Name + ".log"
	}
	p, err := StartProc(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		switch {
		case os.Getenv("STACKTEST_LOGS") != "":
			t.Logf("--- log of %s:\n%s", s.Name, p.Log())
		case t.Failed():
			t.Logf("--- log of %s (last 40 lines):\n%s", s.Name, p.Tail(40))
		}
	})
	return p
}

// Exited is closed when the program has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Err is how it exited (nil for status 0); valid once Exited is closed.
func (p *Proc) Err() error { return p.err }

// Running reports whether it has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Pid is its process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig; a program that has exited ignores it.
func (p *Proc) Signal(sig syscall.Signal) error {
	if !p.Running() {
		return nil
	}
	return p.cmd.Process.Signal(sig)
}

// Kill kills it with SIGKILL and waits for its exit.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Stop sends SIGTERM and waits up to grace for the exit, then kills it.
// It returns how the program exited.
func (p *Proc) Stop(grace time.Duration) error {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.Kill()
	}
	return p.err
}

// Wait waits up to within for the exit and returns how it exited; it fails
// the test if the program is still running then.
func (p *Proc) Wait(t testing.TB, within time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(within):
		t.Fatalf("%s did not exit within %s; log:\n%s", p.Name, within, p.Tail(30))
		return nil
	}
}

// Log is everything it wrote so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.Spec.Log)
	return string(b)
}

// Tail is the last n lines of its log.
func (p *Proc) Tail(n int) string { return Tail(p.Spec.Log, n) }

// WaitLog waits until its log contains s.
func (p *Proc) WaitLog(t testing.TB, s string, within time.Duration) {
	t.Helper()
	WaitFor(t, fmt.Sprintf("%q in the log of %s", s, p.Name), within, func() bool {
		return strings.Contains(p.Log(), s)
	})
}

// Tail is the last n lines of the file at path.
func Tail(path string, n int) string { return testenv.Tail(path, n) }
