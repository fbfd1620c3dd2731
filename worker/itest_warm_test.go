package worker

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// The warm generator in the worker program, against the real RabbitMQ and
// MinIO: what happens when its driver dies, hangs, or is stopped.

// kill -9 of the driver in the middle of a job: the job counts one
// generator failure and is done by a fresh driver; the worker goes on.
func TestWarmDriverKilledMidJobIsRetriedOnAFreshDriver(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	wl := newWarmLog(t)
	id := job.NewID()
	it.publish(job.Message{ID: id, Prompt: "interrupted", Count: 1})
	g := newGate(t, "generate")
	p := it.start("w1", wl.env("FAKE_SD_GATE="+g.path)...)
	pid := g.waiter() // the driver, in the job's generate call
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	g.open() // for the fresh driver
	it.waitEntries(1)
	meta := it.metadata(id)
	if meta["attempt"] != 2.0 || meta["generator"] != "fastsdcpu-warm" {
		t.Errorf("metadata: attempt %v generator %v", meta["attempt"], meta["generator"])
	}
	if b := wl.builds(); len(b) != 2 || b[0] == b[1] || b[0] != pid {
		t.Errorf("pipeline builds by %v, want the killed driver %d then a fresh one", b, pid)
	}
	if !strings.Contains(p.out.String(), "signal: killed") {
		t.Error("the retry does not say how the driver ended")
	}
	if !p.running() {
		t.Error("the worker stopped")
	}
}

// A job that crashes the driver every time is dead-lettered after
// MAX_FAILURES with the reason; the other jobs are done, each by the driver
// that was started after the last crash.
func TestWarmJobThatCrashesTheDriverIsDeadLettered(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{MaxFailures: 3})
	wl := newWarmLog(t)
	poison := job.NewID()
	it.publish(job.Message{ID: poison, Prompt: "poison pill", Count: 1})
	for i := range 2 {
		it.publish(job.Message{ID: job.NewID(), Prompt: fmt.Sprintf("good %d", i), Count: 1})
	}
	p := it.start("w1", wl.env("FAKE_SD_FAIL=crash:poison")...)
	it.waitEntries(2)
	it.waitLen("dead letters", it.q.DeadLen, 1)
	if reason := it.deadReason(); !strings.HasPrefix(reason, "fastsdcpu-warm driver ended: signal: killed during the job: ") ||
		!strings.HasSuffix(reason, "fake: the process dies now (FAKE_SD_FAIL=crash)") {
		t.Errorf("dead-letter reason %q", reason)
	}
	if _, ok := it.objects()[store.MetadataKey(poison)]; ok {
		t.Error("the poison job has an entry")
	}
	// The first driver, and one after each of the 3 crashes.
	waitFor(t, "4 pipeline builds", func() bool { return len(wl.builds()) == 4 })
	if !p.running() {
		t.Error("the worker stopped")
	}
}

// A job that hangs: JOB_TIMEOUT kills the driver's process group, the job
// counts a failure, and a new driver serves the next job. JOB_TIMEOUT also
// bounds each fresh driver's start and load (the job after a hang pays it),
// which took 2.3 s at a load average of 13: 10 s, so that only the hang
// meets it.
func TestWarmHangingJobIsKilledAndANewDriverStarted(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{MaxFailures: 2})
	wl := newWarmLog(t)
	stuck, good := job.NewID(), job.NewID()
	it.publish(job.Message{ID: stuck, Prompt: "stuck forever", Count: 1})
	it.publish(job.Message{ID: good, Prompt: "fine", Count: 1})
	it.start("w1", wl.env("FAKE_SD_FAIL=hang:stuck", "JOB_TIMEOUT=10s")...)
	it.waitEntries(1)
	it.waitLen("dead letters", it.q.DeadLen, 1)
	if reason := it.deadReason(); !strings.Contains(reason, "JOB_TIMEOUT") || !strings.Contains(reason, "process group was killed") {
		t.Errorf("dead-letter reason %q", reason)
	}
	// A driver for each of the two hangs, and the one after the last.
	waitFor(t, "3 pipeline builds", func() bool { return len(wl.builds()) == 3 })
	b := wl.builds()
	for _, pid := range b[:2] {
		waitFor(t, fmt.Sprintf("the hung driver %d to be gone", pid), func() bool { return gone(pid) })
	}
}

// SIGTERM during a job: the job finishes within the grace, the next job
// stays queued, and the driver ends with the worker.
func TestWarmSIGTERMDuringAJob(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	wl := newWarmLog(t)
	first, second := job.NewID(), job.NewID()
	it.publish(job.Message{ID: first, Prompt: "first", Count: 1})
	it.publish(job.Message{ID: second, Prompt: "second", Count: 1})
	g := newGate(t, "generate")
	p := it.start("w1", wl.env("FAKE_SD_GATE="+g.path, "SHUTDOWN_GRACE=2m")...)
	g.waiter() // the first job is in the driver
	p.signal(syscall.SIGTERM)
	p.waitLog(`"stop requested`)
	g.open()
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if got := it.metadata(first)["worker"]; got != "w1" {
		t.Errorf("first job's worker %v", got)
	}
	it.waitLen("ready", it.q.Len, 1)
	if b := wl.builds(); len(b) != 1 || !gone(b[0]) {
		t.Errorf("builds %v: the driver outlived the worker", b)
	}
}

// SIGTERM past the grace: the driver's group is killed and the job goes
// back to the queue unchanged.
func TestWarmSIGTERMPastTheGraceRequeues(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	wl := newWarmLog(t)
	it.publish(job.Message{ID: job.NewID(), Prompt: "too slow", Count: 1})
	p := it.start("w1", wl.env("FAKE_SD_DELAY_MS=60000", "SHUTDOWN_GRACE=300ms")...)
	p.waitLog(`"job started"`)
	p.signal(syscall.SIGTERM)
	if err := p.wait(30 * time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
	it.waitLen("ready", it.q.Len, 1)
	it.waitLen("dead letters", it.q.DeadLen, 0)
	if b := wl.builds(); len(b) != 1 || !gone(b[0]) {
		t.Errorf("builds %v: the driver outlived the worker", b)
	}
	if !strings.Contains(p.out.String(), `"job requeued"`) {
		t.Error("the requeue is not logged")
	}
}

// SIGTERM while the model loads: the worker has taken no job; it stops the
// driver and exits 0 at once, and the job waits for the next worker.
func TestWarmSIGTERMDuringTheLoad(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	wl := newWarmLog(t)
	it.publish(job.Message{ID: job.NewID(), Prompt: "waits", Count: 1})
	port := testenv.FreePort(t)
	p := it.start("w1", wl.env("FAKE_LOAD_MS=60000", fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", port))...)
	waitFor(t, "the load to begin", func() bool { return wl.lastPid() != 0 })
	if got := httpGet(fmt.Sprintf("http://127.0.0.1:%d/readyz", port)); got != "" {
		t.Errorf("ready while loading: %q", got)
	}
	begin := time.Now()
	p.signal(syscall.SIGTERM)
	if err := p.wait(30 * time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if d := time.Since(begin); d > 15*time.Second {
		t.Errorf("took %s to stop", d)
	}
	if pid := wl.lastPid(); !gone(pid) {
		t.Errorf("the loading driver %d outlived the worker", pid)
	}
	it.waitLen("ready", it.q.Len, 1)
	if strings.Contains(p.out.String(), `"job started"`) {
		t.Error("a job was taken before the model was loaded")
	}
}

// The worker's lifecycle on the status exchange, the job's phases, and the
// readiness: ready once the model is loaded. A state that a newer one
// replaces before it is sent is not sent (the worker sends its latest
// state), so every step waits for its state: the load and the jobs wait at
// gates until the test has seen it, the second job until the stop is seen.
func TestWarmWorkerEventsPhasesAndReadiness(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	wl := newWarmLog(t)
	events, err := it.q.SubscribeStatus(ctxT(t, 2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	id, last := job.NewID(), job.NewID()
	w := &watch{t: t, events: events, worker: "w1", job: id}
	load, gen := newGate(t, "load"), newGate(t, "generate")
	p := it.start("w1", wl.env("FAKE_SD_LOAD_GATE="+load.path, "FAKE_SD_GATE="+gen.path,
		fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", port))...)
	w.until("loading", func() bool { return w.last() == "loading" })
	if got := httpGet(base + "/readyz"); got != "" {
		t.Errorf("ready while loading: %q", got)
	}
	load.open()
	waitFor(t, "/readyz", func() bool { return httpGet(base+"/readyz") == "ok\n" })

	submitted := time.Now().Add(-2 * time.Second).UTC().Format(time.RFC3339Nano)
	it.publish(job.Message{ID: id, Prompt: "watched", Count: 1, SubmittedAt: submitted})
	w.until("busy", func() bool { return w.last() == "busy:"+id })
	gen.open()
	w.until("idle and done after the job", func() bool { return w.last() == "idle" && w.done.ID == id })

	// A job that finishes in the grace does not make the worker idle.
	gen.close()
	it.publish(job.Message{ID: last, Prompt: "the last", Count: 1})
	w.until("busy with the last job", func() bool { return w.last() == "busy:"+last })
	p.signal(syscall.SIGTERM)
	w.until("stopping", func() bool { return w.last() == "stopping" })
	gen.open()
	if err := p.wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	w.until("stopped", func() bool { return w.last() == "stopped" })

	// Starting is replaced by loading at once, before it can be sent.
	want := []string{"starting", "loading", "idle", "busy:" + id, "idle", "busy:" + last, "stopping", "stopped"}
	if !isSubsequence(w.states, want) || !isSubsequence(want[1:], w.states) {
		t.Errorf("worker states %v, want %v", w.states, want)
	}
	if !slices.Equal(w.phases, []job.Phase{job.PhaseGenerating, job.PhaseUploading}) {
		t.Errorf("phases %v", w.phases)
	}
	done := w.done
	if done.Seed == nil || done.Durations[job.DurationQueueWait] < 2 || done.Durations[job.DurationGeneration] <= 0 {
		t.Errorf("done event: seed %v durations %v", done.Seed, done.Durations)
	}
	if _, ok := done.Durations[job.DurationModelLoad]; ok {
		t.Errorf("the job paid no load, yet: %v", done.Durations)
	}
	meta := it.metadata(id)
	if meta["use_seed"] != true || meta["seed"] != float64(*done.Seed) || meta["queue_wait_seconds"].(float64) < 2 {
		t.Errorf("metadata: seed %v use_seed %v queue_wait %v", meta["seed"], meta["use_seed"], meta["queue_wait_seconds"])
	}
	if _, ok := meta["model_load_seconds"]; ok {
		t.Error("model_load_seconds for a job that paid no load")
	}
}

// watch records what a status subscription says of one worker (its states,
// each change once, "busy:<job>" when busy) and of one job (its phases and
// its done event).
type watch struct {
	t           testing.TB
	events      <-chan job.Event
	worker, job string
	states      []string
	phases      []job.Phase
	done        job.Event
}

func (w *watch) last() string {
	if len(w.states) == 0 {
		return ""
	}
	return w.states[len(w.states)-1]
}

// until reads events until cond holds (checked after each event).
func (w *watch) until(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.After(90 * time.Second) // against hanging, not a measurement
	for !cond() {
		select {
		case e, ok := <-w.events:
			if !ok {
				w.t.Fatalf("the status subscription ended while waiting for %s", what)
			}
			w.record(e)
		case <-deadline:
			w.t.Fatalf("no %s on the status exchange; worker states %v", what, w.states)
		}
	}
}

func (w *watch) record(e job.Event) {
	switch {
	case e.IsWorker() && e.Worker == w.worker:
		s := string(e.WorkerState)
		if e.ID != "" {
			s += ":" + e.ID
		}
		if w.last() != s {
			w.states = append(w.states, s)
		}
	case e.ID == w.job && e.State == job.Started:
		w.phases = append(w.phases, e.Phase)
	case e.ID == w.job && e.State == job.Done:
		w.done = e
	}
}

// isSubsequence reports whether every item of a appears in b, in order.
func isSubsequence(a, b []string) bool {
	i := 0
	for _, x := range b {
		if i < len(a) && a[i] == x {
			i++
		}
	}
	return i == len(a)
}
