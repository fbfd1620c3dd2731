package web

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/rabbitmq"
	"github.com/sdkeda/sdkeda/internal/status"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// Benchmarks report what `make bench` (-benchtime 1x) puts in web/README.md:
// each runs a fixed number of requests per b.N and reports percentiles.

// BenchmarkSubmit is POST /api/jobs over loopback HTTP against the real
// RabbitMQ: each submission is a confirmed publish of the job (its queued
// event goes out beside), from 8, 16 and 32 clients at once, 4,000
// submissions each.
func BenchmarkSubmit(b *testing.B) {
	rabbit := testenv.RabbitMQ(b)
	cfg := benchConfig(b)
	q, err := rabbitmq.Open(context.Background(), rabbit.URL, queue.Options{Name: testenv.UniqueName("bench")}, nopLog())
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	fg := newFakeGallery()
	srv := httptest.NewServer(NewServer(benchDeps(cfg, q, imagesOf{fg}, fg)))
	defer srv.Close()
	body := `{"prompt":"a green dog on a skateboard, studio light, 35 mm","count":1}`
	const total = 4000
	for _, clients := range []int{8, 16, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			defer client.CloseIdleConnections()
			for b.Loop() {
				lat := make([][]time.Duration, clients)
				var wg sync.WaitGroup
				start := time.Now()
				for c := range clients {
					wg.Go(func() {
						for range total / clients {
							t0 := time.Now()
							resp, err := client.Post(srv.URL+"/api/jobs", "application/json", strings.NewReader(body))
							if err != nil {
								b.Error(err)
								return
							}
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != http.StatusAccepted {
								b.Errorf("status %d", resp.StatusCode)
								return
							}
							lat[c] = append(lat[c], time.Since(t0))
						}
					})
				}
				wg.Wait()
				took := time.Since(start)
				all := slices.Concat(lat...)
				b.ReportMetric(float64(len(all))/took.Seconds(), "req/s")
				reportPercentiles(b, all)
			}
		})
	}
}

// BenchmarkGalleryRequest is GET /api/images (the newest page, and a page
// deep in the gallery) and GET / (the whole page) through the handler, with
// 1k, 10k and 100k entries in the index; at 100k it also reports the
// process's memory.
func BenchmarkGalleryRequest(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			st := gallerytest.NewSynthetic(n, 1)
			idx := gallery.New(st, gallery.Options{})
			if err := idx.Resync(context.Background()); err != nil {
				b.Fatal(err)
			}
			h := NewServer(benchDeps(benchConfig(b), &fakeQueue{}, st, idx))
			cursors := walkCursors(b, h, 100)
			for _, tc := range []struct {
				name   string
				target func() string
			}{
				{"api-newest", func() string { return "/api/images?limit=24" }},
				{"api-deep", func() string {
					return "/api/images?limit=24&before=" + cursors[rand.IntN(len(cursors))]
				}},
				{"page", func() string { return "/" }},
			} {
				b.Run(tc.name, func(b *testing.B) {
					for b.Loop() {
						lat := make([]time.Duration, 0, 2000)
						for range cap(lat) {
							r := httptest.NewRequest(http.MethodGet, tc.target(), nil)
							w := httptest.NewRecorder()
							t0 := time.Now()
							h.ServeHTTP(w, r)
							lat = append(lat, time.Since(t0))
							if w.Code != http.StatusOK {
								b.Fatalf("%s: %d", r.URL, w.Code)
							}
						}
						reportPercentiles(b, lat)
					}
				})
			}
			if n == 100_000 {
				b.Run("memory", func(b *testing.B) {
					for b.Loop() {
						runtime.GC()
						debug.FreeOSMemory()
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
						b.ReportMetric(rssMB(), "rss-MB")
					}
				})
				runtime.KeepAlive(idx)
			}
		})
	}
}

// walkCursors follows "next" through the first pages of /api/images.
func walkCursors(b *testing.B, h http.Handler, pages int) []string {
	var out []string
	before := ""
	for range pages {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/images?limit=24&before="+before, nil))
		page := decodeJSON[apiImages](b, w.Body)
		if page.Next == "" {
			break
		}
		before = page.Next
		out = append(out, before)
	}
	if len(out) == 0 {
		b.Fatal("no cursors")
	}
	return out
}

// benchDeps are the server's dependencies over q, images and g, with a job
// status and a hub of their own (no events follow: a benchmark measures the
// handler).
func benchDeps(cfg config.WebUI, q interface {
	JobQueue
	queue.StatusSubscriber
}, images ImageStore, g interface {
	Gallery
	status.Gallery
}) Deps {
	jobs := status.New(q, g, status.Options{})
	hub := NewHub(16)
	return Deps{Config: cfg, Queue: q, Images: images, Markers: newFakeGallery(), Gallery: g, Jobs: jobs, Hub: hub,
		Metrics: NewMetrics(prometheus.NewRegistry(), g, hub, jobs)}
}

func benchConfig(b *testing.B) config.WebUI {
	cfg, err := config.LoadWebUI(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	cfg.RateLimit, cfg.MaxQueueLength, cfg.AllowedHosts = 0, 10_000_000, nil
	return cfg
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

// rssMB is the resident set size of this process (Linux).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}
