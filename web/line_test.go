package web

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/worker"
)

// recorder is a slow placeholder that notes the order in which the worker
// takes jobs.
type recorder struct {
	slowGenerator
	mu    sync.Mutex
	taken []string
}

func (r *recorder) Generate(ctx context.Context, m job.Message, dir string) (worker.Result, error) {
	r.mu.Lock()
	r.taken = append(r.taken, m.ID)
	r.mu.Unlock()
	return r.slowGenerator.Generate(ctx, m, dir)
}

func (r *recorder) order() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.taken)
}

// Issue 13 point 4: three jobs of one submission showed "running, #3, #2",
// and later the last jumped from #3 to #1 while another ran. Here, on
// RabbitMQ with a real worker, the places are the order in which the worker
// takes the jobs: #1, #2, #3 at first; the waiting ones always at 1..k; a
// job's place never grows; and the worker runs them in that order.
func TestPlacesInLineAreTheOrderTheWorkerTakes(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	for round := range 3 {
		accepted := st.submit(`{"prompt":"three dogs","count":3,"parallel":true}`)
		if len(accepted) != 3 {
			t.Fatalf("submit: %+v", accepted)
		}
		ids := []string{accepted[0].ID, accepted[1].ID, accepted[2].ID}
		for i, id := range ids {
			var j apiJob
			if st.getJSON("/api/jobs/"+id, &j); j.Status != "queued" || j.Position != i+1 {
				t.Fatalf("round %d: job %d of the submission: %s at #%d, want queued at #%d", round, i+1, j.Status, j.Position, i+1)
			}
		}
		rec := &recorder{slowGenerator: slowGenerator{delay: 300 * time.Millisecond}}
		stop := st.startWorker(rec)
		last := map[string]int{}
		var started []string
		// read is the three jobs as the API shows them, one request each,
		// checked as they come: a place never grows; who started when.
		read := func() []apiJob {
			out := make([]apiJob, len(ids))
			for i, id := range ids {
				j := &out[i]
				st.getJSON("/api/jobs/"+id, j)
				switch j.Status {
				case "queued":
					if p, ok := last[id]; ok && j.Position > p {
						t.Fatalf("round %d: %s went back from #%d to #%d", round, id, p, j.Position)
					}
					last[id] = j.Position
				case "running", "done":
					if !slices.Contains(started, id) {
						started = append(started, id)
					}
				}
			}
			return out
		}
		waitFor(t, "the three jobs are done", func() bool {
			// Three requests are not one moment: the line may move between
			// them. Two reads that agree are one moment.
			a, b := read(), read()
			if !slices.EqualFunc(a, b, func(x, y apiJob) bool { return x.Status == y.Status && x.Position == y.Position }) {
				return false
			}
			var waiting []int
			done := 0
			for _, j := range a {
				switch j.Status {
				case "queued":
					waiting = append(waiting, j.Position)
				case "done":
					done++
				}
			}
			slices.Sort(waiting)
			for k, p := range waiting {
				if p != k+1 {
					t.Fatalf("round %d: the waiting jobs are at %v, want 1..%d", round, waiting, len(waiting))
				}
			}
			return done == 3
		})
		stop()
		if got := rec.order(); !slices.Equal(got, ids) {
			t.Errorf("round %d: the worker took %v, the places said %v", round, got, ids)
		}
		if !slices.Equal(started, ids) {
			t.Errorf("round %d: the cards showed them start in the order %v, want %v", round, started, ids)
		}
	}
}

// The real worker's events fill what the page will show: the job's phases
// in order, its seed and durations, and the worker in the fleet table.
func TestWorkerEventsFillPhasesAndTheFleet(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	events := openEvents(t, st.ctx, st.url)
	stopFirst := st.startWorker(slowGenerator{delay: 200 * time.Millisecond})
	waitFor(t, "the worker is in the fleet", func() bool {
		f := st.app.jobs.Fleet()
		return len(f.Workers) == 1 && f.Workers[0].Name == "test-worker" && f.Workers[0].State == job.WorkerIdle && f.Depth == 0
	})
	events.next("fleet", 10*time.Second, func(d string) bool { return strings.Contains(d, `"idle":1`) })
	stopFirst()

	// A stream carries the cards of its cookie's jobs: as a browser, it is
	// opened after the submission, before a worker takes the job.
	id := st.submit(`{"prompt":"a phased dog"}`)[0].ID
	jobEvents := openEvents(t, st.ctx, st.url, id)
	waitFor(t, "the job's stream is open", func() bool { return st.app.hub.Clients() == 2 })
	st.startWorker(slowGenerator{delay: 200 * time.Millisecond})
	var phases []string
	jobEvents.next("job", 30*time.Second, func(data string) bool {
		d := jobData(t, data)
		if d.ID == id && d.Phase != "" && (len(phases) == 0 || phases[len(phases)-1] != d.Phase) {
			phases = append(phases, d.Phase)
		}
		return d.ID == id && d.Status == "done"
	})
	if !slices.Equal(phases, []string{"generating", "uploading"}) {
		t.Errorf("phases seen over SSE: %v, want generating then uploading", phases)
	}
	// The gallery's entry may end the job before the done event comes;
	// the event still brings the seed and the durations.
	waitFor(t, "the done job has its seed and durations", func() bool {
		var j apiJob
		st.getJSON("/api/jobs/"+id, &j)
		return j.Seed != nil && j.Durations[job.DurationGeneration] > 0 && j.Durations[job.DurationUpload] > 0
	})
	if typ := st.app.jobs.Typical(); typ[job.DurationGeneration] <= 0 {
		t.Errorf("typical durations: %v", typ)
	}
}
