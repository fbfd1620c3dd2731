package worker

import (
	"bytes"
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

type phaseKey struct{}

// The phases of a job as others see them: the running events at each phase
// change, the seconds of each phase in the done event, the metadata and
// /metrics (the contract in internal/job/event.go).

// withPhases hands the generator a way to say that its job moved on to
// another phase (docs/design.md, job phases): the warm driver and the CLI
// tell when the pipeline is built and generation starts.
func withPhases(ctx context.Context, f func(job.Phase)) context.Context {
	return context.WithValue(ctx, phaseKey{}, f)
}

func reportPhase(ctx context.Context, p job.Phase) {
	if f, ok := ctx.Value(phaseKey{}).(func(job.Phase)); ok {
		f(p)
	}
}

// lineWatch passes output through to w and notes when a line starting with
// prefix is first written (fastsdcpu's "Pipeline : " after its init).
type lineWatch struct {
	prefix string
	w      *tail
	seen   func()

	mu   sync.Mutex
	line []byte // the start of the current line, up to len(prefix)
	when time.Time
}

func (l *lineWatch) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	fire := false
	for _, c := range p {
		if !l.when.IsZero() {
			break
		}
		if c == '\n' {
			l.line = l.line[:0]
			continue
		}
		if len(l.line) < len(l.prefix) {
			l.line = append(l.line, c)
			if len(l.line) == len(l.prefix) && bytes.Equal(l.line, []byte(l.prefix)) {
				l.when, fire = now, true
			}
		}
	}
	l.mu.Unlock()
	if fire && l.seen != nil {
		l.seen()
	}
	return l.w.Write(p)
}

// at is when the line was first seen, zero if never.
func (l *lineWatch) at() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.when
}

// phases publishes a running job's phase each time it moves forward
// (loading_model < generating < uploading): once when the job starts, then
// at each change. Generators report from their own goroutines.
type phases struct {
	ev   *events
	base job.Event
	mu   sync.Mutex
	now  job.Phase
}

func (p *phases) enter(next job.Phase) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if next.Order() <= p.now.Order() {
		return
	}
	p.now = next
	e := p.base
	e.State, e.Phase = job.Started, next
	p.ev.send(e)
}

// observe records a done job's phases in /metrics.
func (w *Worker) observe(durations map[string]float64) {
	for phase, s := range durations {
		w.m.phase.WithLabelValues(phase).Observe(s)
	}
	if _, ok := durations[job.DurationModelLoad]; ok {
		w.m.modelLoads.WithLabelValues("job").Inc()
	}
}

// seedFor is the seed of a job that came without one, in fastsdcpu's range
// (a 32-bit unsigned integer, as job.Message allows): drawn from the job's
// id, so that jobs differ and a second run of one job (a redelivery, which
// writes the same object keys) draws the same picture as the first, which
// a browser may have cached for good.
func seedFor(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int64(h.Sum64() >> 32)
}

// timings are the measured phases of one job.
type timings struct {
	start, generated time.Time     // the job taken; the generator's output ready
	queueWait        time.Duration // since submission; -1 when unknown
	load, generation time.Duration // the generator's own time
	imagesUp         time.Duration // the images' upload (the JSON is written after it)
}

// durations are the phases in seconds (job.Duration* keys); upload is the
// whole upload, the JSON's included.
func (t timings) durations(upload time.Duration) map[string]float64 {
	d := map[string]float64{
		job.DurationGeneration: roundSeconds(t.generation),
		job.DurationUpload:     roundSeconds(upload),
	}
	if t.load > 0 {
		d[job.DurationModelLoad] = roundSeconds(t.load)
	}
	if t.queueWait >= 0 {
		d[job.DurationQueueWait] = roundSeconds(t.queueWait)
	}
	return d
}

// queueWait is the time from the job's submission (its submitted_at, set by
// the webui) to start, or -1 when the message does not say. Clocks of two
// machines differ: a negative wait reads as 0.
func queueWait(m job.Message, start time.Time) time.Duration {
	at, err := time.Parse(time.RFC3339Nano, m.SubmittedAt)
	if m.SubmittedAt == "" || err != nil {
		return -1
	}
	return max(start.Sub(at), 0)
}

// annotate adds the product's fields beside fastsdcpu's own.
func (w *Worker) annotate(meta map[string]any, m job.Message, attempt int, t timings) {
	meta[FieldJobID] = m.ID
	meta[FieldWorker] = w.cfg.WorkerName
	meta[FieldGenerator] = w.d.Generator.Name()
	meta[FieldStartedAt] = t.start.UTC().Format(time.RFC3339Nano)
	meta[FieldFinishedAt] = t.generated.UTC().Format(time.RFC3339Nano)
	meta[FieldGenerationSeconds] = roundSeconds(t.generation)
	if t.load > 0 {
		meta[FieldModelLoadSeconds] = roundSeconds(t.load)
	}
	if t.queueWait >= 0 {
		meta[FieldQueueWaitSeconds] = roundSeconds(t.queueWait)
	}
	meta[FieldUploadSeconds] = roundSeconds(t.imagesUp) // the images; the JSON itself is not in it
	meta[FieldAttempt] = attempt
	if m.Group != "" {
		meta[FieldGroup] = m.Group
	}
	if m.SubmittedAt != "" {
		meta[FieldSubmittedAt] = m.SubmittedAt
	}
}
