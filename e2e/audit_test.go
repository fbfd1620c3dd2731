package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// object is what the bucket holds for one job id, read with minio-go
// directly rather than through the product's own store package.
type object struct {
	JSON     bool
	Modified time.Time // of the JSON
	Images   map[int]bool
}

// meta is the part of a job's metadata JSON the suite reads (the worker's
// own fields beside fastsdcpu's, worker/README.md).
type meta struct {
	JobID             string    `json:"job_id"`
	Prompt            string    `json:"prompt"`
	Worker            string    `json:"worker"`
	Attempt           int       `json:"attempt"`
	StartedAt         time.Time `json:"started_at"`
	FinishedAt        time.Time `json:"finished_at"`        // end of generation
	GenerationSeconds float64   `json:"generation_seconds"` // the generator's own time, a load left out
	ModelLoadSeconds  float64   `json:"model_load_seconds"` // when the job paid a pipeline build
	UploadSeconds     float64   `json:"upload_seconds"`     // the images
}

// objects lists the bucket by job id: <id>.json and <id>-<n>.png.
func (s *stack) objects(ctx context.Context) (map[string]*object, error) {
	out := map[string]*object{}
	get := func(id string) *object {
		if out[id] == nil {
			out[id] = &object{Images: map[int]bool{}}
		}
		return out[id]
	}
	for o := range s.s3.ListObjects(ctx, bucketName, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s: %w", bucketName, o.Err)
		}
		if id, ok := strings.CutSuffix(o.Key, ".json"); ok && !strings.Contains(id, "/") {
			e := get(id)
			e.JSON, e.Modified = true, o.LastModified
			continue
		}
		base, ok := strings.CutSuffix(o.Key, ".png")
		i := strings.LastIndexByte(base, '-')
		if !ok || i <= 0 || strings.Contains(base, "/") {
			continue // thumbnails and anything else
		}
		if n, err := strconv.Atoi(base[i+1:]); err == nil {
			get(base[:i]).Images[n] = true
		}
	}
	return out, nil
}

// metadata reads the JSON of job id.
func (s *stack) metadata(ctx context.Context, id string) (meta, error) {
	var m meta
	o, err := s.s3.GetObject(ctx, bucketName, id+".json", minio.GetObjectOptions{})
	if err != nil {
		return m, fmt.Errorf("get %s.json: %w", id, err)
	}
	defer o.Close()
	if err := json.NewDecoder(o).Decode(&m); err != nil {
		return m, fmt.Errorf("decode %s.json: %w", id, err)
	}
	return m, nil
}

// metadataAll reads the JSON of every id, a few at a time.
func (s *stack) metadataAll(ctx context.Context, ids []string) (map[string]meta, error) {
	out := make(map[string]meta, len(ids))
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m, err := s.metadata(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			out[id] = m
		})
	}
	wg.Wait()
	return out, first
}

// waitComplete polls the bucket until every job in want has its JSON, or
// within has passed; what is still missing then is lost for the audit.
func (s *stack) waitComplete(want map[string]spec, within time.Duration) (missing int) {
	deadline := time.Now().Add(within)
	for {
		c, cancel := ctx(30 * time.Second)
		objs, err := s.objects(c)
		cancel()
		missing = len(want)
		if err == nil {
			missing = 0
			for id := range want {
				if o := objs[id]; o == nil || !o.JSON {
					missing++
				}
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return missing
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// tally is the outcome of a run, counted from the bucket.
type tally struct {
	Accepted   int      // jobs that got a 202
	Completed  int      // of those, with exactly one complete entry
	Lost       int      // of those, with no complete entry
	Doubled    int      // of those, with a wrong entry: extra or missing images, another job's metadata
	Reruns     int      // completed entries whose metadata says attempt > 1 (a redelivery overwrote its own keys)
	Unexpected int      // complete entries of ids that got no 202 (a publish whose confirm or answer was lost)
	Problems   []string // the first few lost or doubled, for the log
}

// audit checks every accepted job against the bucket: exactly one complete
// entry (<id>.json and images 1..count, nothing more) whose metadata names
// the job and its prompt.
func (s *stack) audit(want map[string]spec) (tally, map[string]meta, error) {
	c, cancel := ctx(5 * time.Minute)
	defer cancel()
	objs, err := s.objects(c)
	if err != nil {
		return tally{}, nil, err
	}
	var done []string
	for id := range want {
		if o := objs[id]; o != nil && o.JSON {
			done = append(done, id)
		}
	}
	metas, err := s.metadataAll(c, done)
	if err != nil {
		return tally{}, nil, err
	}
	t := tally{Accepted: len(want)}
	problem := func(format string, args ...any) {
		if len(t.Problems) < 10 {
			t.Problems = append(t.Problems, fmt.Sprintf(format, args...))
		}
	}
	for id, sp := range want {
		o := objs[id]
		if o == nil || !o.JSON {
			t.Lost++
			problem("lost %s (%q)", id, sp.Prompt)
			continue
		}
		m := metas[id]
		wrong := len(o.Images) != sp.Count || m.JobID != id || m.Prompt != sp.Prompt
		for n := 1; n <= sp.Count; n++ {
			wrong = wrong || !o.Images[n]
		}
		if wrong {
			t.Doubled++
			problem("doubled %s: %d images of %d, metadata of job %q prompt %q", id, len(o.Images), sp.Count, m.JobID, m.Prompt)
			continue
		}
		t.Completed++
		if m.Attempt > 1 {
			t.Reruns++
		}
	}
	for id, o := range objs {
		if _, ok := want[id]; !ok && o.JSON {
			t.Unexpected++
		}
	}
	sort.Strings(t.Problems)
	return t, metas, nil
}
