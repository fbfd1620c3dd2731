package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/a-h/templ"

	"github.com/sdkeda/sdkeda/internal/gallery"
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
// until ctx ends or changes closes: "job" events (a card), "fleet" events
// (the workers and the queue's depth), and after lost changes a "jobs"
// event that tells the pages to re-read their cards.
func FollowJobs(ctx context.Context, changes <-chan status.Change, h *Hub, m *Metrics, now func() time.Time) {
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
		if h.Clients() == 0 {
			continue // nobody listens: spare the rendering
		}
		switch c.Kind {
		case status.JobChanged:
			j := c.Job
			send(h, m, "job", jobEventData{ID: j.ID, Status: string(j.State), Phase: string(j.Phase), Rank: j.Rank(),
				Position: j.Position, HTML: renderString(components.JobCard(jobVM(j, now())))})
		case status.FleetChanged:
			send(h, m, "fleet", fleetData(c.Fleet))
		case status.Lost:
			send(h, m, "jobs", jobsEventData{Op: "lost"})
		}
	}
}

// jobsEventData is the data of an SSE "jobs" event: "lost" means re-read
// every card.
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

func send(h *Hub, m *Metrics, name string, data any) {
	b, _ := json.Marshal(data)
	if n := h.Send(sseEvent{Name: name, Data: b}); n > 0 && m != nil {
		m.sseDropped.Add(float64(n))
	}
}

func renderString(c templ.Component) string {
	var b bytes.Buffer
	_ = c.Render(context.Background(), &b) // rendering into memory cannot fail
	return b.String()
}
