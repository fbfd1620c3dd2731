package worker

import (
	"bytes"
	"fmt"
	"image/png"
	"io"
	"net/http"
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

// The old webui's message, from a plain AMQP client with no message-id:
// two PNGs and the JSON, the prompt without quotes (defect 3).
func TestGreenDogFromAPlainClient(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	it.publishPlain(`{"prompt": "green dog", "count": 2}`)
	port := testenv.FreePort(t)
	p := it.start("w1", "EXIT_AFTER_ONE_TASK=1", fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", port))
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatalf("one-shot worker: %v", err)
	}
	es := it.waitEntries(1)
	id := es[0]
	objs := it.objects()
	want := []string{id + "-1.png", id + "-2.png", id + ".json"}
	for _, k := range want {
		if _, ok := objs[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if len(objs) != len(want) {
		t.Errorf("objects: %v", objs)
	}
	meta := it.metadata(id)
	if meta["prompt"] != "green dog" || meta["job_id"] != id || meta["number_of_images"] != 2.0 {
		t.Errorf("metadata: %v", meta)
	}
	r, _, err := it.st.Get(ctxT(t, 10*time.Second), store.ImageKey(id, 2))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("image 2 is not a PNG: %v", err)
	}
	if left := it.runs(); len(left) != 1 {
		t.Errorf("the CLI ran %d times", len(left))
	}
}

// A hostile prompt reaches the CLI as one argv item, unchanged (no shell).
func TestPromptReachesTheCLIUnchanged(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	prompt := `-rf "quoted" * $(x)`
	id := job.NewID()
	it.publish(job.Message{ID: id, Prompt: prompt, Count: 1})
	p := it.start("w1", "EXIT_AFTER_ONE_TASK=1", "DEVICE=cuda")
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	runs := it.runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	if !slices.Contains(runs[0].Argv, "--prompt="+prompt) || runs[0].Device != "cuda" {
		t.Errorf("argv %q device %q", runs[0].Argv, runs[0].Device)
	}
	if got := it.metadata(id)["prompt"]; got != prompt {
		t.Errorf("metadata prompt: %q", got)
	}
}

// A generator that always fails: the job is dead-lettered after
// MAX_FAILURES with the reason, and the jobs after it are done.
func TestPoisonJobIsDeadLetteredAndOthersAreDone(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{MaxFailures: 3})
	poison := job.NewID()
	it.publish(job.Message{ID: poison, Prompt: "poison pill", Count: 1})
	good := []string{job.NewID(), job.NewID()}
	for i, id := range good {
		it.publish(job.Message{ID: id, Prompt: fmt.Sprintf("good %d", i), Count: 1})
	}
	it.start("w1", "FAKE_SD_FAIL=prompt:poison")
	it.waitEntries(2)
	it.waitLen("dead letters", it.q.DeadLen, 1)
	it.waitLen("ready", it.q.Len, 0)
	if _, ok := it.objects()[store.MetadataKey(poison)]; ok {
		t.Error("the poison job has an entry")
	}
	var tries int
	for _, r := range it.runs() {
		if slices.Contains(r.Argv, "--prompt=poison pill") {
			tries++
		}
	}
	if tries != 3 {
		t.Errorf("poison job ran %d times, want MAX_FAILURES=3", tries)
	}
	if reason := it.deadReason(); !strings.Contains(reason, "fake generator failure") {
		t.Errorf("dead-letter reason %q", reason)
	}
}

// A prompt that fastsdcpu's argparse cannot take verbatim ("--", which it
// drops) is dead-lettered at once with that reason: the CLI never runs, so
// no three doomed runs.
func TestArgparseDoomedPromptIsDeadLetteredAtOnce(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{MaxFailures: 3})
	it.publish(job.Message{ID: job.NewID(), Prompt: "--", Count: 1})
	p := it.start("w1", "EXIT_AFTER_ONE_TASK=1")
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	it.waitLen("dead letters", it.q.DeadLen, 1)
	if reason := it.deadReason(); !strings.Contains(reason, `cannot be exactly "--"`) {
		t.Errorf("dead-letter reason %q", reason)
	}
	if runs := it.runs(); len(runs) != 0 {
		t.Errorf("the CLI ran %d times for a prompt it cannot take", len(runs))
	}
}

// deadReason reads the reason header of the first dead letter (and leaves it).
func (it *itest) deadReason() string {
	it.t.Helper()
	return testenv.PeekHeader(it.t, it.rabbit, queue.DeadName(it.opts.Name), queue.HeaderReason)
}

// MinIO down while the worker uploads, then back: the job completes. (It
// goes down once the job started: before, the worker waits at its cancel
// check, TestStoreOutageBeforeTheJobHoldsIt.)
func TestStoreOutageDuringUploadCompletes(t *testing.T) {
	t.Parallel()
	m := testenv.StartMinIO(t)
	it := newITest(t, m, queue.Options{})
	g := newGate(t, "generate")
	p := it.start("w1", "FAKE_SD_GATE="+g.path)
	p.waitLog(`"worker ready"`)
	id := job.NewID()
	it.publish(job.Message{ID: id, Prompt: "through the outage", Count: 2})
	g.waiter() // the job is in the CLI, before its uploads
	m.Stop()
	g.open()
	p.waitLog(`"upload failed, retrying"`)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	it.waitEntries(1)
	it.waitLen("ready", it.q.Len, 0)
	if got := it.metadata(id)["job_id"]; got != id {
		t.Errorf("job_id %v", got)
	}
	if n := len(it.objects()); n != 3 {
		t.Errorf("%d objects, want 3", n)
	}
}

// MinIO down before the job starts: the worker cannot tell whether the job
// was cancelled, so it holds the message (no delivery counted) and asks
// again until MinIO is back; then the job runs once.
func TestStoreOutageBeforeTheJobHoldsIt(t *testing.T) {
	t.Parallel()
	m := testenv.StartMinIO(t)
	it := newITest(t, m, queue.Options{})
	p := it.start("w1")
	p.waitLog(`"worker ready"`)
	m.Stop()
	id := job.NewID()
	it.publish(job.Message{ID: id, Prompt: "after the outage", Count: 1})
	p.waitLog(`"cancel check: store unreachable, asking again"`)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	it.waitEntries(1)
	it.waitLen("ready", it.q.Len, 0)
	if runs := it.runs(); len(runs) != 1 {
		t.Errorf("the CLI ran %d times, want 1", len(runs))
	}
	if strings.Contains(p.Log(), `"job requeued"`) {
		t.Error("the job was given back during a short outage")
	}
}

// SIGTERM during a job: the job finishes within the grace, the worker takes
// nothing more and exits 0.
func TestSIGTERMLetsTheJobFinish(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	first, second := job.NewID(), job.NewID()
	it.publish(job.Message{ID: first, Prompt: "first", Count: 1})
	it.publish(job.Message{ID: second, Prompt: "second", Count: 1})
	g := newGate(t, "generate")
	p := it.start("w1", "FAKE_SD_GATE="+g.path, "SHUTDOWN_GRACE=2m")
	g.waiter() // the first job is in the CLI
	p.signal(syscall.SIGTERM)
	p.waitLog(`"stop requested`)
	g.open()
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if got := it.metadata(first)["worker"]; got != "w1" {
		t.Errorf("first job's worker %v", got)
	}
	it.waitLen("ready", it.q.Len, 1) // the second job waits for the next worker
	if n := len(it.runs()); n != 1 {
		t.Errorf("the CLI ran %d times", n)
	}
}

// SIGTERM with a grace too short: the generator is killed, the message goes
// back, and the next worker completes it.
func TestSIGTERMPastTheGraceRequeues(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	id := job.NewID()
	it.publish(job.Message{ID: id, Prompt: "too slow", Count: 1})
	p := it.start("w1", "FAKE_SD_DELAY_MS=60000", "SHUTDOWN_GRACE=200ms")
	waitFor(t, "the CLI to start", func() bool { return len(it.runs()) == 1 })
	p.signal(syscall.SIGTERM)
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if !gone(it.runs()[0].Pid) {
		t.Error("the generator outlived the worker")
	}
	it.waitLen("ready", it.q.Len, 1)
	if n := len(it.objects()); n != 0 {
		t.Errorf("%d objects stored by the stopped job", n)
	}
	q := it.start("w2", "EXIT_AFTER_ONE_TASK=1")
	if err := q.wait(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := it.metadata(id)["worker"]; got != "w2" {
		t.Errorf("worker %v", got)
	}
	it.waitLen("dead letters", it.q.DeadLen, 0)
}

// One-shot mode: one job and exit 0, the next job stays queued; on an empty
// queue, exit 0 after the wait.
func TestOneShotMode(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	it.publish(job.Message{ID: job.NewID(), Prompt: "one", Count: 1})
	it.publish(job.Message{ID: job.NewID(), Prompt: "two", Count: 1})
	for i, want := range []int{1, 2} {
		p := it.start(fmt.Sprintf("w%d", i+1), "EXIT_AFTER_ONE_TASK=1")
		if err := p.wait(60 * time.Second); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if n := len(it.waitEntries(want)); n != want {
			t.Fatalf("run %d: %d entries", i+1, n)
		}
		it.waitLen("ready", it.q.Len, 2-want)
	}
	p := it.start("w3", "EXIT_AFTER_ONE_TASK=1", "EMPTY_QUEUE_WAIT=1s")
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatalf("empty queue: %v", err)
	}
	if !strings.Contains(p.out.String(), "no job within the wait") {
		t.Error("exit on an empty queue not logged")
	}
	if n := len(it.runs()); n != 2 {
		t.Errorf("the CLI ran %d times", n)
	}
}

// The metrics port answers while a worker runs.
func TestMetricsAndHealth(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	port := testenv.FreePort(t)
	it.start("w1", fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", port))
	it.publish(job.Message{ID: job.NewID(), Prompt: "measured", Count: 1})
	it.waitEntries(1)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "/readyz", func() bool { return httpGet(base+"/readyz") == "ok\n" })
	if got := httpGet(base + "/healthz"); got != "ok\n" {
		t.Errorf("/healthz: %q", got)
	}
	waitFor(t, "a done job in /metrics", func() bool {
		return strings.Contains(httpGet(base+"/metrics"), `sdkeda_worker_jobs_total{outcome="done"} 1`)
	})
	m := httpGet(base + "/metrics")
	for _, s := range []string{"sdkeda_worker_generation_seconds_bucket", "sdkeda_worker_upload_seconds_count 1",
		"sdkeda_worker_jobs_in_flight 0"} {
		if !strings.Contains(m, s) {
			t.Errorf("/metrics lacks %q", s)
		}
	}
}

func httpGet(url string) string {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}
