package worker

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sdkeda/sdkeda/tweaks"
)

// driver is one running tweaks/fastsdcpu_driver.py: a Python process in
// its own process group (a timeout kills all of it), requests as JSON lines
// on its stdin, replies on a pipe of their own (its fd 3), and what
// fastsdcpu prints on its stdout and stderr, as in a CLI run; their tails
// are kept, stderr's for failure reasons.
type driver struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies chan driverReply
	stdout  *tail
	stderr  *tail
	exited  chan struct{} // closed once the process is gone and its output read
	waitErr error         // valid after exited
}

// driverReply is one line the driver writes (see the protocol in its source).
type driverReply struct {
	Event       string  `json:"event"` // loaded, generating, done, error
	Seconds     float64 `json:"seconds"`
	LoadSeconds float64 `json:"load_seconds"`
	Rebuilt     bool    `json:"rebuilt"`
	Error       string  `json:"error"`
	Traceback   string  `json:"traceback"`
}

// driverRequest is one line the worker writes.
type driverRequest struct {
	Op   string         `json:"op"` // load, generate
	ID   string         `json:"id,omitempty"`
	Args map[string]any `json:"args"`
}

var (
	scriptOnce sync.Once
	scriptPath string
	scriptErr  error
)

// driverScript writes the embedded driver once per process into the
// temporary directory, under a name made of its hash (so two versions of
// the worker never share a file), and returns its path.
func driverScript() (string, error) {
	scriptOnce.Do(func() {
		sum := sha256.Sum256(tweaks.Driver)
		dir := filepath.Join(os.TempDir(), "sdkeda-"+hex.EncodeToString(sum[:6]))
		scriptPath = filepath.Join(dir, "fastsdcpu_driver.py")
		if b, err := os.ReadFile(scriptPath); err == nil && string(b) == string(tweaks.Driver) {
			return
		}
		if scriptErr = os.MkdirAll(dir, 0o755); scriptErr != nil {
			return
		}
		tmp, err := os.CreateTemp(dir, ".driver-*")
		if err != nil {
			scriptErr = err
			return
		}
		_, err = tmp.Write(tweaks.Driver)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), scriptPath) // atomic: another worker may read it meanwhile
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
		scriptErr = err
	})
	if scriptErr != nil {
		return "", fmt.Errorf("fastsdcpu-warm: write the driver: %w", scriptErr)
	}
	return scriptPath, nil
}

// startDriver starts the driver in checkout dir with python.
func startDriver(python, dir string, env []string) (*driver, error) {
	script, err := driverScript()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(python, "-u", script, dir, "3")
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = procAttr()
	d := &driver{cmd: cmd, replies: make(chan driverReply, 16), stdout: &tail{max: TailBytes},
		stderr: &tail{max: TailBytes}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.stdout, d.stderr
	// A helper that fastsdcpu left behind holding its output must not hang Wait.
	cmd.WaitDelay = 5 * time.Second
	if d.in, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("fastsdcpu-warm: %w", err)
	}
	replies, proto, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("fastsdcpu-warm: %w", err)
	}
	cmd.ExtraFiles = []*os.File{proto} // the child's fd 3
	err = cmd.Start()
	proto.Close() // the child holds the write end now; EOF when it is gone
	if err != nil {
		replies.Close()
		return nil, fmt.Errorf("fastsdcpu-warm: start %s: %w", python, err)
	}
	go d.read(replies)
	return d, nil
}

// read turns the driver's replies into values until the pipe closes, then
// waits for the process.
func (d *driver) read(out *os.File) {
	defer out.Close()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r driverReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Event == "" {
			continue // not a reply: only the driver writes here
		}
		d.replies <- r
	}
	d.waitErr = d.cmd.Wait()
	// The group goes with the driver: nothing it started outlives it.
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	close(d.exited)
}

func (d *driver) alive() bool {
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// send writes one request.
func (d *driver) send(r driverRequest) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		return d.died("before the request was taken")
	}
	return nil
}

// next waits for the driver's next reply. If the driver exits first, the
// error says how and when (a phrase such as "during the job"), with the
// tail of its stderr; if ctx ends first, the whole process group is killed
// and the error says why.
func (d *driver) next(ctx context.Context, start time.Time, when string) (driverReply, error) {
	select {
	case r := <-d.replies:
		return r, nil
	case <-d.exited:
		select { // a reply written just before the exit still counts
		case r := <-d.replies:
			return r, nil
		default:
		}
		return driverReply{}, d.died(when)
	case <-ctx.Done():
		d.kill()
		<-d.exited
		return driverReply{}, fmt.Errorf("fastsdcpu-warm stopped after %s (%v); the driver's process group was killed: %s",
			time.Since(start).Round(time.Millisecond), context.Cause(ctx), pythonReason(d.stderr.String()))
	}
}

// died describes the driver's end; when is a phrase such as "during the job".
func (d *driver) died(when string) error {
	<-d.exited
	how := "exited"
	if d.waitErr != nil {
		how = d.waitErr.Error()
		var ee *exec.ExitError
		if errors.As(d.waitErr, &ee) {
			how = "ended: " + ee.ProcessState.String()
		}
	}
	if when != "" {
		how += " " + when
	}
	return fmt.Errorf("fastsdcpu-warm driver %s: %s", how, pythonReason(d.stderr.String()))
}

// kill ends the driver's whole process group at once.
func (d *driver) kill() {
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
}

// stop asks the driver to end (EOF on its stdin), and kills its group if it
// has not within grace.
func (d *driver) stop(grace time.Duration) {
	_ = d.in.Close()
	select {
	case <-d.exited:
	case <-time.After(grace):
		d.kill()
		<-d.exited
	}
}
