package gallery

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"testing"

	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
)

// encode is img as a PNG and the file up to its pixels, as scaleThumb
// keeps it.
func encode(t *testing.T, img image.Image) (file []byte, cfg image.Config, head []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	var h bytes.Buffer
	cfg, err := png.DecodeConfig(io.TeeReader(bytes.NewReader(b.Bytes()), &h))
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), cfg, h.Bytes()
}

// The cost computed from the header alone covers what png.Decode allocates,
// for every kind of image it decodes into. Not parallel: it reads the
// process's allocation counter.
func TestDecodeCostCoversTheDecoding(t *testing.T) {
	r := image.Rect(0, 0, 300, 200)
	pal := color.Palette{color.Black, color.White}
	for name, img := range map[string]image.Image{
		"gray": image.NewGray(r), "gray16": image.NewGray16(r), "rgba": image.NewRGBA(r),
		"nrgba": image.NewNRGBA(r), "rgba64": image.NewRGBA64(r), "nrgba64": image.NewNRGBA64(r),
		"paletted": image.NewPaletted(r, pal),
	} {
		file, cfg, head := encode(t, img)
		cost, ok := decodeCost(cfg, head, 64<<20)
		if !ok {
			t.Fatalf("%s: over budget", name)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := png.Decode(bytes.NewReader(file)); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		pixels := int64(after.TotalAlloc - before.TotalAlloc)
		// The decoder's own buffers (zlib, rows) come on top: ~50 KB.
		if pixels > cost+64<<10 {
			t.Errorf("%s: decoding allocated %d bytes, the cost says %d", name, pixels, cost)
		}
		t.Logf("%s: cost %d, decoding allocated %d", name, cost, pixels)
	}
}

func TestDecodeCost(t *testing.T) {
	t.Parallel()
	_, cfg, head := encode(t, image.NewRGBA64(image.Rect(0, 0, 64, 64)))
	if cost, ok := decodeCost(cfg, head, 1<<20); cost != 64*64*8 || !ok {
		t.Errorf("16-bit: %d %v", cost, ok)
	}
	// Adam7 interlacing (IHDR's last byte) doubles it.
	head[28] = 1
	if cost, ok := decodeCost(cfg, head, 1<<20); cost != 2*64*64*8 || !ok {
		t.Errorf("interlaced: %d %v", cost, ok)
	}
	// The case of issue 12: a 16-bit 4096² PNG is 128 MiB decoded.
	cfg = image.Config{ColorModel: color.NRGBA64Model, Width: 4096, Height: 4096}
	if cost, ok := decodeCost(cfg, nil, defaultThumbBudget); cost != 128<<20 || ok {
		t.Errorf("4096² 16-bit: %d %v", cost, ok)
	}
	// Sides as large as PNG allows do not overflow.
	cfg = image.Config{ColorModel: color.NRGBA64Model, Width: 1<<31 - 1, Height: 1<<31 - 1}
	if cost, ok := decodeCost(cfg, nil, defaultThumbBudget); cost <= 0 || ok {
		t.Errorf("2³¹ sides: %d %v", cost, ok)
	}
}

func TestThumbOfAnImageOverBudgetIsNotDecoded(t *testing.T) {
	_, size, err := scaleThumb(bytes.NewReader(gallerytest.PNG16(4096, 3072)), defaultThumbBudget,
		func(int64) (func(), error) { t.Fatal("reserved"); return nil, nil })
	if !errors.Is(err, ErrUndecodable) || size != image.Pt(256, 192) {
		t.Fatalf("%v, size %v", err, size)
	}
	t.Log(err)
}

func TestThumbScalesLongestSide(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ w, h, tw, th int }{
		{512, 512, 256, 256}, {768, 512, 256, 170}, {300, 600, 128, 256}, {100, 50, 100, 50},
	} {
		b, size, err := scaleThumb(bytes.NewReader(gallerytest.PNG(tc.w, tc.h)), defaultThumbBudget, nil)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if s := img.Bounds().Size(); s.X != tc.tw || s.Y != tc.th || s != size {
			t.Errorf("%dx%d: thumbnail %v (said %v), want %dx%d", tc.w, tc.h, s, size, tc.tw, tc.th)
		}
	}
	if _, _, err := scaleThumb(bytes.NewReader([]byte("not a png")), defaultThumbBudget, nil); !errors.Is(err, ErrUndecodable) {
		t.Errorf("a broken PNG: %v, want ErrUndecodable", err)
	}
}
