// Package components holds the templ components of the webui. They take the
// view-model structs of this file, never a store or a queue: one component
// renders both the full page and the htmx fragment of the same part.
package components

import "time"

// PageVM is the whole page.
type PageVM struct {
	AssetVersion string // cache-busting query of /static files
	Composer     ComposerVM
	Gallery      GalleryVM
}

// ComposerVM is the form and the job cards of this browser.
type ComposerVM struct {
	Form FormVM
	Jobs []JobVM
}

// FormVM is the prompt form, with the values to show and the errors by field.
type FormVM struct {
	Prompt         string
	Count          int
	MaxCount       int
	MaxPrompt      int
	MinSide        int // width and height bounds (job.Limits)
	MaxSide        int
	MaxSteps       int
	Parallel       bool
	NegativePrompt string
	Seed           string
	Width          string
	Height         string
	Steps          string
	Errors         map[string]string // field name -> reason
	Problem        string            // an error of the whole form (429, 503)
	Notice         string            // what the last submission did
}

// AdvancedOpen reports whether the "advanced" part should be unfolded.
func (f FormVM) AdvancedOpen() bool {
	if f.NegativePrompt != "" || f.Seed != "" || f.Width != "" || f.Height != "" || f.Steps != "" {
		return true
	}
	for _, k := range []string{"negative_prompt", "seed", "width", "height", "steps"} {
		if f.Errors[k] != "" {
			return true
		}
	}
	return false
}

// JobVM is one job card.
type JobVM struct {
	ID        string
	Prompt    string
	Count     int
	Status    string // queued, retrying, running, done, failed
	Rank      int    // grows with every state change; the browser never swaps a card for an older one
	Position  int    // about where a queued job is in line; 0 = unknown
	StartedAt time.Time
	Elapsed   time.Duration // running: so far; done: the whole run
	Images    []ImageVM
	Reason    string
	Worker    string
}

// ImageVM is one image of a job or gallery entry.
type ImageVM struct {
	URL   string // the full PNG
	Thumb string // a small JPEG
	Alt   string
}

// GalleryVM is one page of the gallery.
type GalleryVM struct {
	Entries []EntryVM
	Next    string // cursor of the next (older) page; "" = none
	Ready   bool   // false while the index is still filling
	Older   bool   // this is not the newest page (reached by ?before=)
}

// EntryVM is one gallery card.
type EntryVM struct {
	ID       string
	Prompt   string
	Model    string
	Lora     string
	Size     string // "512 × 512"
	Seed     string
	Created  time.Time
	Age      string // "3 minutes ago" at render time; the browser updates it
	Images   []ImageVM
	ReuseURL string
}
