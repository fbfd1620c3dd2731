package worker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// One-shot mode's readiness and MAX_JOBS_PER_POD, and the CUDA probe, with
// the real program against the real RabbitMQ and MinIO.

// One-shot mode reports Ready only once it holds a job (KEDA's accurate
// strategy counts a Job's pod as pending until then), and with
// MAX_JOBS_PER_POD takes up to that many jobs that wait, then exits.
func TestOneShotReadinessAndMaxJobsPerPod(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	wl := newWarmLog(t)
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	g := newGate(t, "generate")
	p := it.start("w1", wl.env("EXIT_AFTER_ONE_TASK=1", "MAX_JOBS_PER_POD=3", "FAKE_SD_GATE="+g.path,
		fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", port))...)
	p.waitLog(`"worker ready"`) // the model is loaded, no job yet
	if got := httpGet(base + "/readyz"); got != "" {
		t.Errorf("a one-shot worker without a job is ready: %q", got)
	}
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = job.NewID()
		it.publish(job.Message{ID: ids[i], Prompt: fmt.Sprintf("job %d", i), Count: 1})
	}
	g.waiter() // the first job is in the driver
	waitFor(t, "/readyz once a job is taken", func() bool { return httpGet(base+"/readyz") == "ok\n" })
	g.open()
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n := len(it.waitEntries(3)); n != 3 {
		t.Errorf("%d jobs done, want MAX_JOBS_PER_POD=3", n)
	}
	it.waitLen("ready", it.q.Len, 2)
	if b := wl.builds(); len(b) != 1 {
		t.Errorf("%d pipeline builds for 3 jobs", len(b))
	}

	// One job waits: the pod takes it, finds no other within a moment, exits.
	q := it.start("w2", wl.env("EXIT_AFTER_ONE_TASK=1", "MAX_JOBS_PER_POD=3")...)
	it.waitLen("ready", it.q.Len, 0)
	if err := q.wait(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q.out.String(), "no more jobs waiting; exiting") {
		t.Error("the exit after the jobs that waited is not logged")
	}
	it.waitEntries(5)
}

// DEVICE=cuda where torch sees no device: the worker refuses to start with
// one line that says what to check, and takes no job.
func TestCUDAProbeRefusesToStartWithoutADevice(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	it.publish(job.Message{ID: job.NewID(), Prompt: "on a GPU", Count: 1})
	p := it.start("w1", "DEVICE=cuda", "FAKE_CUDA_DEVICES=0", "GENERATOR=fastsdcpu-warm")
	err := p.wait(60 * time.Second)
	if err == nil {
		t.Fatal("the worker started without CUDA")
	}
	out := p.out.String()
	want := "worker: DEVICE=cuda but torch sees no usable CUDA device (torch 2.2.2+standin, built for CUDA 12.1, 0 device(s)): " +
		"check the node's NVIDIA driver and that its libraries are on LD_LIBRARY_PATH"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	it.waitLen("ready", it.q.Len, 1)
}
