// Package components holds the templ components of the webui. They take the
// view-model structs of this file, never a store or a queue: one component
// renders both the full page and the htmx fragment of the same part.
package components

import "time"

// PageVM is the whole page.
type PageVM struct {
	AssetVersion string // cache-busting query of /static files
	About        string // the banner line: what runs behind this page
	// Refresh: one of this browser's jobs waits or runs, so without
	// JavaScript the page reloads itself every few seconds (a <noscript>
	// meta refresh; with JavaScript the cards follow the events).
	Refresh  bool
	Fleet    FleetVM
	Composer ComposerVM
	Gallery  GalleryVM
}

// ComposerVM is the form and the job cards of this browser.
type ComposerVM struct {
	Form FormVM
	Jobs JobListVM
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
	MaxGuidance    string
	Parallel       bool
	NegativePrompt string
	Seed           string
	Width          string
	Height         string
	Steps          string
	Guidance       string
	// Advanced is whether the "advanced" part was open when the form was
	// sent ("open", "closed"); "" unfolds it when it holds a value.
	Advanced string
	Errors   map[string]string // field name -> reason
	Problem  string            // an error of the whole form (429, 503)
	Notice   string            // what the last submission or action did
}

// AdvancedOpen reports whether the "advanced" part should be unfolded: as
// it was sent, and always when one of its fields is wrong.
func (f FormVM) AdvancedOpen() bool {
	for _, k := range advancedFields {
		if f.Errors[k] != "" {
			return true
		}
	}
	switch f.Advanced {
	case "open":
		return true
	case "closed":
		return false
	}
	return f.NegativePrompt != "" || f.Seed != "" || f.Width != "" || f.Height != "" || f.Steps != "" || f.Guidance != ""
}

var advancedFields = []string{"negative_prompt", "seed", "width", "height", "steps", "guidance_scale"}

// AdvancedState is the value of the hidden "advanced" field.
func (f FormVM) AdvancedState() string {
	if f.AdvancedOpen() {
		return "open"
	}
	return "closed"
}

// JobListVM is this browser's job cards, newest first, the jobs of one
// submission together.
type JobListVM struct {
	Groups   []JobGroupVM
	Finished int    // cards that are done, failed or cancelled: "clear finished"
	Problem  string // what went wrong with the last action on a card (cancel, retry)
}

// JobGroupVM is the jobs of one submission: one job, or the N jobs of an
// "in parallel" submission (Group set).
type JobGroupVM struct {
	Group   string
	Prompt  string
	Summary string // "3 images in parallel · seeds 11–13"
	Jobs    []JobVM
}

// JobVM is one job card.
type JobVM struct {
	ID         string
	Prompt     string
	Count      int
	Status     string    // queued, retrying, running, done, failed, cancelled
	Rank       int       // grows with every state change; the browser never swaps a card for an older one
	Position   int       // about where a queued job is in line; 0 = unknown
	Waiting    string    // what a waiting or running job waits for, in words
	Estimate   string    // "about 20 s left", from recent jobs; "" = no estimate
	EstimateAt time.Time // when the estimate says it ends (running) or starts (waiting): the browser counts down
	StartedAt  time.Time
	Elapsed    time.Duration // running: so far; done: the whole run
	Images     []ImageVM
	Reason     string
	Worker     string
	Seed       string // "" = not known (yet)
	Details    []Detail
	ReuseURL   string
	CanCancel  bool
	CanRetry   bool
}

// Finished reports whether the card is done, failed or cancelled: such cards
// are drawn compact.
func (j JobVM) Finished() bool {
	return j.Status == "done" || j.Status == "failed" || j.Status == "cancelled"
}

// ImageVM is one image of a job or gallery entry.
type ImageVM struct {
	URL      string // the full PNG
	Thumb    string // a small JPEG
	Alt      string
	Download string // file name for the download link: prompt, seed, number
	Caption  string // "image 2 of 4 · seed 77": the lightbox's title
}

// Detail is one line of an image's metadata.
type Detail struct {
	Name, Value string
}

// GalleryVM is one page of the gallery.
type GalleryVM struct {
	Entries []EntryVM
	Next    string // cursor of the next (older) page; "" = none
	Ready   bool   // false while the index is still filling
	Older   bool   // this is not the newest page (reached by ?before=)
}

// EntryVM is one gallery card: one entry, or every entry of one submission
// on this page ("in parallel" jobs share a group).
type EntryVM struct {
	ID       string // the card's first (newest) entry
	Group    string
	Prompt   string
	Model    string
	Lora     string
	Size     string // "512 × 512"
	Seeds    string // "77" or "11, 12, 13"
	Created  time.Time
	Age      string // "3 minutes ago" at render time; the browser updates it
	Sets     []ShotSetVM
	ReuseURL string
	Details  []Detail // the first entry's full metadata
}

// ShotSetVM is the images of one entry (one job) in a card.
type ShotSetVM struct {
	ID      string
	Seed    string
	Images  []ImageVM
	Details []Detail
}

// FleetVM is the strip of workers by state and the queue's depth.
type FleetVM struct {
	Shown    bool // the webui tracks the fleet: draw the strip
	Known    bool // a worker was heard of (false: none runs, or none tells)
	Starting int
	Loading  int
	Idle     int
	Busy     int
	Stopping int
	Queue    int  // jobs waiting in the queue
	QueueOK  bool // the depth is known
}
