package gallery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Bounds of what the gallery keeps of a metadata JSON, whoever wrote it:
// anything can write into the bucket, and every entry a page shows is
// parsed, cached and sent to every browser.
const (
	// maxShortField bounds the model ids, job id, worker and generator, in
	// bytes (a Hugging Face id is at most 96 characters).
	maxShortField = 200
	// maxSeeds bounds image_seeds: one per image.
	maxSeeds = maxImage
)

// maxMetaSize is the largest metadata JSON read, in bytes, for prompts of at
// most maxPrompt characters (MAX_PROMPT_LENGTH bounds the prompt and the
// negative prompt): the worker's JSON with both at the limit, every
// character escaped as a UTF-16 surrogate pair (12 bytes, as Python's
// json.dumps writes an emoji), and 64 KiB for the rest (fastsdcpu's own
// fields are ~1 KB). A larger JSON is not read: its entry shows without
// metadata.
func maxMetaSize(maxPrompt int) int {
	return 64<<10 + 12*2*maxPrompt
}

// sortTime is the sort key of a JSON modified at t: whole seconds, because
// S3 gives a HEAD (and so Get) the time in seconds and a listing in
// milliseconds, and an entry must sort the same whichever way it came in.
// Entries of the same second sort by id.
func sortTime(t time.Time) int64 { return t.Truncate(time.Second).UnixNano() }

// metaBufs recycles the buffers of metadata reads (ParseMeta copies what it
// keeps).
var metaBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readMeta reads and parses the JSON of id. A JSON larger than maxMetaSize
// gives a zero Meta (logged once per id and time) without being read.
func (ix *Index) readMeta(ctx context.Context, id string) (*Meta, store.Object, error) {
	key := store.MetadataKey(id)
	rc, obj, err := ix.s.Get(ctx, key)
	if err != nil {
		return nil, obj, err
	}
	defer rc.Close()
	limit := maxMetaSize(ix.o.MaxPrompt)
	if obj.Size > int64(limit) {
		ix.tooLarge(id, obj, limit)
		return &Meta{}, obj, nil
	}
	buf := metaBufs.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		metaBufs.Put(buf)
	}()
	// One byte more than the limit tells a JSON the store gave no size for.
	if _, err := buf.ReadFrom(io.LimitReader(rc, int64(limit)+1)); err != nil {
		return nil, obj, fmt.Errorf("gallery: read %s: %w", key, err)
	}
	if buf.Len() > limit {
		ix.tooLarge(id, obj, limit)
		return &Meta{}, obj, nil
	}
	return ParseMeta(buf.Bytes(), ix.o.MaxPrompt), obj, nil
}

// tooLarge logs a metadata JSON over the limit, once per id and time: its
// entry is shown again and again, and read again when its cache entry went.
func (ix *Index) tooLarge(id string, obj store.Object, limit int) {
	if ix.warned.first(id, obj.Modified.UnixNano()) {
		ix.log.Warn("gallery: metadata JSON too large, its entry is shown without it",
			"entry_id", id, "size", obj.Size, "limit", limit)
	}
}

// onceSet remembers up to maxOnce (id, time) pairs, to log a fault of a
// stored object once rather than on every read; when full it starts over.
type onceSet struct {
	mu sync.Mutex
	m  map[string]int64
}

const maxOnce = 10_000

func (o *onceSet) first(id string, mod int64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if v, ok := o.m[id]; ok && v == mod {
		return false
	}
	if o.m == nil || len(o.m) >= maxOnce {
		o.m = make(map[string]int64)
	}
	o.m[id] = mod
	return true
}

// loadMeta returns the metadata of id whose JSON the index holds as modified
// at mod: from the cache, else read once however many ask at the same time.
// The read is not cut short by ctx (others may wait for it); it has a
// deadline of its own.
func (ix *Index) loadMeta(ctx context.Context, id string, mod int64) (*Meta, error) {
	if m, ok := ix.cache.get(id, mod); ok {
		return m, nil
	}
	v, err, _ := ix.metaSF.Do(id, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		ix.metaSem <- struct{}{}
		defer func() { <-ix.metaSem }()
		m, _, err := ix.readMeta(ctx, id)
		if err != nil {
			return nil, err
		}
		// Cached under the time the index holds, not the object's: a new
		// JSON changes the index's time and so misses the cache.
		ix.cache.add(id, mod, m)
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Meta), nil
}

// ParseMeta reads a metadata JSON leniently: each known field is taken when
// it has a usable type and skipped otherwise (a number that is not finite,
// such as "NaN" or "Infinity", a time outside years 1–9999), unknown fields
// are ignored, and a JSON that does not parse gives a zero Meta. What it
// keeps is valid UTF-8 (invalid bytes become U+FFFD) without control
// characters (tab and newlines become spaces, the others U+FFFD), encodes as JSON, and
// is bounded: the prompt and the negative prompt to maxPrompt characters
// (job.DefaultLimits' for maxPrompt <= 0), a cut one ending in "…"; names to
// 200 bytes; image_seeds to 64.
func ParseMeta(b []byte, maxPrompt int) *Meta {
	if maxPrompt <= 0 {
		maxPrompt = job.DefaultLimits.MaxPromptLength
	}
	var r struct {
		Prompt          lstr   `json:"prompt"`
		NegativePrompt  lstr   `json:"negative_prompt"`
		LCMModelID      lstr   `json:"lcm_model_id"`
		OpenVINOModelID lstr   `json:"openvino_lcm_model_id"`
		UseOpenVINO     lbool  `json:"use_openvino"`
		UseLCMLora      lbool  `json:"use_lcm_lora"`
		LCMLora         lora   `json:"lcm_lora"`
		Width           lnum   `json:"image_width"`
		Height          lnum   `json:"image_height"`
		Steps           lnum   `json:"inference_steps"`
		GuidanceScale   lnum   `json:"guidance_scale"`
		Seed            lnum   `json:"seed"`
		UseSeed         *lbool `json:"use_seed"`
		Group           lstr   `json:"group"`
		ImageSeeds      lnums  `json:"image_seeds"`
		NumberOfImages  lnum   `json:"number_of_images"`
		JobID           lstr   `json:"job_id"`
		Worker          lstr   `json:"worker"`
		Generator       lstr   `json:"generator"`
		StartedAt       ltime  `json:"started_at"`
		FinishedAt      ltime  `json:"finished_at"`
		GenSeconds      lnum   `json:"generation_seconds"`
	}
	// The field types never fail, so an error here is a syntax error (or
	// not an object): nothing is known.
	if err := json.Unmarshal(b, &r); err != nil || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return &Meta{}
	}
	m := &Meta{
		Prompt:         clipChars(string(r.Prompt), maxPrompt),
		NegativePrompt: clipChars(string(r.NegativePrompt), maxPrompt),
		Model:          clipBytes(string(r.LCMModelID)), LoraBaseModel: clipBytes(string(r.LCMLora.BaseModelID)),
		UseOpenVINO: bool(r.UseOpenVINO), UseLCMLora: bool(r.UseLCMLora),
		Width: int(r.Width.int()), Height: int(r.Height.int()), Steps: int(r.Steps.int()),
		GuidanceScale: r.GuidanceScale.float(), Seed: r.Seed.int(), NumberOfImages: int(r.NumberOfImages.int()),
		JobID: clipBytes(string(r.JobID)), Worker: clipBytes(string(r.Worker)), Generator: clipBytes(string(r.Generator)),
		StartedAt: time.Time(r.StartedAt), FinishedAt: time.Time(r.FinishedAt),
		GenerationSeconds: r.GenSeconds.float(),
	}
	// Without use_seed (a JSON not fastsdcpu's), a seed that is there
	// stands for itself.
	m.UseSeed = r.Seed != "" && (r.UseSeed == nil && m.Seed >= 0 || r.UseSeed != nil && bool(*r.UseSeed))
	if g := string(r.Group); len(g) <= maxShortField {
		m.Group = g
	}
	if m.UseOpenVINO && r.OpenVINOModelID != "" {
		m.Model = clipBytes(string(r.OpenVINOModelID))
	}
	for _, s := range r.ImageSeeds[:min(len(r.ImageSeeds), maxSeeds)] {
		m.ImageSeeds = append(m.ImageSeeds, s.int())
	}
	if m.GenerationSeconds == 0 && !m.StartedAt.IsZero() && m.FinishedAt.After(m.StartedAt) {
		m.GenerationSeconds = m.FinishedAt.Sub(m.StartedAt).Seconds()
	}
	return m
}

// size is about the bytes m holds, for the cache's budget.
func (m *Meta) size() int {
	return 256 + len(m.Prompt) + len(m.NegativePrompt) + len(m.Model) + len(m.LoraBaseModel) +
		len(m.JobID) + len(m.Worker) + len(m.Generator) + len(m.Group) + 8*len(m.ImageSeeds)
}
