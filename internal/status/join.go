package status

import (
	"context"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/job"
)

// Status events are transient: one published while no subscription listens
// (the webui starting, a subscriber that fell behind) is never seen. The end
// of a job is also written elsewhere, though: a done job's entry in the
// gallery, a failed job's dead letter. The tracker joins with both, so that
// a job's last state does not hang on one event arriving.

// lookup is the terminal event of a job as the gallery or the dead letters
// tell it, if they know it.
func (t *Tracker) lookup(ctx context.Context, id string) (job.Event, bool) {
	if e, ok, err := t.gallery.Get(ctx, id); err == nil && ok {
		return doneEvent(e), true
	}
	if t.dead != nil {
		if reason, at, ok := t.dead.DeadReason(id); ok {
			return job.Event{ID: id, State: job.Failed, Reason: reason, At: at}, true
		}
	}
	return job.Event{}, false
}

// doneEvent is the done event a gallery entry stands for.
func doneEvent(e gallery.Entry) job.Event {
	ev := job.Event{ID: e.ID, State: job.Done, Objects: e.Images, At: e.Modified}
	if m := e.Meta; m != nil {
		ev.Prompt, ev.Worker, ev.Group, ev.Count = m.Prompt, m.Worker, m.Group, m.NumberOfImages
		ev.NegativePrompt, ev.Width, ev.Height, ev.Steps = m.NegativePrompt, m.Width, m.Height, m.Steps
		// fastsdcpu writes seed -1, use_seed false when it drew a seed it
		// did not record.
		if seed, ok := m.SeedUsed(); ok {
			ev.Seed = &seed
		}
		if m.GuidanceScale > 0 {
			g := m.GuidanceScale
			ev.GuidanceScale = &g
		}
		if m.GenerationSeconds > 0 {
			ev.Durations = map[string]float64{job.DurationGeneration: m.GenerationSeconds}
		}
	}
	return ev
}

// reconcile looks up every job not finished. Run calls it every Reconcile,
// after the status subscription was made again, and when the gallery's
// changes were lost.
func (t *Tracker) reconcile(ctx context.Context) {
	for _, id := range t.table.unfinished() {
		if ctx.Err() != nil {
			return
		}
		if e, ok := t.lookup(ctx, id); ok {
			t.Apply(e)
		}
	}
}

// joinGallery marks a job done as soon as its entry enters the gallery,
// whether or not its done event comes.
func (t *Tracker) joinGallery(ctx context.Context) {
	events, cancel := t.gallery.Subscribe(256)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch ev.Op {
			case gallery.Added, gallery.Updated:
				if j, held := t.table.get(ev.Entry.ID); held && !j.Terminal() {
					e := ev.Entry
					if e.Meta == nil { // found by a relisting: the metadata is not read yet
						if full, ok, err := t.gallery.Get(ctx, e.ID); err == nil && ok {
							e = full
						}
					}
					t.Apply(doneEvent(e))
				}
			case gallery.Lost:
				t.reconcile(ctx)
			}
		}
	}
}
