package worker

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/sdkeda/sdkeda/internal/job"
)

// Placeholder draws a deterministic picture from the prompt (and seed)
// without any model: for local runs and load tests. Its metadata has the
// shape of fastsdcpu's with "placeholder" as the model, and the picture says
// "placeholder" on it, so nobody takes it for Stable Diffusion.
type Placeholder struct{}

// PlaceholderModel is the model id its metadata names.
const PlaceholderModel = "placeholder"

// Name is "placeholder".
func (Placeholder) Name() string { return "placeholder" }

// Generate writes <m.ID>-<n>.png into dir.
func (Placeholder) Generate(ctx context.Context, m job.Message, dir string) (Result, error) {
	w, h := m.Width, m.Height
	if w == 0 {
		w = 512
	}
	if h == 0 {
		h = 512
	}
	seed := int64(-1)
	if m.Seed != nil {
		seed = *m.Seed
	}
	res := Result{}
	seeds := make([]any, 0, m.Count)
	for n := 1; n <= m.Count; n++ {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%d", m.Prompt, m.NegativePrompt, seed, n)))
		path := imagePath(dir, m.ID, n)
		if err := writePNG(path, draw(sum, w, h, m.Prompt)); err != nil {
			return Result{}, fmt.Errorf("placeholder: %w", err)
		}
		res.Images = append(res.Images, path)
		if seed >= 0 {
			seeds = append(seeds, seed+int64(n-1))
		} else {
			seeds = append(seeds, int64(binary.BigEndian.Uint16(sum[30:])))
		}
	}
	res.Metadata = placeholderMetadata(m, w, h, seed, seeds)
	return res, nil
}

// placeholderMetadata has every key of fastsdcpu's metadata JSON.
func placeholderMetadata(m job.Message, w, h int, seed int64, seeds []any) map[string]any {
	steps := m.Steps
	if steps == 0 {
		steps = 1
	}
	guidance := 1.0
	if m.GuidanceScale != nil {
		guidance = *m.GuidanceScale
	}
	return map[string]any{
		"lcm_model_id":          PlaceholderModel,
		"openvino_lcm_model_id": PlaceholderModel,
		"use_offline_model":     true,
		"use_lcm_lora":          false,
		"lcm_lora":              map[string]any{"base_model_id": PlaceholderModel, "lcm_lora_id": PlaceholderModel},
		"use_tiny_auto_encoder": false,
		"use_openvino":          false,
		"prompt":                m.Prompt,
		"negative_prompt":       m.NegativePrompt,
		"strength":              pyFloat(0.3),
		"image_height":          h,
		"image_width":           w,
		"inference_steps":       steps,
		"guidance_scale":        pyFloat(guidance),
		"number_of_images":      m.Count,
		"seed":                  seed,
		"use_seed":              seed >= 0,
		"use_safety_checker":    false,
		"diffusion_task":        "text_to_image",
		"lora":                  map[string]any{"weight": pyFloat(0.5), "fuse": true, "enabled": false},
		"controlnet":            nil,
		"rebuild_pipeline":      false,
		"image_seeds":           seeds,
		FieldGenerator:          "placeholder",
	}
}

// pyFloat writes a float as Python's json does (1.0, not 1), as fastsdcpu's
// own files have it.
func pyFloat(f float64) json.Number {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return json.Number(s)
}

// Palette layout of a placeholder: gradient steps without and with the
// ring tint, then the caption band and the text. A paletted PNG needs no
// per-row filtering and a quarter of the data: it keeps the placeholder at a
// few milliseconds per image.
const (
	steps     = 120
	bandIndex = 2 * steps
	textIndex = bandIndex + 1
)

// draw paints a diagonal gradient between two colours of the hash, rings
// around a point of the hash tinted with a third, and a caption band.
func draw(sum [32]byte, w, h int, prompt string) *image.Paletted {
	c1 := [3]float64{float64(sum[0]), float64(sum[1]), float64(sum[2])}
	c2 := [3]float64{float64(sum[3]), float64(sum[4]), float64(sum[5])}
	c3 := [3]float64{float64(sum[6]), float64(sum[7]), float64(sum[8])}
	pal := make(color.Palette, textIndex+1)
	for i := 0; i < steps; i++ {
		t := float64(i) / (steps - 1)
		var plain, tinted [3]uint8
		for c := 0; c < 3; c++ {
			v := c1[c]*(1-t) + c2[c]*t
			plain[c], tinted[c] = uint8(v), uint8(v*0.65+c3[c]*0.35)
		}
		pal[i] = color.RGBA{plain[0], plain[1], plain[2], 255}
		pal[steps+i] = color.RGBA{tinted[0], tinted[1], tinted[2], 255}
	}
	pal[bandIndex] = color.RGBA{uint8(c1[0] / 5), uint8(c1[1] / 5), uint8(c1[2] / 5), 255}
	pal[textIndex] = color.White
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)

	cx, cy := float64(int(sum[9])*w/255), float64(int(sum[10])*h/255)
	ring := 12 + float64(sum[11]%48)
	angle := float64(sum[12]) / 255 * 2 * math.Pi
	dx, dy := math.Cos(angle), math.Sin(angle)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range [][2]float64{{0, 0}, {float64(w), 0}, {0, float64(h)}, {float64(w), float64(h)}} {
		v := p[0]*dx + p[1]*dy
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	scale := (steps - 1) / (hi - lo)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		ry := float64(y) - cy
		for x := range row {
			i := uint8((float64(x)*dx + float64(y)*dy - lo) * scale)
			rx := float64(x) - cx
			if int(math.Sqrt(rx*rx+ry*ry)/ring)%2 == 0 {
				i += steps
			}
			row[x] = i
		}
	}
	caption(img, "placeholder: "+prompt)
	return img
}

// caption writes text on a dark band at the bottom, cut to the width.
func caption(img *image.Paletted, text string) {
	face := basicfont.Face7x13
	b := img.Bounds()
	band := 20
	for y := b.Max.Y - band; y < b.Max.Y; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+b.Dx()]
		for i := range row {
			row[i] = bandIndex
		}
	}
	runes := []rune(text)
	if max := (b.Dx() - 12) / face.Advance; len(runes) > max && max > 1 {
		runes = append(runes[:max-1], '…')
	}
	d := font.Drawer{Dst: img, Src: image.NewUniform(img.Palette[textIndex]), Face: face,
		Dot: fixed.P(6, b.Max.Y-band/2+face.Ascent/2)}
	d.DrawString(string(runes))
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(bw, img); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
