package worker

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Defect 1 of the old system: a worker that dies mid-job lost the job. Here
// workers and generators are killed with SIGKILL 20 times across a run of
// jobs, at random points (generating, uploading, between jobs), and every
// job still ends with exactly one complete entry: none lost, none doubled.
func TestKill9WorkersAndGeneratorsLosesAndDoublesNothing(t *testing.T) {
	t.Parallel()
	const kills = 20
	// Limits above what the kills can reach: this test is about loss and
	// doubling; TestPoisonJob... covers the limits themselves.
	it := newITest(t, nil, queue.Options{DeliveryLimit: kills + 5, MaxFailures: kills + 5})
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("random seed %d", seed)

	jobs := map[string]job.Message{}
	publish := func() {
		i := len(jobs)
		m := job.Message{ID: job.NewID(), Prompt: fmt.Sprintf("job %02d", i), Count: 1 + i%2}
		jobs[m.ID] = m
		it.publish(m)
	}
	for range 4 {
		publish()
	}
	env := []string{"FAKE_SD_DELAY_MS=250"}
	workers := 0
	var w *proc
	startWorker := func() {
		workers++
		w = it.start(fmt.Sprintf("w%02d", workers), env...)
	}
	startWorker()

	var workerKills, genKills int
	for workerKills+genKills < kills {
		publish() // the queue never runs dry before the kills are over
		done := len(it.completeIDs())
		// Aim at a job in progress: wait for a generator run that starts
		// from now on, then let it go on for a random while (the fake
		// generates for 250 ms, then the worker uploads).
		before := len(it.runs())
		waitFor(t, "a generator run", func() bool { return len(it.runs()) > before })
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		runs := it.runs()
		pid := runs[len(runs)-1].Pid
		if (workerKills+genKills)%2 == 1 && !gone(pid) && syscall.Kill(pid, syscall.SIGKILL) == nil {
			genKills++ // the worker sees a failed generator and retries the job
		} else {
			if err := syscall.Kill(w.Pid(), syscall.SIGKILL); err != nil {
				t.Fatalf("kill worker: %v", err)
			}
			w.wait(30 * time.Second)
			workerKills++
			startWorker() // the broker gives its job to the next one
		}
		// Progress before the next kill, so the kills spread over the run.
		waitFor(t, "a job to complete", func() bool { return len(it.completeIDs()) > done })
	}
	t.Logf("%d jobs, %d worker kills, %d generator kills, %d generator runs", len(jobs), workerKills, genKills, len(it.runs()))

	waitFor(t, "every job complete", func() bool { return len(it.completeIDs()) == len(jobs) })
	// A clean stop returns anything still unacked, so the queue length below
	// is the whole truth.
	w.signal(syscall.SIGTERM)
	if err := w.wait(60 * time.Second); err != nil {
		t.Fatalf("last worker: %v", err)
	}
	it.waitLen("ready", it.q.Len, 0)
	it.waitLen("dead letters", it.q.DeadLen, 0)

	// Exactly the objects of the jobs: each job's images and its JSON, and
	// nothing else (a second entry would need a second id).
	objs := it.objects()
	want := 0
	for id, m := range jobs {
		want += m.Count + 1
		for n := 1; n <= m.Count; n++ {
			if _, ok := objs[store.ImageKey(id, n)]; !ok {
				t.Errorf("%s: image %d missing", m.Prompt, n)
			}
		}
		meta := it.metadata(id)
		if meta["prompt"] != m.Prompt || meta["job_id"] != id {
			t.Errorf("%s: metadata prompt %v job_id %v", m.Prompt, meta["prompt"], meta["job_id"])
		}
	}
	if len(objs) != want {
		var keys []string
		for k := range objs {
			keys = append(keys, k)
		}
		t.Errorf("%d objects, want %d: %s", len(objs), want, strings.Join(keys, " "))
	}
}

// completeIDs lists the jobs with a metadata JSON in the bucket.
func (it *itest) completeIDs() []string {
	it.t.Helper()
	var ids []string
	for k := range it.objects() {
		if kind, id, _ := store.ParseKey(k); kind == store.Metadata {
			ids = append(ids, id)
		}
	}
	return ids
}
