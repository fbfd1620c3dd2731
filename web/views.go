package web

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/job"
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

// imageVMs are the images of one job: seed is its seed ("" unknown).
func imageVMs(keys []string, prompt, seed string) []components.ImageVM {
	out := make([]components.ImageVM, 0, len(keys))
	for i, k := range keys {
		alt, caption := prompt, ""
		if len(keys) > 1 {
			alt = fmt.Sprintf("%s (image %d of %d)", prompt, i+1, len(keys))
			caption = fmt.Sprintf("image %d of %d", i+1, len(keys))
		}
		if seed != "" {
			caption = strings.TrimPrefix(caption+" · seed "+seed, " · ")
		}
		out = append(out, components.ImageVM{URL: imageURL(k), Thumb: thumbURL(k), Alt: alt,
			Download: downloadName(prompt, seed, k, i+1), Caption: caption})
	}
	return out
}

// downloadName is a file name a person recognises in their downloads: the
// prompt's first words, the seed (else the job id's start) and the number.
func downloadName(prompt, seed, key string, n int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(prompt) {
		if b.Len() >= 48 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" {
		name = "image"
	}
	tag := seed
	if tag == "" {
		_, id, _ := store.ParseKey(key)
		tag = id[:min(8, len(id))]
	}
	return fmt.Sprintf("%s-%s-%d.png", name, tag, n)
}

func seedText(s *int64) string {
	if s == nil {
		return ""
	}
	return strconv.FormatInt(*s, 10)
}

func jobVM(j status.Job, sc scene) components.JobVM {
	seed := seedText(j.Seed)
	vm := components.JobVM{
		ID: j.ID, Prompt: j.Prompt, Count: j.Count, Status: string(j.State), Rank: j.Rank(),
		Position: j.Position, StartedAt: j.StartedAt, Reason: j.Reason, Worker: j.Worker,
		Elapsed: elapsed(j, sc.now), Seed: seed, Waiting: sc.waiting(j),
		Images:    imageVMs(j.Images, j.Prompt, seed),
		CanCancel: j.Waiting(),
		CanRetry:  (j.State == job.Failed || j.State == job.Cancelled) && j.Prompt != "",
	}
	vm.Estimate, vm.EstimateAt = sc.estimate(j)
	if vm.Prompt == "" {
		vm.Prompt = "Job " + j.ID
	}
	if j.Prompt != "" {
		s := reuseOf(j)
		vm.ReuseURL = s.url()
		vm.Details = s.details(j.Worker, "")
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

// reuse is every setting of a job or submission: "Reuse" fills the form
// with them (app.js, or GET / with them in the query), and the same seed
// with the same count, parallel or not, makes the same images again.
type reuse struct {
	Prompt, NegativePrompt string
	Count                  int
	Parallel               bool
	Seed                   *int64
	Width, Height, Steps   int
	Guidance               *float64
}

func reuseOf(j status.Job) reuse {
	s := j.Settings
	return reuse{Prompt: j.Prompt, NegativePrompt: s.NegativePrompt, Count: max(j.Count, 1), Seed: j.Seed,
		Width: s.Width, Height: s.Height, Steps: s.Steps, Guidance: s.GuidanceScale}
}

func reuseOfMeta(m *gallery.Meta) reuse {
	r := reuse{Prompt: m.Prompt, NegativePrompt: m.NegativePrompt, Count: max(m.NumberOfImages, 1),
		Width: m.Width, Height: m.Height, Steps: m.Steps}
	if seed, ok := m.SeedUsed(); ok {
		r.Seed = &seed
	}
	if m.GuidanceScale > 0 {
		g := m.GuidanceScale
		r.Guidance = &g
	}
	return r
}

// url is GET / with the settings in the query (formFromQuery reads it).
func (r reuse) url() string {
	q := url.Values{"prompt": {r.Prompt}, "count": {strconv.Itoa(r.Count)}, "parallel": {onOff(r.Parallel)}}
	set := func(k, v string) {
		if v != "" && v != "0" {
			q.Set(k, v)
		}
	}
	set("negative_prompt", r.NegativePrompt)
	set("width", strconv.Itoa(r.Width))
	set("height", strconv.Itoa(r.Height))
	set("steps", strconv.Itoa(r.Steps))
	if r.Seed != nil {
		q.Set("seed", strconv.FormatInt(*r.Seed, 10))
	}
	if r.Guidance != nil {
		q.Set("guidance_scale", strconv.FormatFloat(*r.Guidance, 'g', -1, 64))
	}
	return "/?" + q.Encode() + "#composer"
}

// details are the settings as lines for the lightbox and "All settings".
func (r reuse) details(worker, model string) []components.Detail {
	ds := []components.Detail{{Name: "Prompt", Value: r.Prompt}}
	add := func(name, v string) {
		if v != "" && v != "0" {
			ds = append(ds, components.Detail{Name: name, Value: v})
		}
	}
	add("Negative prompt", r.NegativePrompt)
	add("Seed", seedText(r.Seed))
	if r.Width > 0 && r.Height > 0 {
		add("Size", fmt.Sprintf("%d × %d", r.Width, r.Height))
	}
	add("Steps", strconv.Itoa(r.Steps))
	if r.Guidance != nil {
		add("Guidance scale", strconv.FormatFloat(*r.Guidance, 'g', -1, 64))
	}
	add("Images", strconv.Itoa(r.Count))
	add("Model", model)
	add("Worker", worker)
	return ds
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
