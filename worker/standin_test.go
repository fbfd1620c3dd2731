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
func (l *warmLog) lastPid() int {
	b, _ := os.ReadFile(l.pid)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
