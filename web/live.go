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
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/web/components"
)

// jobEventData is the data of an SSE "job" event.
type jobEventData struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Rank     int    `json:"rank"`
	Position int    `json:"position,omitempty"`
	HTML     string `json:"html"` // the job card
}

// galleryEventData is the data of an SSE "gallery" event.
type galleryEventData struct {
	Op   string `json:"op"` // added, updated, removed, lost (re-read the page)
	ID   string `json:"id,omitempty"`
	HTML string `json:"html,omitempty"` // the entry card (added, updated)
}

// JobsToHub returns the tracker's onChange that sends each change to the
// browsers as a "job" event.
func JobsToHub(h *Hub, m *Metrics, now func() time.Time) func(Job) {
	return func(j Job) {
		if h.Clients() == 0 {
			return // nobody listens: spare the rendering
		}
		d := jobEventData{ID: j.ID, Status: string(j.State), Rank: j.Rank(), Position: j.Position,
			HTML: renderString(components.JobCard(jobVM(j, now())))}
		send(h, m, "job", d)
	}
}

// FollowStatus hands the status events of every worker and webui replica to
// apply until ctx ends, subscribing again when the stream breaks.
func FollowStatus(ctx context.Context, sub queue.StatusSubscriber, apply func(job.Event), log *slog.Logger) {
	wait := time.Second
	for ctx.Err() == nil {
		events, err := sub.SubscribeStatus(ctx)
		if err != nil {
			log.Warn("status events: subscribe", "err", err, "retry_in", wait.String())
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
			continue
		}
		wait = time.Second
		for e := range events {
			apply(e)
		}
	}
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
