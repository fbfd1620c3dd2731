package gallery

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

type thumb struct {
	data []byte
	obj  store.Object
}

// Thumbnail opens the JPEG thumbnail (ThumbSize px on its longest side at
// most) of image n of entry id, stored under store.ThumbKey(id, n). The first
// request makes it from the PNG and stores it, later ones read the stored
// one; concurrent requests for the same thumbnail make it once. An image that
// cannot be made a thumbnail (not a PNG, broken, or over the decoding budget)
// gets a placeholder, stored the same way: the failure is logged once and
// not tried again until the image changes. An entry or image the index does
// not hold is ErrNotFound; other errors are the store's.
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

// thumbRemakes bounds how often makeThumb starts again because the image
// changed while its thumbnail was made.
const thumbRemakes = 3

// makeThumb makes, stores and returns the thumbnail of image n of id, or
// its placeholder.
//
// The image can be overwritten (a redelivered job) while its thumbnail is
// made from the old one. The overwrite's notification deletes the
// thumbnail, but a thumbnail stored after that deletion would stay, and
// being newer than the image, a relisting would never find it stale. So
// once stored, the thumbnail is checked against the image: an image whose
// ETag is no longer the one read has its thumbnail deleted and made again.
// A change after the check comes after the store too, and its own
// notification (or the next relisting, the thumbnail being older than the
// image) deletes the thumbnail.
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
	for made := 1; ; made++ {
		t, fresh, err := ix.makeThumbOnce(ctx, id, n)
		switch {
		case err != nil || fresh:
			return t, err
		case made == thumbRemakes:
			// Overwritten again and again: nothing stale is kept, and the
			// next request tries again.
			return thumb{}, fmt.Errorf("gallery: thumbnail %s: the image changed each of the %d times it was made", key, made)
		}
		ix.log.Info("gallery: the image changed while its thumbnail was made, making it again", "key", store.ImageKey(id, n))
	}
}

// makeThumbOnce makes the thumbnail of the image as it reads it now,
// stores it, and reports whether the image is still the one it was made
// from (fresh); a stale one is deleted again.
func (ix *Index) makeThumbOnce(ctx context.Context, id string, n int) (t thumb, fresh bool, err error) {
	key, img := store.ThumbKey(id, n), store.ImageKey(id, n)
	rc, src, err := ix.s.Get(ctx, img)
	if err != nil {
		return thumb{}, false, fmt.Errorf("gallery: thumbnail %s: %w", key, err)
	}
	t, stored, err := ix.scaleAndStore(ctx, rc, key, img)
	if err != nil || !stored {
		return t, err == nil, err
	}
	now, err := ix.s.Stat(ctx, img)
	if err == nil && sameObject(now, src) {
		return t, true, nil
	}
	// Changed or gone since it was read (or the store cannot say): the
	// stored thumbnail may be of an image that is no longer there.
	if derr := ix.s.Delete(ctx, key); derr != nil && !errors.Is(derr, store.ErrNotFound) {
		ix.log.Warn("gallery: delete stale thumbnail", "key", key, "err", derr)
	}
	if err != nil {
		return thumb{}, false, fmt.Errorf("gallery: thumbnail %s: check image: %w", key, err)
	}
	return t, false, nil
}

// sameObject reports whether a and b are the same version of an object:
// the same ETag, or without ETags the same size and time.
func sameObject(a, b store.Object) bool {
	if a.ETag != "" || b.ETag != "" {
		return store.SameETag(a.ETag, b.ETag)
	}
	return a.Size == b.Size && a.Modified.Equal(b.Modified)
}

// scaleAndStore makes the thumbnail (or the placeholder) of the image read
// from rc, which it closes, and stores it under key; stored is false when
// the store refused it (it is served anyway, and made again next time).
func (ix *Index) scaleAndStore(ctx context.Context, rc io.ReadCloser, key, img string) (t thumb, stored bool, err error) {
	src := &storeReader{r: rc}
	data, size, err := scaleThumb(io.LimitReader(src, maxPNGSize), ix.o.ThumbBudget, func(cost int64) (func(), error) {
		if err := ix.decodeMem.Acquire(ctx, cost); err != nil {
			return nil, err
		}
		return func() { ix.decodeMem.Release(cost) }, nil
	})
	rc.Close()
	switch {
	case src.err != nil:
		// The store failed, not the image: try again next time.
		return thumb{}, false, fmt.Errorf("gallery: thumbnail %s: read image: %w", key, src.err)
	case errors.Is(err, ErrUndecodable):
		ix.log.Warn("gallery: a placeholder stands in for the thumbnail", "key", img, "err", err)
		if data, err = placeholder(size); err != nil {
			return thumb{}, false, fmt.Errorf("gallery: thumbnail %s: %w", key, err)
		}
	case err != nil:
		return thumb{}, false, fmt.Errorf("gallery: thumbnail %s: %w", key, err)
	}
	ix.stats.thumbsMade.Add(1)
	sum := md5.Sum(data)
	t = thumb{data: data, obj: store.Object{Key: key, Size: int64(len(data)), ContentType: store.TypeJPEG,
		ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Modified: time.Now().UTC()}}
	if err := ix.s.Put(ctx, key, bytes.NewReader(data), int64(len(data)), store.TypeJPEG); err != nil {
		// Serve it anyway; the next request tries to store it again.
		ix.log.Warn("gallery: store thumbnail", "key", key, "err", err)
		return t, false, nil
	}
	if obj, err := ix.s.Stat(ctx, key); err == nil {
		t.obj = obj // the store's ETag, the one later requests see
	}
	return t, true, nil
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

// storeReader keeps the error of the store's reader, other than io.EOF: the
// PNG decoder's error does not tell a broken file from a broken connection.
type storeReader struct {
	r   io.Reader
	err error
}

func (s *storeReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}
