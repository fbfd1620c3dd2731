package web

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/status"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/web/components"
)

// imageURL and thumbURL are where GET /images serves a key of the layout.
func imageURL(key string) string { return "/images/" + key }

func thumbURL(imageKey string) string {
	if _, id, n := store.ParseKey(imageKey); id != "" {
		return "/images/" + store.ThumbKey(id, n)
	}
	return imageURL(imageKey)
}

func imageVMs(keys []string, prompt string) []components.ImageVM {
	out := make([]components.ImageVM, 0, len(keys))
	for i, k := range keys {
		alt := prompt
		if len(keys) > 1 {
			alt = fmt.Sprintf("%s (image %d of %d)", prompt, i+1, len(keys))
		}
		out = append(out, components.ImageVM{URL: imageURL(k), Thumb: thumbURL(k), Alt: alt})
	}
	return out
}

func jobVM(j status.Job, now time.Time) components.JobVM {
	vm := components.JobVM{
		ID: j.ID, Prompt: j.Prompt, Count: j.Count, Status: string(j.State), Rank: j.Rank(),
		Position: j.Position, StartedAt: j.StartedAt, Reason: j.Reason, Worker: j.Worker,
		Elapsed: elapsed(j, now),
		Images:  imageVMs(j.Images, j.Prompt),
	}
	if vm.Prompt == "" {
		vm.Prompt = "Job " + j.ID
	}
	return vm
}

// elapsed is how long the job has run, or ran.
func elapsed(j status.Job, now time.Time) time.Duration {
	switch {
	case j.StartedAt.IsZero():
		return 0
	case j.Terminal():
		return max(j.FinishedAt.Sub(j.StartedAt), 0)
	}
	return max(now.Sub(j.StartedAt), 0)
}

func entryVM(e gallery.Entry, now time.Time) components.EntryVM {
	m := e.Meta
	if m == nil {
		m = &gallery.Meta{}
	}
	if p := m.Prompt; len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
		// The seed's consumer passed jq's quoted output on: its entries
		// carry the quotes, which the old page hid.
		c := *m
		c.Prompt = p[1 : len(p)-1]
		m = &c
	}
	vm := components.EntryVM{
		ID: e.ID, Prompt: m.Prompt, Model: m.Model, Lora: m.LoraBaseModel,
		Created: e.Modified, Age: Ago(e.Modified, now),
		Images: imageVMs(e.Images, m.Prompt),
	}
	if m.Width > 0 && m.Height > 0 {
		vm.Size = fmt.Sprintf("%d × %d", m.Width, m.Height)
	}
	q := url.Values{"prompt": {m.Prompt}}
	if m.Seed > 0 {
		vm.Seed = strconv.FormatInt(m.Seed, 10)
		q.Set("seed", vm.Seed)
	}
	vm.ReuseURL = "/?" + q.Encode() + "#composer"
	return vm
}

// Ago says how long ago t was, as people do: "just now", "3 minutes ago".
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one + " ago"
		}
		return strconv.Itoa(n) + " " + one + "s ago"
	}
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < 90*time.Second:
		return "a minute ago"
	case d < time.Hour:
		return unit(int((d+30*time.Second)/time.Minute), "minute")
	case d < 24*time.Hour:
		return unit(int((d+30*time.Minute)/time.Hour), "hour")
	case d < 30*24*time.Hour:
		return unit(int((d+12*time.Hour)/(24*time.Hour)), "day")
	case d < 365*24*time.Hour:
		return unit(int(d/(30*24*time.Hour)), "month")
	}
	return unit(int(d/(365*24*time.Hour)), "year")
}
