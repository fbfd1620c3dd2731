package gallery_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/store/s3store"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// listCounter counts the S3 LIST requests (ListObjectsV2) that pass through
// it, as MinIO counts them.
type listCounter struct {
	next  http.RoundTripper
	lists atomic.Int64
}

func (c *listCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && r.URL.Query().Has("list-type") {
		c.lists.Add(1)
	}
	return c.next.RoundTrip(r)
}

// idleBucket fills a bucket of its own on the real MinIO with entries of 3
// images and a JSON (25: 100 objects) and opens the store on it through a
// LIST counter.
func idleBucket(tb testing.TB, entries int) (store.Store, *listCounter) {
	tb.Helper()
	m := testenv.MinIO(tb)
	bucket := testenv.UniqueName("idle")
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		tb.Fatal(err)
	}
	lc := &listCounter{next: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := s3store.Open(ctx, s3store.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey,
		SecretKey: m.SecretKey, Bucket: bucket, Transport: lc}, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	mc, err := minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		tb.Fatal(err)
	}
	img := gallerytest.PNG(8, 8)
	put := func(key string, data []byte, ctype string) {
		if _, err := mc.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: ctype}); err != nil {
			tb.Errorf("put %s: %v", key, err)
		}
	}
	var wg sync.WaitGroup
	for i := range entries {
		wg.Go(func() {
			id := fmt.Sprintf("%c%03d", "0aZ9"[i%4], i)
			for n := 1; n <= 3; n++ {
				put(store.ImageKey(id, n), img, store.TypePNG)
			}
			put(store.MetadataKey(id), gallerytest.Metadata(id, 3, nil), store.TypeJSON)
		})
	}
	wg.Wait()
	return s, lc
}

// What relisting costs on the real MinIO, counted on the wire: the first
// listing 63 LIST calls (the thumbnails, then each first character: the
// size of the bucket is not known yet), every later one of a small bucket a
// single call (the benchmark's bucket of 100 objects too). The pace of relisting is schedule.go's (unit tests);
// BenchmarkIdleBucketListCalls measures calls per minute.
func TestMinIOListCallsOfARelisting(t *testing.T) {
	t.Parallel()
	s, lc := idleBucket(t, 8)
	ix := gallery.New(s, gallery.Options{Resync: time.Hour, MinResync: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	f := &fixture{t: t, ctx: t.Context(), ix: ix}
	f.waitFor("the index to be ready", ix.Ready)
	if n := lc.lists.Load(); n != 63 {
		t.Errorf("first listing: %d LIST calls, want 63", n)
	}
	if ix.Len() != 8 {
		t.Fatalf("%d entries, want 8", ix.Len())
	}
	for range 3 {
		before := lc.lists.Load()
		if err := ix.Resync(f.ctx); err != nil {
			t.Fatal(err)
		}
		if n := lc.lists.Load() - before; n != 1 {
			t.Errorf("relisting a bucket of 32 objects: %d LIST calls, want 1", n)
		}
	}
}

// BenchmarkIdleBucketListCalls runs an index with the webui's defaults
// (RESYNC_INTERVAL 5m, LIST budget 1 call/s) on an idle bucket of 100
// objects of the real MinIO, where no notification comes, for
// GALLERY_IDLE_SECONDS (60), and reports the LIST calls per minute after the
// first listing.
func BenchmarkIdleBucketListCalls(b *testing.B) {
	secs := 60
	if v := os.Getenv("GALLERY_IDLE_SECONDS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			secs = n
		}
	}
	for b.Loop() {
		s, lc := idleBucket(b, 25)
		ix := gallery.New(s, gallery.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ix.Run(ctx) }()
		for !ix.Ready() {
			time.Sleep(10 * time.Millisecond)
		}
		first := lc.lists.Load()
		start := time.Now()
		time.Sleep(time.Duration(secs) * time.Second)
		calls := lc.lists.Load() - first
		perMin := float64(calls) / time.Since(start).Minutes()
		cancel()
		<-done
		b.ReportMetric(float64(first), "first_listing_calls")
		b.ReportMetric(perMin, "list_calls/min")
		b.Logf("idle bucket of 100 objects, %d s: first listing %d LIST calls, then %d (%.1f per minute)", secs, first, calls, perMin)
	}
}
