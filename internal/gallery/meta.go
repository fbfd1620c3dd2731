package gallery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

// maxMetaSize bounds a metadata JSON read (fastsdcpu's are ~1 KB).
const maxMetaSize = 1 << 20

// sortTime is the sort key of a JSON modified at t: whole seconds, because
// S3 gives a HEAD (and so Get) the time in seconds and a listing in
// milliseconds, and an entry must sort the same whichever way it came in.
// Entries of the same second sort by id.
func sortTime(t time.Time) int64 { return t.Truncate(time.Second).UnixNano() }

// readMeta reads and parses the JSON of id.
func (ix *Index) readMeta(ctx context.Context, id string) (*Meta, store.Object, error) {
	rc, obj, err := ix.s.Get(ctx, store.MetadataKey(id))
	if err != nil {
		return nil, obj, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxMetaSize))
	if err != nil {
		return nil, obj, fmt.Errorf("gallery: read %s: %w", store.MetadataKey(id), err)
	}
	return ParseMeta(b), obj, nil
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
// it has a usable type and skipped otherwise, unknown fields are ignored, and
// a JSON that does not parse gives a zero Meta.
func ParseMeta(b []byte) *Meta {
	var r struct {
		Prompt          lstr  `json:"prompt"`
		NegativePrompt  lstr  `json:"negative_prompt"`
		LCMModelID      lstr  `json:"lcm_model_id"`
		OpenVINOModelID lstr  `json:"openvino_lcm_model_id"`
		UseOpenVINO     lbool `json:"use_openvino"`
		UseLCMLora      lbool `json:"use_lcm_lora"`
		LCMLora         lora  `json:"lcm_lora"`
		Width           lnum  `json:"image_width"`
		Height          lnum  `json:"image_height"`
		Steps           lnum  `json:"inference_steps"`
		GuidanceScale   lnum  `json:"guidance_scale"`
		Seed            lnum  `json:"seed"`
		ImageSeeds      lnums `json:"image_seeds"`
		NumberOfImages  lnum  `json:"number_of_images"`
		JobID           lstr  `json:"job_id"`
		Worker          lstr  `json:"worker"`
		Generator       lstr  `json:"generator"`
		StartedAt       ltime `json:"started_at"`
		FinishedAt      ltime `json:"finished_at"`
		GenSeconds      lnum  `json:"generation_seconds"`
	}
	// The field types never fail, so an error here is a syntax error (or
	// not an object): nothing is known.
	if err := json.Unmarshal(b, &r); err != nil || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return &Meta{}
	}
	m := &Meta{
		Raw:    json.RawMessage(bytes.Clone(b)),
		Prompt: string(r.Prompt), NegativePrompt: string(r.NegativePrompt),
		Model: string(r.LCMModelID), LoraBaseModel: string(r.LCMLora.BaseModelID),
		UseOpenVINO: bool(r.UseOpenVINO), UseLCMLora: bool(r.UseLCMLora),
		Width: int(r.Width.int()), Height: int(r.Height.int()), Steps: int(r.Steps.int()),
		GuidanceScale: r.GuidanceScale.float(), Seed: r.Seed.int(), NumberOfImages: int(r.NumberOfImages.int()),
		JobID: string(r.JobID), Worker: string(r.Worker), Generator: string(r.Generator),
		StartedAt: time.Time(r.StartedAt), FinishedAt: time.Time(r.FinishedAt),
		GenerationSeconds: r.GenSeconds.float(),
	}
	if m.UseOpenVINO && r.OpenVINOModelID != "" {
		m.Model = string(r.OpenVINOModelID)
	}
	for _, s := range r.ImageSeeds {
		m.ImageSeeds = append(m.ImageSeeds, s.int())
	}
	if m.GenerationSeconds == 0 && !m.StartedAt.IsZero() && m.FinishedAt.After(m.StartedAt) {
		m.GenerationSeconds = m.FinishedAt.Sub(m.StartedAt).Seconds()
	}
	return m
}

// Lenient JSON field types: a value of another type leaves them zero, and
// they never return an error, which would stop the whole decoding.
type (
	lstr  string
	lbool bool
	lnum  string // the number's text, from a number or a string
	lnums []lnum
	ltime time.Time // RFC 3339 or Unix seconds
	lora  struct{ BaseModelID lstr }
)

func (s *lstr) UnmarshalJSON(b []byte) error {
	if len(b) > 1 && b[0] == '"' {
		if bytes.IndexByte(b, '\\') < 0 {
			*s = lstr(b[1 : len(b)-1])
			return nil
		}
		var v string
		if json.Unmarshal(b, &v) == nil {
			*s = lstr(v)
		}
	}
	return nil
}

func (v *lbool) UnmarshalJSON(b []byte) error {
	*v = string(b) == "true" || string(b) == `"true"`
	return nil
}

func (n *lnum) UnmarshalJSON(b []byte) error {
	t := string(bytes.Trim(b, `"`))
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		*n = lnum(t)
	}
	return nil
}

func (n lnum) float() float64 {
	f, _ := strconv.ParseFloat(string(n), 64)
	return f
}

// int is exact for integers beyond float64's 53 bits.
func (n lnum) int() int64 {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i
	}
	return int64(n.float())
}

func (ns *lnums) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var v []lnum
		_ = json.Unmarshal(b, &v)
		*ns = v
	}
	return nil
}

func (t *ltime) UnmarshalJSON(b []byte) error {
	var s lstr
	_ = s.UnmarshalJSON(b)
	if s != "" {
		if v, err := time.Parse(time.RFC3339Nano, string(s)); err == nil {
			*t = ltime(v)
		}
		return nil
	}
	var n lnum
	_ = n.UnmarshalJSON(b)
	if f := n.float(); f > 0 {
		*t = ltime(time.Unix(0, int64(f*1e9)).UTC())
	}
	return nil
}

func (l *lora) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			BaseModelID lstr `json:"base_model_id"`
		}
		_ = json.Unmarshal(b, &v)
		l.BaseModelID = v.BaseModelID
	}
	return nil
}
