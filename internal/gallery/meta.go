package gallery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	ix.stats.metaLoads.Add(1)
	return ParseMeta(b), obj, nil
}

// loadMeta returns the metadata of id whose JSON the index holds as modified
// at mod: from the cache, else read once however many ask at the same time.
func (ix *Index) loadMeta(ctx context.Context, id string, mod int64) (*Meta, error) {
	if m, ok := ix.cache.get(id, mod); ok {
		return m, nil
	}
	ch := ix.metaSF.DoChan(id, func() (any, error) {
		// Not the first caller's context: its end must not fail the others.
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
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Meta), nil
	}
}

// ParseMeta reads a metadata JSON leniently: each known field is taken when
// it has a usable type and skipped otherwise, unknown fields are ignored, and
// a JSON that does not parse gives a zero Meta.
func ParseMeta(b []byte) *Meta {
	m := &Meta{}
	var f fields
	if err := json.Unmarshal(b, &f); err != nil || f == nil {
		return m
	}
	m.Raw = json.RawMessage(bytes.Clone(b))
	m.Prompt = f.str("prompt")
	m.NegativePrompt = f.str("negative_prompt")
	m.UseOpenVINO = f.bool("use_openvino")
	m.Model = f.str("lcm_model_id")
	if ov := f.str("openvino_lcm_model_id"); m.UseOpenVINO && ov != "" {
		m.Model = ov
	}
	m.UseLCMLora = f.bool("use_lcm_lora")
	var lora fields
	if json.Unmarshal(f["lcm_lora"], &lora) == nil {
		m.LoraBaseModel = lora.str("base_model_id")
	}
	m.Width = int(f.int("image_width"))
	m.Height = int(f.int("image_height"))
	m.Steps = int(f.int("inference_steps"))
	m.GuidanceScale = f.num("guidance_scale")
	m.Seed = f.int("seed")
	m.NumberOfImages = int(f.int("number_of_images"))
	var seeds []json.RawMessage
	if json.Unmarshal(f["image_seeds"], &seeds) == nil {
		for _, s := range seeds {
			m.ImageSeeds = append(m.ImageSeeds, fields{"s": s}.int("s"))
		}
	}
	m.JobID = f.str("job_id")
	m.Worker = f.str("worker")
	m.Generator = f.str("generator")
	m.StartedAt = f.time("started_at")
	m.FinishedAt = f.time("finished_at")
	m.GenerationSeconds = f.num("generation_seconds")
	if m.GenerationSeconds == 0 && !m.StartedAt.IsZero() && m.FinishedAt.After(m.StartedAt) {
		m.GenerationSeconds = m.FinishedAt.Sub(m.StartedAt).Seconds()
	}
	return m
}

// fields is a JSON object whose values are decoded one by one on demand.
type fields map[string]json.RawMessage

func (f fields) str(k string) string {
	var s string
	_ = json.Unmarshal(f[k], &s)
	return s
}

// num takes a number, or a string holding one.
func (f fields) num(k string) float64 {
	v, _ := f.number(k).Float64()
	return v
}

// int is num without the rounding of large integers.
func (f fields) int(k string) int64 {
	n := f.number(k)
	if v, err := n.Int64(); err == nil {
		return v
	}
	v, _ := n.Float64()
	return int64(v)
}

func (f fields) number(k string) json.Number {
	var n json.Number
	if json.Unmarshal(f[k], &n) != nil {
		var s string
		if json.Unmarshal(f[k], &s) != nil {
			return ""
		}
		n = json.Number(s)
	}
	return n
}

func (f fields) bool(k string) bool {
	var b bool
	if json.Unmarshal(f[k], &b) == nil {
		return b
	}
	return f.str(k) == "true"
}

// time takes an RFC 3339 string or Unix seconds.
func (f fields) time(k string) time.Time {
	if s := f.str(k); s != "" {
		t, _ := time.Parse(time.RFC3339Nano, s)
		return t
	}
	if v := f.num(k); v > 0 {
		return time.Unix(0, int64(v*1e9)).UTC()
	}
	return time.Time{}
}
