// Package testenv starts the real services the integration tests need —
// RabbitMQ from Debian's rabbitmq-server and MinIO from its Go build — on free
// loopback ports, each with its own data directory, and stops them afterwards.
//
// Shared servers (RabbitMQ, MinIO) are started once per test binary and used
// by every test, each with its own queue or bucket; a test that must stop or
// restart a server starts a dedicated one (StartRabbitMQ, StartMinIO). When
// AMQP_URL or MINIO_ENDPOINT are set, the shared servers are those.
// StartRabbitCluster starts a RabbitMQ cluster of several nodes behind a
// Service, a loopback stand-in for a Kubernetes Service.
//
// A missing service skips the test on a developer machine with the command
// that installs it, and fails it under CI=true: CI never skips quietly.
// Packages that use the shared servers call testenv.Main from TestMain so the
// servers stop when the tests end.
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// InCI reports whether the tests run under CI, where nothing may be skipped.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Unavailable skips t, or fails it under CI, because a service is missing.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: a missing service is a failure; run `make deps`)", msg)
	}
	t.Skipf("%s; run `make deps` (or `make test`) to install it", msg)
}

var errNotInstalled = errors.New("not installed")

// failOrSkip reports a service that could not be had: a missing binary is
// Unavailable (skip, or fail under CI); one that is installed but does not
// start is a failure everywhere.
func failOrSkip(t testing.TB, name string, err error) {
	t.Helper()
	if errors.Is(err, errNotInstalled) {
		Unavailable(t, "%s: %v", name, err)
	}
	t.Fatalf("%s: %v", name, err)
}

// Short skips a slow test under `go test -short`, except under CI.
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() && !InCI() {
		t.Skip("slow test: skipped with -short")
	}
}

var (
	sharedMu     sync.Mutex
	sharedStops  []func()
	sharedRabbit *Rabbit
	sharedMinio  *Minio
	sharedErr    = map[string]error{}
)

// AtExit registers f to run when Main returns, after the tests (before the
// shared servers stop): for what a whole test binary shares, such as built
// programs.
func AtExit(f func()) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	sharedStops = append(sharedStops, f)
}

// Main runs the tests of a package and stops the shared servers afterwards.
func Main(m *testing.M) {
	code := m.Run()
	sharedMu.Lock()
	for i := len(sharedStops) - 1; i >= 0; i-- {
		sharedStops[i]()
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// UniqueName returns a name for a queue or bucket that no other test uses:
// lowercase letters, digits and dashes, at most 40 characters.
func UniqueName(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return p
}

var (
	portsMu sync.Mutex
	given   = map[int]bool{}
)

// freePort asks the kernel for a free port, never giving the same one twice
// in this process: the kernel may hand a just-closed port out again, and two
// parallel tests must not both listen on it.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !given[p] {
			given[p] = true
			return p, nil
		}
	}
	return 0, errors.New("no fresh free port")
}

// waitTCP waits until addr accepts connections or the deadline passes.
func waitTCP(addr string, within time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("process exited before %s accepted connections", addr)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not accept connections within %s", addr, within)
}

// proc is a server process in its own process group, so that stopping it
// stops whatever it spawned (rabbitmq-server is a script that execs erl).
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

func startProc(name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group; killed with the test binary if it dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// stop sends sig to the process group and waits up to grace, then kills it.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// Tail returns the last n lines of the file at path (a process's log), for
// failure messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lookBin finds a binary on PATH or at one of the given paths.
func lookBin(name string, also ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range also {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

func gopathBin(name string) string {
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(gp, "bin", name)
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "bin", name)
}
