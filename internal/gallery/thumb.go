package gallery

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"time"

	"golang.org/x/image/draw"

	"github.com/sdkeda/sdkeda/internal/store"
)

// Thumbnail geometry and limits.
const (
	ThumbSize    = 256         // longest side, in pixels
	thumbQuality = 80          // JPEG
	maxPNGSize   = 32 << 20    // bytes read from an image
	maxPixels    = 4096 * 4096 // decoded at 4 bytes each: 64 MB at most, two at a time
)

type thumb struct {
	data []byte
	obj  store.Object
}

// Thumbnail opens the JPEG thumbnail (ThumbSize px on its longest side at
// most) of image n of entry id, stored under store.ThumbKey(id, n). The first
// request makes it from the PNG and stores it, later ones read the stored
// one; concurrent requests for the same thumbnail make it once. An entry or
// image the index does not hold is ErrNotFound.
func (ix *Index) Thumbnail(ctx context.Context, id string, n int) (io.ReadCloser, store.Object, error) {
	ix.mu.RLock()
	r := ix.recs[id]
	ok := r != nil && r.complete && n >= 1 && n <= maxImage && r.imgs&bit(n) != 0
	ix.mu.RUnlock()
	key := store.ThumbKey(id, n)
	if !ok {
		return nil, store.Object{}, fmt.Errorf("gallery: thumbnail %s: %w", key, ErrNotFound)
	}
	rc, obj, err := ix.s.Get(ctx, key)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return rc, obj, err
	}
	ch := ix.thumbSF.DoChan(key, func() (any, error) {
		// Not the first caller's context: its end must not fail the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return ix.makeThumb(ctx, id, n)
	})
	select {
	case <-ctx.Done():
		return nil, store.Object{}, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, store.Object{}, res.Err
		}
		t := res.Val.(thumb)
		return io.NopCloser(bytes.NewReader(t.data)), t.obj, nil
	}
}

// makeThumb makes, stores and returns the thumbnail of image n of id.
func (ix *Index) makeThumb(ctx context.Context, id string, n int) (thumb, error) {
	key := store.ThumbKey(id, n)
	// A request that missed it just before the last one stored it.
	if t, err := ix.readThumb(ctx, key); err == nil {
		return t, nil
	}
	select {
	case ix.thumbSem <- struct{}{}:
	case <-ctx.Done():
		return thumb{}, ctx.Err()
	}
	defer func() { <-ix.thumbSem }()

	rc, _, err := ix.s.Get(ctx, store.ImageKey(id, n))
	if err != nil {
		return thumb{}, fmt.Errorf("gallery: thumbnail %s: %w", key, err)
	}
	src, err := io.ReadAll(io.LimitReader(rc, maxPNGSize))
	rc.Close()
	if err != nil {
		return thumb{}, fmt.Errorf("gallery: thumbnail %s: read image: %w", key, err)
	}
	data, err := Thumb(src)
	if err != nil {
		return thumb{}, fmt.Errorf("gallery: thumbnail %s: %w", key, err)
	}
	ix.stats.thumbsMade.Add(1)
	sum := md5.Sum(data)
	t := thumb{data: data, obj: store.Object{Key: key, Size: int64(len(data)), ContentType: store.TypeJPEG,
		ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Modified: time.Now().UTC()}}
	if err := ix.s.Put(ctx, key, bytes.NewReader(data), int64(len(data)), store.TypeJPEG); err != nil {
		// Serve it anyway; the next request tries to store it again.
		ix.log.Warn("gallery: store thumbnail", "key", key, "err", err)
		return t, nil
	}
	if obj, err := ix.s.Stat(ctx, key); err == nil {
		t.obj = obj // the store's ETag, the one later requests see
	}
	return t, nil
}

func (ix *Index) readThumb(ctx context.Context, key string) (thumb, error) {
	rc, obj, err := ix.s.Get(ctx, key)
	if err != nil {
		return thumb{}, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return thumb{data: data, obj: obj}, err
}

// Thumb scales a PNG to ThumbSize px on its longest side at most and encodes
// it as JPEG.
func Thumb(pngData []byte) ([]byte, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(pngData))
	if err != nil {
		return nil, fmt.Errorf("decode png: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, fmt.Errorf("decode png: size %dx%d out of range", cfg.Width, cfg.Height)
	}
	src, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return nil, fmt.Errorf("decode png: %w", err)
	}
	w, h := cfg.Width, cfg.Height
	if w > ThumbSize || h > ThumbSize {
		if w >= h {
			w, h = ThumbSize, max(1, h*ThumbSize/w)
		} else {
			w, h = max(1, w*ThumbSize/h), ThumbSize
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	// Over an opaque background: JPEG has no alpha.
	draw.Draw(dst, dst.Bounds(), image.Black, image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: thumbQuality}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return out.Bytes(), nil
}
