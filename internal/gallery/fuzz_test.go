package gallery

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/jpeg"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
)

// FuzzParseMeta: whatever a metadata JSON holds, parsing it never panics,
// and what it keeps encodes as JSON (no NaN, no year past 9999), is valid
// UTF-8 without control characters and within its bounds. `make fuzz` runs it; the seeds are in
// testdata/fuzz/FuzzParseMeta.
func FuzzParseMeta(f *testing.F) {
	if b, err := os.ReadFile("testdata/fastsdcpu-metadata.json"); err == nil {
		f.Add(b)
	}
	f.Add(gallerytest.Metadata("p", 9, map[string]any{"job_id": "j", "started_at": "2026-01-02T03:04:05Z",
		"finished_at": 1767323045.5, "generation_seconds": "1.5"}))
	const maxPrompt = 50
	f.Fuzz(func(t *testing.T, b []byte) {
		m := ParseMeta(b, maxPrompt)
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("does not encode: %v (%+v)", err, m)
		}
		for _, s := range []string{m.Prompt, m.NegativePrompt, m.Model, m.LoraBaseModel, m.JobID, m.Worker, m.Generator, m.Group} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8: %q", s)
			}
			for _, r := range s {
				if r < 0x20 || r >= 0x7f && r <= 0x9f {
					t.Fatalf("control character %U kept: %q", r, s)
				}
			}
		}
		if n := utf8.RuneCountInString(m.Prompt); n > maxPrompt {
			t.Fatalf("prompt of %d characters", n)
		}
		if len(m.Model) > maxShortField || len(m.JobID) > maxShortField || len(m.ImageSeeds) > maxSeeds {
			t.Fatalf("over its bounds: %+v", m)
		}
	})
}

// FuzzThumb: whatever an image object holds, making its thumbnail never
// panics, fails only with ErrUndecodable (a placeholder then stands in), and
// never decodes more than the budget; a thumbnail is a JPEG of ThumbSize px
// at most. The budget is small here so that each run is quick.
func FuzzThumb(f *testing.F) {
	f.Add(gallerytest.PNG(40, 20))
	f.Add(gallerytest.PNG16(64, 64))
	f.Add([]byte("GIF89a"))
	const budget = 1 << 20
	f.Fuzz(func(t *testing.T, b []byte) {
		reserved := int64(0)
		data, size, err := scaleThumb(bytes.NewReader(b), budget, func(cost int64) (func(), error) {
			reserved = cost
			return func() {}, nil
		})
		if reserved > budget {
			t.Fatalf("reserved %d bytes, over the budget", reserved)
		}
		if err != nil {
			if !errors.Is(err, ErrUndecodable) {
				t.Fatalf("error %v is not ErrUndecodable", err)
			}
			if _, err := placeholder(size); err != nil {
				t.Fatalf("placeholder of %v: %v", size, err)
			}
			return
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("not a JPEG: %v", err)
		}
		if s := img.Bounds().Size(); s.X > ThumbSize || s.Y > ThumbSize || s != size {
			t.Fatalf("thumbnail %v, said %v", s, size)
		}
	})
}
