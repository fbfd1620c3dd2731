package s3store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	t      *testing.T
	s      *Store
	other  *minio.Client // another client, as `mc` or an old worker would be
	bucket string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return setupOn(t, testenv.MinIO(t))
}

func setupOn(t *testing.T, m *testenv.Minio) *fixture {
	t.Helper()
	bucket := testenv.UniqueName("images")
	ctx := ctxT(t, 60*time.Second)
	s, err := Open(ctx, Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: bucket}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	other, err := minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, s: s, other: other, bucket: bucket}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func (f *fixture) put(key, body, ctype string) {
	f.t.Helper()
	if err := f.s.Put(ctxT(f.t, 10*time.Second), key, strings.NewReader(body), int64(len(body)), ctype); err != nil {
		f.t.Fatalf("put %s: %v", key, err)
	}
}

func TestPutGetStatDelete(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := ctxT(t, 30*time.Second)
	f.put("abc-1.png", "png-bytes", store.TypePNG)

	rc, obj, err := f.s.Get(ctx, "abc-1.png")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "png-bytes" || obj.ContentType != store.TypePNG || obj.Size != 9 || obj.ETag == "" {
		t.Fatalf("get: %q %+v", b, obj)
	}
	st, err := f.s.Stat(ctx, "abc-1.png")
	if err != nil || !store.SameETag(st.ETag, obj.ETag) {
		t.Fatalf("stat: %+v %v", st, err)
	}
	f.put("abc-1.png", "other-bytes", store.TypePNG)
	if st2, _ := f.s.Stat(ctx, "abc-1.png"); store.SameETag(st2.ETag, st.ETag) {
		t.Errorf("overwrite kept the ETag %s", st.ETag)
	}
	if err := f.s.Delete(ctx, "abc-1.png"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Get(ctx, "abc-1.png"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := f.s.Stat(ctx, "missing.json"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat missing: %v", err)
	}
	if err := f.s.Delete(ctx, "missing.json"); err != nil {
		t.Errorf("delete missing: %v", err)
	}
	if err := f.s.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
}

// Watch opens the notification stream and closes its channel when ctx ends.
// That events flow through it is not asserted here: the MinIO build pinned
// for the tests (DEVELOPMENT.GOGET 2026-02-12) does not flush the stream, and
// Go's client sees no event until the stream ends (curl sees them in 4 KiB
// batches). Changes by other clients reach the gallery through its resync,
// which internal/gallery tests against this same server.
func TestWatchOpensAndEndsWithContext(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	changes, err := f.s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-changes:
		for ok {
			_, ok = <-changes
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch channel still open 10s after its context ended")
	}
	if _, err := f.s.Watch(ctxT(t, time.Second)); err != nil {
		t.Errorf("second watch: %v", err)
	}
}
