package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/worker"
)

// demo is the webui over fakes, served over HTTP, with a gallery of
// placeholder pictures and job cards in every state: the browser tests that
// look at the page (layout, themes, accessibility, the phone) and the
// README's screenshots use it. Nothing in it waits on a queue or a worker.
type demo struct {
	*fixture
	url  string
	jobs []string // this browser's job ids, newest first (the sd_jobs cookie)
}

// Demo job ids: a submission of three in parallel, one job of four images,
// one running, one failed, one cancelled, one with a long unbroken prompt.
const (
	demoGroup     = "99999999-9999-4999-8999-999999999999"
	demoPar1      = "a0000001-0000-4000-8000-000000000001"
	demoPar2      = "a0000002-0000-4000-8000-000000000002"
	demoPar3      = "a0000003-0000-4000-8000-000000000003"
	demoFour      = "b0000001-0000-4000-8000-000000000001"
	demoRunning   = "c0000001-0000-4000-8000-000000000001"
	demoFailed    = "d0000001-0000-4000-8000-000000000001"
	demoCancelled = "e0000001-0000-4000-8000-000000000001"
	demoLong      = "f0000001-0000-4000-8000-000000000001"
)

// demoPrompts are the gallery's other entries, oldest first.
var demoPrompts = []string{
	"a lighthouse at dusk, oil painting", "green dog on a skateboard", "a bowl of ramen, studio light",
	"mountain lake at sunrise, 35 mm", "a robot reading a newspaper in a café", "isometric tiny city, pastel",
}

func startDemo(t *testing.T) *demo {
	t.Helper()
	f := setup(t)
	f.now = time.Now().UTC() // the browser's clock ticks the running times
	d := &demo{fixture: f}
	now := f.now
	// The gallery, oldest first.
	for i, p := range demoPrompts {
		d.entry(fmt.Sprintf("0000000%d-1111-4111-8111-111111111111", i), p, int64(1000+i), "", 1, now.Add(-time.Duration(60-i*5)*time.Minute))
	}
	// This browser's jobs (the cookie lists the newest first).
	seed := func(s int64) *int64 { return &s }
	apply := func(e job.Event) {
		if e.At.IsZero() {
			e.At = now.Add(-time.Minute)
		}
		f.jobs.Apply(e)
	}
	long := "an_unbroken_prompt_" + strings.Repeat("without_any_space_", 8) + "end"
	apply(job.Event{ID: demoLong, State: job.Queued, Prompt: long, Count: 1, Seed: seed(5), At: now.Add(-5 * time.Minute)})
	apply(job.Event{ID: demoLong, State: job.Failed, Attempt: 3, Reason: "generator error", At: now.Add(-4 * time.Minute)})
	apply(job.Event{ID: demoCancelled, State: job.Queued, Prompt: "a castle in the clouds", Count: 1, Seed: seed(77)})
	apply(job.Event{ID: demoCancelled, State: job.Cancelled, Attempt: 1})
	apply(job.Event{ID: demoFailed, State: job.Queued, Prompt: "a cat made of glass", Count: 2, Seed: seed(12),
		Width: 640, Height: 384})
	apply(job.Event{ID: demoFailed, State: job.Failed, Attempt: 3, Reason: "out of memory"})
	apply(job.Event{ID: demoFour, State: job.Queued, Prompt: "four seasons of one tree", Count: 4, Seed: seed(4242), Steps: 4})
	apply(job.Event{ID: demoFour, State: job.Started, Attempt: 1, Worker: "worker-7b9f", At: now.Add(-50 * time.Second)})
	d.entry(demoFour, "four seasons of one tree", 4242, "", 4, now.Add(-40*time.Second))
	took := map[string]float64{job.DurationQueueWait: 2, job.DurationGeneration: 8, job.DurationUpload: 0.4}
	apply(job.Event{ID: demoFour, State: job.Done, Attempt: 1, Objects: d.objects(demoFour), Durations: took, At: now.Add(-40 * time.Second)})
	for i, id := range []string{demoPar1, demoPar2, demoPar3} {
		apply(job.Event{ID: id, State: job.Queued, Group: demoGroup, Prompt: "a paper boat on a stormy sea", Count: 1,
			Seed: seed(int64(300 + i)), At: now.Add(-30*time.Second + time.Duration(i))})
	}
	apply(job.Event{ID: demoPar1, State: job.Started, Attempt: 1, Worker: "worker-2c4d", At: now.Add(-25 * time.Second)})
	d.entry(demoPar1, "a paper boat on a stormy sea", 300, demoGroup, 1, now.Add(-20*time.Second))
	apply(job.Event{ID: demoPar1, State: job.Done, Attempt: 1, Objects: d.objects(demoPar1), Durations: took, At: now.Add(-20 * time.Second)})
	apply(job.Event{ID: demoPar2, State: job.Started, Attempt: 1, Worker: "worker-2c4d", Phase: job.PhaseGenerating, At: now.Add(-3 * time.Second)})
	apply(job.Event{ID: demoRunning, State: job.Queued, Prompt: "a hot air balloon over a desert", Count: 1, Seed: seed(9)})
	d.jobs = []string{demoRunning, demoPar3, demoPar2, demoPar1, demoFour, demoFailed, demoCancelled, demoLong}
	// The fleet: one worker busy, one starting (KEDA scaling up), two jobs
	// in the queue; the tracker reads the depth as the webui does.
	f.jobs.Apply(job.Event{Kind: job.KindWorker, Worker: "worker-2c4d", WorkerState: job.WorkerBusy, ID: demoPar2, Generator: "placeholder", At: now})
	f.jobs.Apply(job.Event{Kind: job.KindWorker, Worker: "worker-5e1a", WorkerState: job.WorkerStarting, At: now})
	f.queue.mu.Lock()
	f.queue.length = 2
	f.queue.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = f.jobs.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	// The recent durations come with the done events of the subscription:
	// the estimates start from them.
	for _, id := range []string{demoFour, demoPar1} {
		f.queue.publish(job.Event{ID: id, State: job.Done, Attempt: 1, Objects: d.objects(id), Durations: took, At: now})
	}
	waitFor(t, "the recent durations", func() bool { return len(f.jobs.Typical()) > 0 })

	srv := httptest.NewServer(f.handler)
	t.Cleanup(srv.Close)
	d.url = srv.URL
	return d
}

// entry adds a gallery entry of n placeholder pictures with real PNGs and
// JPEG thumbnails.
func (d *demo) entry(id, prompt string, seed int64, group string, n int, at time.Time) {
	d.t.Helper()
	dir := d.t.TempDir()
	res, err := worker.Placeholder{}.Generate(context.Background(),
		job.Message{ID: id, Prompt: prompt, Count: n, Seed: &seed, Width: 512, Height: 512}, dir)
	if err != nil {
		d.t.Fatal(err)
	}
	var images [][]byte
	for _, p := range res.Images {
		b, err := os.ReadFile(p)
		if err != nil {
			d.t.Fatal(err)
		}
		images = append(images, b)
	}
	d.gallery.add(gallery.Entry{ID: id, Modified: at, Meta: &gallery.Meta{
		Prompt: prompt, Model: "placeholder", Width: 512, Height: 512, Steps: 1, GuidanceScale: 1,
		Seed: seed, UseSeed: true, NumberOfImages: n, Group: group, Worker: "worker-2c4d", Generator: "placeholder",
		GenerationSeconds: 1.25, JobID: id,
	}}, images...)
	for i, b := range images {
		thumb, err := gallerytest.Thumb(b)
		if err != nil {
			d.t.Fatal(err)
		}
		d.gallery.setFile(store.ThumbKey(id, i+1), thumb)
	}
}

// objects are the keys of entry id's images and metadata, as a done event
// names them.
func (d *demo) objects(id string) []string {
	e, _, _ := d.gallery.Get(context.Background(), id)
	return append(append([]string(nil), e.Images...), store.MetadataKey(id))
}

// cookie is the value of this browser's sd_jobs cookie.
func (d *demo) cookie() string { return strings.Join(d.jobs, ".") }
