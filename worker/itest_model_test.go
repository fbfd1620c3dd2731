package worker

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
)

// runInProcess runs a worker with gen on it's queue and store until the
// returned stop is called; heartbeat is shortened.
func runInProcess(t *testing.T, it *itest, gen Generator, reg prometheus.Registerer) (stop func()) {
	t.Helper()
	cfg := config.Worker{WorkerName: "inproc", Generator: config.Generator{JobTimeout: time.Minute},
		ShutdownGrace: time.Minute, EmptyQueueWait: time.Minute}
	w := New(cfg, Deps{Consume: it.q.Consume, Status: it.q, Store: it.st, Generator: gen, Log: testLogger(t), Metrics: reg})
	w.heartbeat = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	}
}

// A job that needs another model: its pipeline is built once, in the job
// (phase loading_model, model_load in its durations and metadata), counted
// in /metrics; the jobs around it pay no load.
func TestAJobThatNeedsAnotherModel(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	wl := newWarmLog(t)
	gen := NewWarm(config.Generator{Name: config.GeneratorWarm, FastSDCPUDir: it.checkout, Python: python(t),
		Device: "cpu", UseSafetyChecker: true, JobTimeout: time.Minute}, true)
	gen.env = append(wl.env(), "FAKE_LOAD_MS=300")
	gen.modelOf = func(m job.Message) map[string]any {
		args := gen.modelArgs(m)
		if strings.HasPrefix(m.Prompt, "sdxl:") {
			args["lcm_model_id"] = "stabilityai/sdxl-turbo"
		}
		return args
	}
	events, err := it.q.SubscribeStatus(ctxT(t, 2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	stop := runInProcess(t, it, gen, reg)
	ids := []string{job.NewID(), job.NewID(), job.NewID()}
	for i, p := range []string{"a fox", "sdxl: a fox", "sdxl: a hare"} {
		it.publish(job.Message{ID: ids[i], Prompt: p, Count: 1})
	}
	it.waitEntries(3)

	phases := map[string][]job.Phase{}
	durations := map[string]map[string]float64{}
	beats := 0
	timeout := time.After(30 * time.Second)
	for len(durations) < 3 || beats < 2 {
		select {
		case e := <-events:
			switch {
			case e.IsWorker() && e.WorkerState == job.WorkerIdle:
				beats++
			case e.State == job.Started:
				phases[e.ID] = append(phases[e.ID], e.Phase)
			case e.State == job.Done:
				durations[e.ID] = e.Durations
			}
		case <-timeout:
			t.Fatalf("events: phases %v, durations %v, idle events %d", phases, durations, beats)
		}
	}
	stop()
	if got := phases[ids[1]]; !slices.Equal(got, []job.Phase{job.PhaseLoading, job.PhaseGenerating, job.PhaseUploading}) {
		t.Errorf("phases of the job that loads: %v", got)
	}
	for _, id := range []string{ids[0], ids[2]} {
		if got := phases[id]; !slices.Equal(got, []job.Phase{job.PhaseGenerating, job.PhaseUploading}) {
			t.Errorf("phases of %s: %v", id, got)
		}
		if _, ok := durations[id][job.DurationModelLoad]; ok {
			t.Errorf("%s paid a load: %v", id, durations[id])
		}
	}
	if d := durations[ids[1]][job.DurationModelLoad]; d < 0.25 {
		t.Errorf("model_load of the job that loads: %v", durations[ids[1]])
	}
	if meta := it.metadata(ids[1]); meta["lcm_model_id"] != "stabilityai/sdxl-turbo" || meta["model_load_seconds"].(float64) < 0.25 {
		t.Errorf("metadata: model %v, load %v", meta["lcm_model_id"], meta["model_load_seconds"])
	}
	if n := len(wl.builds()); n != 2 {
		t.Errorf("%d pipeline builds, want 2", n)
	}
	for when, want := range map[string]float64{"start": 1, "job": 1} {
		if got := metricValue(t, reg, "sdkeda_worker_model_loads_total", "when", when); got != want {
			t.Errorf("model loads when=%s: %v, want %v", when, got, want)
		}
	}
	if got := metricValue(t, reg, "sdkeda_worker_phase_seconds", "phase", "model_load"); got != 1 {
		t.Errorf("model_load observations: %v, want 1", got)
	}
	if got := metricValue(t, reg, "sdkeda_worker_phase_seconds", "phase", "generation"); got != 3 {
		t.Errorf("generation observations: %v, want 3", got)
	}
}

// metricValue is a counter's value, or a histogram's count, of the series
// of name whose label is value.
func metricValue(t *testing.T, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if h := m.GetHistogram(); h != nil {
						return float64(h.GetSampleCount())
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

// The worker always passes a seed: N placeholder jobs of one prompt give N
// different pictures, and each metadata says its seed.
func TestJobsOfOnePromptDifferBySeed(t *testing.T) {
	t.Parallel()
	it := newITest(t, nil, queue.Options{})
	stop := runInProcess(t, it, Placeholder{}, nil)
	defer stop()
	ids := []string{job.NewID(), job.NewID(), job.NewID()}
	for _, id := range ids {
		it.publish(job.Message{ID: id, Prompt: "the same prompt", Count: 1})
	}
	it.waitEntries(3)
	pictures, seeds := map[string]bool{}, map[float64]bool{}
	for _, id := range ids {
		meta := it.metadata(id)
		seed, _ := meta["seed"].(float64)
		if meta["use_seed"] != true || seed < 0 {
			t.Errorf("%s: seed %v use_seed %v", id, meta["seed"], meta["use_seed"])
		}
		seeds[seed] = true
		r, _, err := it.st.Get(ctxT(t, 10*time.Second), store.ImageKey(id, 1))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		pictures[fmt.Sprintf("%x", b)] = true
	}
	if len(pictures) != 3 || len(seeds) != 3 {
		t.Errorf("%d different pictures, %d different seeds, want 3 of each", len(pictures), len(seeds))
	}
}
