// Package gallery is the webui's in-memory index of the complete entries of
// the bucket (docs/design.md §2.3): filled by one listing at start, kept by the store's
// change notifications, and re-checked by a periodic full listing because
// notifications can be lost. A page costs O(page): entries are kept sorted
// newest first and paged by cursor; metadata JSON is read lazily for the
// entries a page shows and kept in a bounded cache.
package gallery

import (
	"errors"
	"log/slog"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/store"
)

// ErrBadCursor is returned by Page for a cursor it did not make.
var ErrBadCursor = errors.New("gallery: bad cursor")

// ErrNotFound is store.ErrNotFound: Get and Thumbnail wrap it for an entry or
// image the index does not hold.
var ErrNotFound = store.ErrNotFound

// MaxPage caps the limit of Page.
const MaxPage = 200

// DefaultPage is the limit Page uses for limit <= 0.
const DefaultPage = 24

// Meta is what the gallery shows of an entry's metadata JSON: fastsdcpu's own
// fields plus those the worker adds. Every field is optional: old buckets hold
// pure fastsdcpu JSON, and a JSON that does not parse, or is too large to
// read, leaves Meta zero. ParseMeta bounds it and makes it safe to encode.
type Meta struct {
	Prompt         string  `json:"prompt"`
	NegativePrompt string  `json:"negative_prompt,omitempty"`
	Model          string  `json:"model,omitempty"`           // lcm_model_id, or openvino_lcm_model_id when use_openvino
	LoraBaseModel  string  `json:"lora_base_model,omitempty"` // lcm_lora.base_model_id
	UseOpenVINO    bool    `json:"use_openvino,omitempty"`
	UseLCMLora     bool    `json:"use_lcm_lora,omitempty"`
	Width          int     `json:"width,omitempty"`
	Height         int     `json:"height,omitempty"`
	Steps          int     `json:"steps,omitempty"`
	GuidanceScale  float64 `json:"guidance_scale,omitempty"`
	Seed           int64   `json:"seed"`
	UseSeed        bool    `json:"use_seed"` // Seed made the images (fastsdcpu writes seed -1, use_seed false when it drew one itself)
	ImageSeeds     []int64 `json:"image_seeds,omitempty"`
	NumberOfImages int     `json:"number_of_images,omitempty"`

	// Added by this product's worker; zero for old entries.
	JobID             string    `json:"job_id,omitempty"`
	Worker            string    `json:"worker,omitempty"`
	Generator         string    `json:"generator,omitempty"`
	Group             string    `json:"group,omitempty"` // the submission: "in parallel" jobs share it
	StartedAt         time.Time `json:"started_at,omitzero"`
	FinishedAt        time.Time `json:"finished_at,omitzero"`
	GenerationSeconds float64   `json:"generation_seconds,omitempty"`
}

// SeedUsed is the seed that made the images, when the metadata says so.
func (m *Meta) SeedUsed() (int64, bool) {
	if m == nil || !m.UseSeed || m.Seed < 0 || m.Seed > job.MaxSeed {
		return 0, false
	}
	return m.Seed, true
}

// Entry is one complete entry: its metadata JSON exists.
type Entry struct {
	ID       string
	Modified time.Time // of the metadata JSON, in whole seconds: the sort key, then ID
	Images   []string  // object keys of its images, in image-number order
	Meta     *Meta     // nil until loaded: Page and Get load it, events may not; shared, read-only
}

// Thumbs are the thumbnail keys of e's images, in the order of Images; pass
// the image numbers (store.ParseKey) to Index.Thumbnail to get them.
func (e Entry) Thumbs() []string {
	out := make([]string, 0, len(e.Images))
	for _, k := range e.Images {
		if _, id, n := store.ParseKey(k); id != "" {
			out = append(out, store.ThumbKey(id, n))
		}
	}
	return out
}

// EventOp is what happened to an entry.
type EventOp int

// The events a subscriber sees.
const (
	// Added: a new complete entry (its JSON appeared).
	Added EventOp = iota + 1
	// Removed: the entry's JSON vanished; Entry holds what was known.
	Removed
	// Updated: the JSON was overwritten or the set of images changed.
	Updated
	// Lost: this subscriber was too slow and lost events before this one;
	// re-read the page (Entry is zero).
	Lost
)

func (o EventOp) String() string {
	switch o {
	case Added:
		return "added"
	case Removed:
		return "removed"
	case Updated:
		return "updated"
	case Lost:
		return "lost"
	}
	return "unknown"
}

// Event is one change of the index, sent to subscribers. Entry.Meta is set
// when the metadata is at hand (a notified JSON is read before its event);
// it is nil when a resync found the change: call Get for it.
type Event struct {
	Op    EventOp
	Entry Entry
}

// Options tune an Index; zero values take the defaults.
type Options struct {
	// Resync (RESYNC_INTERVAL, default 5 min) is the time between full
	// relistings while the store's notifications arrive on time, and the
	// longest one otherwise. While they do not, the index relists as often
	// as the LIST budget (ListRate) allows, at most every 20 times the last
	// relisting's duration and every MinResync: see schedule.go.
	Resync    time.Duration
	MinResync time.Duration // default 1s
	ListRate  float64       // LIST calls per second relisting may spend, averaged; default 1
	MetaCache int           // parsed metadata kept (LRU); default 2000
	// MetaCacheBytes bounds the LRU by size too (Meta's strings); default
	// 8 MiB: 2,000 entries of usual prompts, at least ~700 of the largest.
	MetaCacheBytes int
	// MaxPrompt (MAX_PROMPT_LENGTH) bounds the prompt shown, in characters,
	// and so the metadata JSON read (maxMetaSize); default
	// job.DefaultLimits.MaxPromptLength.
	MaxPrompt int
	// ThumbBudget bounds the memory of the images decoded for thumbnails at
	// once, in bytes (default 64 MiB): an image whose decoding alone would
	// take more gets a placeholder thumbnail.
	ThumbBudget int64
	Log         *slog.Logger // default: discard
}

func (o Options) withDefaults() Options {
	if o.Resync <= 0 {
		o.Resync = 5 * time.Minute
	}
	if o.MinResync <= 0 {
		o.MinResync = time.Second
	}
	if o.MinResync > o.Resync {
		o.MinResync = o.Resync
	}
	if o.ListRate <= 0 {
		o.ListRate = 1
	}
	if o.MetaCache <= 0 {
		o.MetaCache = 2000
	}
	if o.MetaCacheBytes <= 0 {
		o.MetaCacheBytes = 8 << 20
	}
	if o.MaxPrompt <= 0 {
		o.MaxPrompt = job.DefaultLimits.MaxPromptLength
	}
	if o.ThumbBudget <= 0 {
		o.ThumbBudget = defaultThumbBudget
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}
