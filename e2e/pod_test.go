package e2e

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/stacktest"
)

// proc is one run of a pod's program (stacktest), and whether we killed it.
type proc struct {
	*stacktest.Proc
	killed bool // by us, with SIGKILL (guarded by the pod's mutex)
}

// pod keeps one program running the way Kubernetes keeps a container with
// restartPolicy Always: a moment after it exits, killed or on its own, it is
// started again, until the pod is stopped.
type pod struct {
	name string
	bin  string
	env  []string
	log  string

	mu       sync.Mutex
	cur      *proc
	starts   int
	kills    int
	exits    []string // exits we did not cause, with their status
	stopping bool
	stopped  chan struct{} // closed by stop
	done     chan struct{} // closed when the restart loop ends
}

const (
	restartDelay = time.Second // Kubernetes restarts at once, then backs off
	maxStarts    = 500         // a bound on the restart loop
)

// runPod starts the program and keeps it running until the test ends or
// stop is called.
func runPod(t testing.TB, name, bin string, env []string, logPath string) *pod {
	t.Helper()
	p := &pod{name: name, bin: bin, env: env, log: logPath,
		stopped: make(chan struct{}), done: make(chan struct{})}
	if err := p.start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go p.loop()
	t.Cleanup(func() { p.stop(5 * time.Second) })
	return p
}

func (p *pod) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return nil
	}
	pr, err := stacktest.StartProc(stacktest.Spec{Name: p.name, Bin: p.bin, Env: p.env, Log: p.log})
	if err != nil {
		return err
	}
	p.cur = &proc{Proc: pr}
	p.starts++
	return nil
}

func (p *pod) loop() {
	defer close(p.done)
	for {
		p.mu.Lock()
		cur := p.cur
		p.mu.Unlock()
		<-cur.Exited()
		p.mu.Lock()
		if !p.stopping && !cur.killed {
			p.exits = append(p.exits, fmt.Sprintf("%s exited on its own: %v", p.name, cur.Err()))
		}
		over := p.stopping || p.starts >= maxStarts
		p.mu.Unlock()
		if over {
			return
		}
		select {
		case <-p.stopped:
			return
		case <-time.After(restartDelay):
		}
		if err := p.start(); err != nil {
			p.mu.Lock()
			p.exits = append(p.exits, fmt.Sprintf("%s could not restart: %v", p.name, err))
			p.mu.Unlock()
			return
		}
	}
}

// kill9 kills the running process with SIGKILL; the pod restarts it.
// It reports false when no process was running (between two runs).
func (p *pod) kill9() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping || p.cur == nil {
		return false, nil
	}
	if !p.cur.Running() {
		return false, nil
	}
	p.cur.killed = true
	p.kills++
	if err := syscall.Kill(p.cur.Pid(), syscall.SIGKILL); err != nil {
		return false, fmt.Errorf("kill -9 %s: %w", p.name, err)
	}
	return true, nil
}

// stop ends the pod: SIGTERM, then SIGKILL after grace. It may be called
// more than once.
func (p *pod) stop(grace time.Duration) {
	p.mu.Lock()
	if !p.stopping {
		p.stopping = true
		close(p.stopped)
	}
	cur := p.cur
	p.mu.Unlock()
	_ = cur.Stop(grace)
	<-p.done
}

// report is what happened to the pod, for the logs.
func (p *pod) report() (starts, kills int, exits []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts, p.kills, append([]string(nil), p.exits...)
}

// tail returns the last n lines of the pod's log.
func (p *pod) tail(n int) string { return stacktest.Tail(p.log, n) }
