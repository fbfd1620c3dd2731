package worker

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/stacktest"
)

const jobID = "0b6b1bd4-2a4e-4f7e-9e2d-6f3c8a3e5b11"

func TestDoneStoresImagesThenMetadataThenAcks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var dir string
	f.gen = genFunc(func(ctx context.Context, m job.Message, d string) (Result, error) {
		dir = d
		return Placeholder{}.Generate(ctx, m, d)
	})
	d := newDelivery(jobID, `{"prompt":"green dog","count":2,"group":"g1"}`)
	f.runOne(d)

	if kinds, _ := d.settled(t); !slices.Equal(kinds, []string{"ack"}) {
		t.Fatalf("settles: %v", kinds)
	}
	// The images in any order (side by side), the JSON last.
	want := []string{jobID + "-1.png", jobID + "-2.png", jobID + ".json"}
	got := f.store.putOrder()
	if len(got) != 3 || got[2] != want[2] || !slices.Equal(slices.Sorted(slices.Values(got[:2])), want[:2]) {
		t.Errorf("upload order: got %v, want the images, then %s", got, want[2])
	}
	var meta map[string]any
	if err := json.Unmarshal(f.store.objects[jobID+".json"], &meta); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"prompt": "green dog", "job_id": jobID, "worker": "test-worker",
		"generator": "test", "lcm_model_id": "placeholder", "group": "g1", "number_of_images": 2.0} {
		if meta[k] != v {
			t.Errorf("metadata %s: got %v, want %v", k, meta[k], v)
		}
	}
	for _, k := range []string{"started_at", "finished_at", "generation_seconds", "upload_seconds", "seed"} {
		if _, ok := meta[k]; !ok {
			t.Errorf("metadata has no %s", k)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("job directory %s still there (err %v)", dir, err)
	}
	if got := f.status.states(); !slices.Equal(got, []job.State{job.Started, job.Started, job.Done}) {
		t.Errorf("events: %v", got)
	}
	if got := f.status.phases(); !slices.Equal(got, []job.Phase{job.PhaseGenerating, job.PhaseUploading}) {
		t.Errorf("phases: %v", got)
	}
	e := f.status.last()
	if !slices.Equal(e.Objects, want) || e.ID != jobID || e.Group != "g1" || e.Seed == nil || *e.Seed != seedFor(jobID) {
		t.Errorf("done event: %+v", e)
	}
	for _, k := range []string{job.DurationGeneration, job.DurationUpload} {
		if _, ok := e.Durations[k]; !ok {
			t.Errorf("done event: no %s in %v", k, e.Durations)
		}
	}
}

func TestInvalidMessagesAreDeadLetteredAtOnce(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"not json":     `green dog`,
		"no prompt":    `{"count":2}`,
		"count of 50":  `{"prompt":"x","count":50}`,
		"control char": "{\"prompt\":\"a\\u0007b\"}",
		"count of 0":   `{"prompt":"x","count":0}`,
		"prompt --":    `{"prompt":" -- "}`,
		"negative --":  `{"prompt":"x","negative_prompt":"--"}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			called := false
			f.gen = genFunc(func(context.Context, job.Message, string) (Result, error) {
				called = true
				return Result{}, nil
			})
			d := newDelivery(jobID, body)
			f.runOne(d)
			kinds, reason := d.settled(t)
			if !slices.Equal(kinds, []string{"dead"}) || reason == "" {
				t.Fatalf("settles %v reason %q", kinds, reason)
			}
			if called {
				t.Error("the generator ran for an invalid message")
			}
			if e := f.status.last(); e.State != job.Failed || e.Reason != reason || e.ID != jobID {
				t.Errorf("event: %+v", e)
			}
		})
	}
}

func TestGeneratorFailureIsRetriedThenDead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		deadAt int
		settle string
		state  job.State
	}{{0, "retry", job.Retrying}, {1, "retry-dead", job.Failed}} {
		f := setup(t)
		f.gen = genFunc(func(context.Context, job.Message, string) (Result, error) {
			return Result{}, errors.New("fastsdcpu exit status 1: CUDA out of memory")
		})
		d := newDelivery(jobID, `{"prompt":"x"}`)
		d.deadAt = tc.deadAt
		f.runOne(d)
		kinds, reason := d.settled(t)
		if !slices.Equal(kinds, []string{tc.settle}) || !strings.Contains(reason, "CUDA out of memory") {
			t.Errorf("settles %v reason %q", kinds, reason)
		}
		if e := f.status.last(); e.State != tc.state || !strings.Contains(e.Reason, "CUDA") {
			t.Errorf("event: %+v", e)
		}
		if n := len(f.store.putOrder()); n != 0 {
			t.Errorf("%d objects stored for a failed job", n)
		}
	}
}

func TestPanicInAJobIsRetried(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.gen = genFunc(func(context.Context, job.Message, string) (Result, error) { panic("boom") })
	d := newDelivery(jobID, `{"prompt":"x"}`)
	f.runOne(d)
	kinds, reason := d.settled(t)
	if !slices.Equal(kinds, []string{"retry"}) || reason != "panic: boom" {
		t.Fatalf("settles %v reason %q", kinds, reason)
	}
}

func TestStoreDownForAWhileStillCompletes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.store.failPuts = 3
	d := newDelivery(jobID, `{"prompt":"x"}`)
	f.runOne(d)
	if kinds, _ := d.settled(t); !slices.Equal(kinds, []string{"ack"}) {
		t.Fatalf("settles: %v", kinds)
	}
	if got := f.store.putOrder(); len(got) != 2 || got[1] != jobID+".json" {
		t.Errorf("stored: %v", got)
	}
}

func TestStoreDownPastTheBudgetRequeues(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.cfg.JobTimeout = time.Second
	f.store.failAll = true
	f.wantRequeuedStoreUnreachable()
}

func TestJobIDComesFromBodyThenMessageID(t *testing.T) {
	t.Parallel()
	other := "6f1d3c3e-0b7a-4e55-9f43-3f8e3b7c9a10"
	for _, c := range []struct{ msgID, body, want string }{
		{other, `{"prompt":"x","id":"` + jobID + `"}`, jobID},
		{other, `{"prompt":"x"}`, other},
	} {
		f := setup(t)
		d := newDelivery(c.msgID, c.body)
		f.runOne(d)
		d.settled(t)
		if got := f.status.last().ID; got != c.want {
			t.Errorf("message-id %q body %s: id %q, want %q", c.msgID, c.body, got, c.want)
		}
	}
}

// A message with no usable id (the old webui set none) is not run under an
// id made up for this delivery alone: it goes back to the queue stamped with
// a new UUID for good, and runs under that one when it comes back.
func TestMessageWithoutAnIDIsStampedFirst(t *testing.T) {
	t.Parallel()
	for _, msgID := range []string{"", "../../etc"} {
		f := setup(t)
		ran := false
		f.gen = genFunc(func(context.Context, job.Message, string) (Result, error) {
			ran = true
			return Result{}, errors.New("must not run")
		})
		d := newDelivery(msgID, `{"prompt":"x"}`)
		f.runOne(d)
		kinds, id := d.settled(t)
		if !slices.Equal(kinds, []string{"stamp"}) || len(id) != 36 || id == msgID {
			t.Errorf("message-id %q: settles %v with %q, want one stamp with a new UUID", msgID, kinds, id)
		}
		if ran {
			t.Errorf("message-id %q: the generator ran before the stamp", msgID)
		}
	}
}

func TestGeneratorTimeoutIsAGeneratorFailure(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.cfg.JobTimeout = 20 * time.Millisecond
	f.gen = blockingGen(make(chan struct{}), nil)
	d := newDelivery(jobID, `{"prompt":"x"}`)
	f.runOne(d)
	kinds, reason := d.settled(t)
	if !slices.Equal(kinds, []string{"retry"}) || !strings.Contains(reason, "JOB_TIMEOUT") {
		t.Errorf("settles %v reason %q", kinds, reason)
	}
}

func TestStaleSettleIsLoggedNotRepeated(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := &staleDelivery{fakeDelivery: newDelivery(jobID, `{"prompt":"x"}`)}
	w := f.worker()
	ev := newEvents(f.status, w.log)
	w.process(context.Background(), d, ev, &lifecycle{ev: ev})
	ev.close(time.Second)
	if d.acks != 1 {
		t.Errorf("acks: %d", d.acks)
	}
}

type staleDelivery struct {
	*fakeDelivery
	acks int
}

func (d *staleDelivery) Ack(context.Context) error { d.acks++; return queue.ErrStale }

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	stacktest.WaitFor(t, what, 90*time.Second, cond) // generous: CI machines are slow and shared
}

// A job that comes without a seed gets one drawn from its id: jobs differ,
// and a redelivery (which writes the same object keys, cached for good by
// browsers) draws the same picture again.
func TestSeedForAJobWithoutOne(t *testing.T) {
	t.Parallel()
	if seedFor(jobID) != seedFor(jobID) {
		t.Fatal("two runs of one job draw different seeds")
	}
	seen := map[int64]bool{}
	for range 10000 {
		s := seedFor(job.NewID())
		if s < 0 || s > job.MaxSeed {
			t.Fatalf("seed %d outside 0..%d", s, job.MaxSeed)
		}
		seen[s] = true
	}
	if len(seen) < 9990 {
		t.Errorf("10000 jobs drew %d distinct seeds", len(seen))
	}
}
