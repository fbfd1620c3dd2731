package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/a-h/templ"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/status"
	"github.com/sdkeda/sdkeda/web/components"
)

// jobEventData is the data of an SSE "job" event.
type jobEventData struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Phase    string `json:"phase,omitempty"` // running: loading_model, generating, uploading
	Rank     int    `json:"rank"`
	Position int    `json:"position,omitempty"`
	HTML     string `json:"html"` // the job card
}

// fleetEventData is the data of an SSE "fleet" event: the workers by state
// (starting, loading, idle, busy, stopping) and the jobs waiting in the
// queue (-1: not known yet).
type fleetEventData struct {
	Workers map[string]int `json:"workers"`
	Depth   int            `json:"depth"`
	HTML    string         `json:"html"` // the strip
}

func fleetData(f status.Fleet) fleetEventData {
	d := fleetEventData{Workers: map[string]int{}, Depth: f.Depth}
	for _, w := range f.Workers {
		d.Workers[string(w.State)]++
	}
	return d
}

// galleryEventData is the data of an SSE "gallery" event.
type galleryEventData struct {
	Op   string `json:"op"` // added, updated, removed, lost (re-read the page)
	ID   string `json:"id,omitempty"`
	HTML string `json:"html,omitempty"` // the entry card (added, updated)
}

// FollowJobs sends the status's changes (package status: Tracker.Changes,
// subscribed by the caller before anything can change) to the browsers
// until ctx ends or changes closes: a job's card only to the clients whose
// cookie holds the job (issue 12, D9: no one else learns its prompt or
// state); to everyone "fleet" events (the workers and the queue's depth), a
// "jobs" event without data when a job leaves the line (places moved:
// re-read the waiting cards) or after lost changes (re-read every card).
// scenes (the tracker) gives what a card says of waiting.
func FollowJobs(ctx context.Context, changes <-chan status.Change, scenes sceneSource, h *Hub, m *Metrics, now func() time.Time) {
	for {
		var c status.Change
		var ok bool
		select {
		case <-ctx.Done():
			return
		case c, ok = <-changes:
			if !ok {
				return
			}
		}
		if c.Kind == status.JobChanged && c.Job.ReasonKind != "" && m != nil {
			m.jobReason(c.Job)
		}
		if h.Clients() == 0 {
			continue // nobody listens: spare the rendering
		}
		switch c.Kind {
		case status.JobChanged:
			j := c.Job
			if h.Wants(j.ID) {
				sendTo(h, m, j.ID, "job", jobEventData{ID: j.ID, Status: string(j.State), Phase: string(j.Phase), Rank: j.Rank(),
					Position: j.Position, HTML: renderString(components.JobCard(jobVM(j, sceneOf(scenes, now()))))})
			}
			if leftLine(j) {
				send(h, m, "jobs", jobsEventData{Op: "moved"})
			}
		case status.FleetChanged:
			d := fleetData(c.Fleet)
			d.HTML = renderString(components.Fleet(fleetVM(c.Fleet)))
			send(h, m, "fleet", d)
		case status.Lost:
			send(h, m, "jobs", jobsEventData{Op: "lost"})
		}
	}
}

// leftLine reports whether j's change may have moved the line: it is no
// longer waiting, and is not merely a later phase of the same run.
func leftLine(j status.Job) bool {
	if j.Waiting() {
		return false
	}
	return j.State != job.Started || j.PhaseAt.IsZero() || j.PhaseAt.Equal(j.StartedAt)
}

// jobsEventData is the data of an SSE "jobs" event: "lost" means re-read
// every card, "moved" the cards of waiting jobs (their places).
type jobsEventData struct {
	Op string `json:"op"`
}

// GalleryFeed is what FollowGallery needs of the index.
type GalleryFeed interface {
	Subscribe(buf int) (<-chan gallery.Event, func())
	Get(ctx context.Context, id string) (gallery.Entry, bool, error)
}

// FollowGallery sends the index's changes to the browsers as "gallery"
// events until ctx ends.
func FollowGallery(ctx context.Context, g GalleryFeed, h *Hub, m *Metrics, log *slog.Logger, now func() time.Time) {
	events, unsubscribe := g.Subscribe(256)
	defer unsubscribe()
	for {
		var ev gallery.Event
		var ok bool
		select {
		case <-ctx.Done():
			return
		case ev, ok = <-events:
			if !ok {
				return
			}
		}
		d := galleryEventData{Op: ev.Op.String(), ID: ev.Entry.ID}
		switch ev.Op {
		case gallery.Added, gallery.Updated:
			e := ev.Entry
			if e.Meta == nil {
				full, found, err := g.Get(ctx, e.ID)
				if err != nil {
					log.Warn("gallery event: metadata", "entry_id", e.ID, "err", err)
				}
				if !found {
					continue // gone again already; its removal follows
				}
				e = full
			}
			d.HTML = renderString(components.EntryCard(entryVM(e, now())))
		case gallery.Lost:
			d.ID = ""
		}
		send(h, m, "gallery", d)
	}
}

func send(h *Hub, m *Metrics, name string, data any) { sendTo(h, m, "", name, data) }

// sendTo sends an event to the clients that follow job (every client when
// job is "").
func sendTo(h *Hub, m *Metrics, job, name string, data any) {
	b, _ := json.Marshal(data)
	if n := h.Send(sseEvent{Name: name, Data: b, Job: job}); n > 0 && m != nil {
		m.sseDropped.Add(float64(n))
	}
}

func renderString(c templ.Component) string {
	var b bytes.Buffer
	_ = c.Render(context.Background(), &b) // rendering into memory cannot fail
	return b.String()
}
