package gallery

import (
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
)

func BenchmarkParseMeta(b *testing.B) {
	data := gallerytest.Metadata("a prompt of usual length, with a few words more", 42,
		map[string]any{"job_id": "0b6f0c1e-6a37-4c1e-8d8e-6f0c1e6a374c", "worker": "worker-7", "generator": "fastsdcpu",
			"started_at": "2026-01-02T03:04:05.123Z", "finished_at": "2026-01-02T03:04:35.456Z", "generation_seconds": 30.3})
	// 1000 parses an op: `make bench` runs one op.
	b.SetBytes(1000 * int64(len(data)))
	start := time.Now()
	parses := 0
	for b.Loop() {
		for range 1000 {
			if m := ParseMeta(data, 0); m.Prompt == "" {
				b.Fatal("no prompt")
			}
		}
		parses += 1000
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(parses), "ns/parse")
}
