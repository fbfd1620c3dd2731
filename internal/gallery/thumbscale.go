package gallery

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
)

// Thumbnail geometry and limits.
const (
	ThumbSize    = 256      // longest side, in pixels
	thumbQuality = 80       // JPEG
	maxPNGSize   = 32 << 20 // bytes read from an image
	// maxPNGHeader bounds what comes before the pixels (IHDR, PLTE, tRNS,
	// text chunks): it is kept to decode the image after its size is known.
	maxPNGHeader       = 1 << 20
	defaultThumbBudget = 64 << 20 // a 4096×4096 8-bit RGBA image
)

// placeholderColor is the placeholder thumbnail's, the page's dark grey.
var placeholderColor = color.RGBA{0x33, 0x33, 0x33, 0xff}

// ErrUndecodable wraps why an image cannot be made a thumbnail: it is not a
// PNG, it is broken or cut short, or decoding it would take more memory than
// the budget. A placeholder stands in for it.
var ErrUndecodable = errors.New("image cannot be made a thumbnail")

// scaleThumb reads a PNG from r and returns its thumbnail. Before decoding
// the pixels it computes what they take in memory (decodeCost, from the
// header alone), refuses an image over budget, and reserves the cost with
// reserve (nil: nothing to reserve), releasing it after. size is the
// thumbnail's size once the header is read, for a placeholder.
func scaleThumb(r io.Reader, budget int64, reserve func(cost int64) (release func(), err error)) (data []byte, size image.Point, err error) {
	var head bytes.Buffer
	cfg, err := png.DecodeConfig(io.TeeReader(io.LimitReader(r, maxPNGHeader), &head))
	if err != nil {
		return nil, size, fmt.Errorf("%w: decode png header: %v", ErrUndecodable, err)
	}
	size = thumbSize(cfg.Width, cfg.Height)
	cost, ok := decodeCost(cfg, head.Bytes(), budget)
	if !ok {
		return nil, size, fmt.Errorf("%w: a %d×%d %s PNG takes %d MiB decoded, over the budget of %d MiB",
			ErrUndecodable, cfg.Width, cfg.Height, modelName(cfg.ColorModel), cost>>20, budget>>20)
	}
	if reserve != nil {
		release, err := reserve(cost)
		if err != nil {
			return nil, size, err
		}
		defer release()
	}
	src, err := png.Decode(io.MultiReader(&head, r))
	if err != nil {
		return nil, size, fmt.Errorf("%w: decode png: %v", ErrUndecodable, err)
	}
	dst := image.NewRGBA(image.Rectangle{Max: size})
	// Over an opaque background: JPEG has no alpha.
	draw.Draw(dst, dst.Bounds(), image.Black, image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: thumbQuality}); err != nil {
		return nil, size, fmt.Errorf("encode jpeg: %w", err)
	}
	return out.Bytes(), size, nil
}

// decodeCost is what png.Decode allocates for an image of cfg: its pixels
// at the bytes per pixel of the image type it decodes into, twice for an
// interlaced one (each of its seven passes is decoded into an image of its
// own before being merged). head is the file up to the pixels (IHDR first).
// ok is false when the cost is over budget.
func decodeCost(cfg image.Config, head []byte, budget int64) (cost int64, ok bool) {
	// No overflow: PNG sides are below 2^31, and past the first test the
	// pixels are at most the budget.
	w, h := int64(cfg.Width), int64(cfg.Height)
	if px := w * h; w <= 0 || h <= 0 || px > budget {
		return px, false
	}
	cost = w * h * bytesPerPixel(cfg.ColorModel)
	// IHDR's data starts at byte 16: width, height, depth, colour type,
	// compression, filter, interlace.
	if len(head) > 28 && head[28] == 1 {
		cost *= 2
	}
	return cost, cost <= budget
}

// bytesPerPixel of the image png.Decode returns for a colour model that
// png.DecodeConfig reported. DecodeConfig reads only IHDR (and PLTE), so a
// tRNS chunk after it can still turn grey into NRGBA and 16-bit grey into
// NRGBA64: those count as the larger.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.RGBAModel, color.NRGBAModel:
		return 4
	case color.Gray16Model, color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

func modelName(m color.Model) string {
	switch m {
	case color.GrayModel:
		return "8-bit grey"
	case color.Gray16Model:
		return "16-bit grey"
	case color.RGBAModel, color.NRGBAModel:
		return "8-bit colour"
	case color.RGBA64Model, color.NRGBA64Model:
		return "16-bit colour"
	}
	return "paletted"
}

// thumbSize is the thumbnail's size for an image of w×h: ThumbSize on the
// longest side at most, the same shape; a square for an unknown size.
func thumbSize(w, h int) image.Point {
	switch {
	case w <= 0 || h <= 0:
		return image.Pt(ThumbSize, ThumbSize)
	case w <= ThumbSize && h <= ThumbSize:
		return image.Pt(w, h)
	case w >= h:
		return image.Pt(ThumbSize, max(1, int(int64(h)*ThumbSize/int64(w))))
	}
	return image.Pt(max(1, int(int64(w)*ThumbSize/int64(h))), ThumbSize)
}

// placeholder is a plain JPEG of size, standing in for an image that cannot
// be made a thumbnail; its shape keeps the card's layout.
func placeholder(size image.Point) ([]byte, error) {
	if size.X <= 0 || size.Y <= 0 {
		size = image.Pt(ThumbSize, ThumbSize)
	}
	img := image.NewRGBA(image.Rectangle{Max: size})
	draw.Draw(img, img.Bounds(), image.NewUniform(placeholderColor), image.Point{}, draw.Src)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: thumbQuality}); err != nil {
		return nil, fmt.Errorf("encode placeholder: %w", err)
	}
	return out.Bytes(), nil
}
