package worker

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// warmLog holds the files the stand-in fastsdcpu writes for a warm
// generator: its pipeline builds (FAKE_SD_LOAD_LOG, a JSON line each with
// the model and the pid) and the pid of the process that ran the last
// generate call (FAKE_SD_PIDFILE). The warm generator's own tests and the
// worker program's read them alike.
type warmLog struct {
	loads string
	pid   string
}

func newWarmLog(t testing.TB) *warmLog {
	d := t.TempDir()
	return &warmLog{loads: filepath.Join(d, "loads.jsonl"), pid: filepath.Join(d, "pid")}
}

// standIn is the stand-in's environment that names the files.
func (l *warmLog) standIn() []string {
	return []string{"FAKE_SD_LOAD_LOG=" + l.loads, "FAKE_SD_PIDFILE=" + l.pid}
}

// env is a worker program's environment for the warm generator, extra last.
func (l *warmLog) env(extra ...string) []string {
	return append(append([]string{"GENERATOR=fastsdcpu-warm"}, l.standIn()...), extra...)
}

// build is one pipeline build of the stand-in.
type build struct {
	Model string
	Pid   int
}

// readBuilds are the pipeline builds so far, in order.
func (l *warmLog) readBuilds() []build {
	b, _ := os.ReadFile(l.loads) // none yet: no file
	var out []build
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var r build
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// builds is the pid of each pipeline build so far.
func (l *warmLog) builds() []int {
	var pids []int
	for _, b := range l.readBuilds() {
		pids = append(pids, b.Pid)
	}
	return pids
}

// models is the model of each pipeline build so far.
func (l *warmLog) models() []string {
	var models []string
	for _, b := range l.readBuilds() {
		models = append(models, b.Model)
	}
	return models
}

// lastPid is the pid of the process that ran the last generate call (0:
// none yet).
func (l *warmLog) lastPid() int { return readPid(l.pid) }

// readPid reads a pid the stand-in wrote (0: none yet).
func readPid(path string) int {
	b, _ := os.ReadFile(path)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// gate is a file the stand-in waits for (FAKE_SD_GATE: a generate call,
// FAKE_SD_LOAD_GATE: a pipeline build): the test opens it once it has seen
// what it waits for, so that no step hangs on how fast the machine is.
type gate struct {
	t    testing.TB
	path string
}

func newGate(t testing.TB, name string) *gate {
	return &gate{t: t, path: filepath.Join(t.TempDir(), name)}
}

// waiter waits until a generate call waits at the gate and returns the
// pid of its process.
func (g *gate) waiter() int {
	g.t.Helper()
	var pid int
	waitFor(g.t, "a generate call at the gate", func() bool {
		pid = readPid(g.path + ".waiting")
		return pid > 0
	})
	return pid
}

func (g *gate) open() {
	g.t.Helper()
	if err := os.WriteFile(g.path, nil, 0o644); err != nil {
		g.t.Fatal(err)
	}
}

// close makes the next generate call wait again.
func (g *gate) close() {
	g.t.Helper()
	for _, p := range []string{g.path, g.path + ".waiting"} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			g.t.Fatal(err)
		}
	}
}
