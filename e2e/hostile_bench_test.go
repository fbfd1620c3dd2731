package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
)

// BenchmarkHostileBucketRSS measures the memory of a real webui process
// (cmd/webui on RabbitMQ and MinIO) while the bucket holds what a foreign
// tool could write (issue 12): "json-1MB" is E2E_HOSTILE_JSONS (200) entries
// whose metadata JSON is 1 MB (a 1 MB prompt), "json-60KB" as many whose
// JSON is 60 KB, under the webui's read limit (read, the prompt cut at
// MAX_PROMPT_LENGTH), "png16" five entries whose
// image is a 16-bit RGBA 4096×4096 PNG (130 KB, 128 MB decoded), their five
// thumbnails asked for at once. It reports the webui's RSS before and after
// and its peak (VmHWM), the size of the answers and of the SSE gallery
// events; web/README.md holds the figures.
func BenchmarkHostileBucketRSS(b *testing.B) {
	for _, size := range []int{1 << 20, 60 << 10} {
		name := fmt.Sprintf("json-%dKB", size>>10)
		if size == 1<<20 {
			name = "json-1MB"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				hostileJSON(b, envInt(b, "E2E_HOSTILE_JSONS", 200), size)
			}
		})
	}
	b.Run("png16", func(b *testing.B) {
		for range b.N {
			hostilePNG(b, 5)
		}
	})
}

func hostileJSON(b *testing.B, n, size int) {
	s := newStack(b, options{})
	rss0 := s.webuiMem(b, "VmRSS")
	sse := s.followSizes(b)
	meta, img := gallerytest.BigMetadata(size), gallerytest.PNG(64, 64)
	for range n {
		s.putEntry(b, uuid.NewString(), meta, img)
	}
	s.waitEntries(b, n)
	page := s.getSize(b, "/")
	api := s.getSize(b, "/api/images?limit=200")
	time.Sleep(2 * time.Second) // the SSE events of the last entries
	rss1, hwm := s.webuiMem(b, "VmRSS"), s.webuiMem(b, "VmHWM")
	maxEv, events := sse.max()
	b.ReportMetric(rss0, "rss-before-MB")
	b.ReportMetric(rss1, "rss-after-MB")
	b.ReportMetric(hwm, "rss-peak-MB")
	b.ReportMetric(float64(page)/1e6, "page-MB")
	b.ReportMetric(float64(api)/1e6, "api-MB")
	b.ReportMetric(float64(maxEv)/1e6, "sse-event-max-MB")
	b.Logf("%d entries with a JSON of %d KB: RSS %.1f → %.1f MB (peak %.1f); GET / %d bytes, /api/images?limit=200 %d bytes; %d gallery events, the largest %d bytes",
		n, size>>10, rss0, rss1, hwm, page, api, events, maxEv)
}

func hostilePNG(b *testing.B, n int) {
	s := newStack(b, options{})
	png := gallerytest.PNG16(4096, 4096)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		s.putEntry(b, ids[i], gallerytest.Metadata("a 16-bit PNG", 7, nil), png)
	}
	s.waitEntries(b, n)
	rss0 := s.webuiMem(b, "VmRSS")
	var wg sync.WaitGroup
	codes := make([]string, n)
	start := time.Now()
	for i, id := range ids {
		wg.Go(func() {
			resp, err := http.Get(s.base + "/images/" + store.ThumbKey(id, 1))
			if err != nil {
				codes[i] = err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			codes[i] = fmt.Sprintf("%d %s %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		})
	}
	wg.Wait()
	took := time.Since(start)
	rss1, hwm := s.webuiMem(b, "VmRSS"), s.webuiMem(b, "VmHWM")
	b.ReportMetric(rss0, "rss-before-MB")
	b.ReportMetric(rss1, "rss-after-MB")
	b.ReportMetric(hwm, "rss-peak-MB")
	b.Logf("%d thumbnails of 16-bit 4096² PNGs at once in %s: RSS %.1f → %.1f MB (peak %.1f); answers %s",
		n, took.Round(time.Millisecond), rss0, rss1, hwm, strings.Join(codes, ", "))
}

// webuiMem is a memory figure of the webui process from /proc (VmRSS: now,
// VmHWM: its peak), in MB.
func (s *stack) webuiMem(b *testing.B, field string) float64 {
	s.webui.mu.Lock()
	pid := s.webui.cur.Pid()
	s.webui.mu.Unlock()
	v := strings.TrimSuffix(procField(fmt.Sprintf("/proc/%d/status", pid), field), " kB")
	kb, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s of the webui: %q", field, v)
	}
	return float64(kb) / 1024
}

// putEntry writes an entry as a foreign tool would: the images, then the JSON.
func (s *stack) putEntry(b *testing.B, id string, meta []byte, images ...[]byte) {
	c, cancel := ctx(time.Minute)
	defer cancel()
	put := func(key string, data []byte, ct string) {
		if _, err := s.s3.PutObject(c, bucketName, key, bytes.NewReader(data), int64(len(data)),
			minio.PutObjectOptions{ContentType: ct}); err != nil {
			b.Fatalf("put %s: %v", key, err)
		}
	}
	for i, img := range images {
		put(store.ImageKey(id, i+1), img, store.TypePNG)
	}
	put(store.MetadataKey(id), meta, store.TypeJSON)
}

// waitEntries waits until the webui's gallery holds n entries,
// read from /metrics (asking /api/images would load their metadata).
func (s *stack) waitEntries(b *testing.B, n int) {
	deadline := time.Now().Add(2 * time.Minute)
	want := fmt.Sprintf(" %d", n)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(body), "\n") {
				if strings.HasPrefix(line, "sdkeda_webui_gallery_entries") && strings.HasSuffix(line, want) {
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Fatalf("the gallery did not reach %d entries within 2 minutes", n)
}

// getSize fetches path and returns the size of its body; it fails on an
// answer that is not 200.
func (s *stack) getSize(b *testing.B, path string) int64 {
	resp, err := http.Get(s.base + path)
	if err != nil {
		b.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s, %d bytes, %v", path, resp.Status, n, err)
	}
	return n
}

// sizes notes the size of every SSE gallery event.
type sizes struct {
	mu     sync.Mutex
	n, big int
}

func (z *sizes) max() (int, int) { z.mu.Lock(); defer z.mu.Unlock(); return z.big, z.n }

// followSizes reads /events until the benchmark ends and notes the sizes
// of the gallery events.
func (s *stack) followSizes(b *testing.B) *sizes {
	z := &sizes{}
	c, cancel := ctx(time.Hour)
	b.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(c, http.MethodGet, s.base+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET /events: %v", err)
	}
	go func() {
		defer resp.Body.Close()
		r := bufio.NewReaderSize(resp.Body, 64<<10)
		event := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(line[len("event:"):])
			case strings.HasPrefix(line, "data:") && event == "gallery":
				z.mu.Lock()
				z.n++
				z.big = max(z.big, len(line))
				z.mu.Unlock()
			}
		}
	}()
	return z
}
