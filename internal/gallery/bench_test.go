package gallery

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
)

// loaded is an index of a synthetic bucket of n entries (1 image each).
func loaded(b *testing.B, n int) (*Index, *gallerytest.Synthetic) {
	b.Helper()
	s := gallerytest.NewSynthetic(n, 1)
	ix := New(s, Options{})
	if err := ix.Resync(context.Background()); err != nil {
		b.Fatal(err)
	}
	if ix.Len() != n {
		b.Fatalf("len %d, want %d", ix.Len(), n)
	}
	return ix, s
}

// BenchmarkMemory100k loads an index of 100k entries (1 image each) and
// reports the heap it keeps (index-MB, after GC), the heap at its highest
// during the load (peak-heap-MB, sampled), what the load allocated in all
// (load-alloc-MB) and the resident size of this process (rss-MB, from
// /proc/self/status). It is declared first so that it runs before the other
// benchmarks of the package add to the process's memory.
func BenchmarkMemory100k(b *testing.B) {
	const n = 100_000
	s := gallerytest.NewSynthetic(n, 1)
	var index, peak, alloc, rss float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		stop := samplePeak()
		ix := New(s, Options{})
		if err := ix.Resync(context.Background()); err != nil {
			b.Fatal(err)
		}
		peak = float64(stop()) / 1e6
		runtime.GC()
		runtime.ReadMemStats(&after)
		index = float64(after.HeapAlloc-before.HeapAlloc) / 1e6
		alloc = float64(after.TotalAlloc-before.TotalAlloc) / 1e6
		rss = residentMB()
		runtime.KeepAlive(ix)
	}
	b.ReportMetric(index, "index-MB")
	b.ReportMetric(peak, "peak-heap-MB")
	b.ReportMetric(alloc, "load-alloc-MB")
	b.ReportMetric(rss, "rss-MB")
}

// BenchmarkPage measures one gallery page of 24 entries, metadata included:
// "first" is the newest page (its metadata cached, as on a busy webui),
// "deep" a page at a random cursor (its metadata mostly read and parsed from
// the fake store). p50-ns and p99-ns are the latency percentiles of single
// pages; one op is pagesPerOp pages, so that `make bench` (-benchtime 1x)
// still has enough samples.
func BenchmarkPage(b *testing.B) {
	const pagesPerOp = 500
	for _, n := range []int{1_000, 10_000, 100_000} {
		ix, s := loaded(b, n)
		for _, kind := range []string{"first", "deep"} {
			b.Run(fmt.Sprintf("entries=%d/%s", n, kind), func(b *testing.B) {
				ctx := context.Background()
				rng := rand.New(rand.NewPCG(uint64(n), 1))
				var lat []time.Duration
				for b.Loop() {
					for range pagesPerOp {
						before := ""
						if kind == "deep" {
							i := 24 + rng.IntN(n-24)
							before = cursor(sortTime(s.Start.Add(time.Duration(i)*time.Second)), gallerytest.FillID(i))
						}
						start := time.Now()
						page, _, err := ix.Page(ctx, DefaultPage, before)
						lat = append(lat, time.Since(start))
						if err != nil || len(page) != DefaultPage || page[0].Meta == nil {
							b.Fatalf("page: %d entries, %v", len(page), err)
						}
					}
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
				b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
			})
		}
	}
}

// samplePeak samples the heap's live and unswept objects every millisecond
// until the returned func is called, which returns the highest.
func samplePeak() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

func residentMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}
