package gallerytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"time"

	"golang.org/x/image/draw"

	"github.com/sdkeda/sdkeda/internal/store"
)

// Metadata is a metadata JSON as fastsdcpu writes it, with the given prompt
// and seed, plus extra fields (the worker's own, or overrides) when given.
func Metadata(prompt string, seed int64, extra map[string]any) []byte {
	m := map[string]any{
		"lcm_model_id":          "stabilityai/sd-turbo",
		"openvino_lcm_model_id": "rupeshs/sd-turbo-openvino",
		"use_offline_model":     false,
		"use_lcm_lora":          false,
		"lcm_lora": map[string]any{
			"base_model_id": "Lykon/dreamshaper-8",
			"lcm_lora_id":   "latent-consistency/lcm-lora-sdv1-5",
		},
		"use_openvino":     false,
		"prompt":           prompt,
		"negative_prompt":  "",
		"image_height":     512,
		"image_width":      512,
		"inference_steps":  1,
		"guidance_scale":   1.0,
		"number_of_images": 1,
		"seed":             seed,
		"use_seed":         seed >= 0,
		"image_seeds":      []int64{seed},
	}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.MarshalIndent(m, "", "    ")
	if err != nil {
		panic(err) // only our own literal values
	}
	return b
}

// PNG is a w×h PNG with a gradient, for thumbnail tests.
func PNG(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / max(w, 1)), uint8(y * 255 / max(h, 1)), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PutEntry puts one entry into s in the worker's order: the images first
// (id-1.png, id-2.png, ...), the metadata JSON last.
func PutEntry(ctx context.Context, s store.Store, id string, meta []byte, images ...[]byte) error {
	for i, img := range images {
		if err := s.Put(ctx, store.ImageKey(id, i+1), bytes.NewReader(img), int64(len(img)), store.TypePNG); err != nil {
			return fmt.Errorf("put entry %s: %w", id, err)
		}
	}
	if err := s.Put(ctx, store.MetadataKey(id), bytes.NewReader(meta), int64(len(meta)), store.TypeJSON); err != nil {
		return fmt.Errorf("put entry %s: %w", id, err)
	}
	return nil
}

// FillID is the id of the i-th synthetic entry of Fill: shaped like the job
// ids (UUIDs) of a real bucket, spread over the same first characters.
func FillID(i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(i)*2654435761, i)
}

// Fill adds n synthetic complete entries, with images images each, quickly
// and without notifications (fill before starting the index). Entry i is
// FillID(i), modified at start + i seconds, so FillID(n-1) is the newest
// (keep start+n seconds in the past: a thumbnail older than its image is
// deleted as stale). All
// entries share one metadata JSON and one small PNG, so the store stays small.
func Fill(s *Store, n, images int, start time.Time) {
	meta := Metadata("a synthetic entry for benchmarks, "+strings.Repeat("with a prompt of usual length ", 3), 42, nil)
	img := PNG(8, 8)
	for i := range n {
		id := FillID(i)
		mod := start.Add(time.Duration(i) * time.Second)
		for k := 1; k <= images; k++ {
			s.PutQuiet(store.ImageKey(id, k), img, store.TypePNG, mod)
		}
		s.PutQuiet(store.MetadataKey(id), meta, store.TypeJSON, mod)
	}
}

// Thumb is a JPEG thumbnail of a PNG as the index makes one (256 px on the
// longest side at most, bilinear, over black, quality 80), for fakes of the
// index that serve real pictures (the webui's demo page). It has none of the
// index's bounds: only for the tests' own PNGs.
func Thumb(pngData []byte) ([]byte, error) {
	src, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return nil, err
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	if s := max(w, h); s > thumbSize {
		w, h = max(1, w*thumbSize/s), max(1, h*thumbSize/s)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.Black, image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	var out bytes.Buffer
	err = jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80})
	return out.Bytes(), err
}

// thumbSize is gallery.ThumbSize (this package cannot import gallery,
// whose tests import it).
const thumbSize = 256
