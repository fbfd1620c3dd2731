package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/stacktest"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// TestTwoWebuis is the webui of deploy/components/ha on loopback: two webui
// processes against one RabbitMQ and one MinIO, jobs submitted to either.
// Both must show every job's status (queued before any worker runs, then
// done with its images) and every gallery entry, live on /events and in the
// JSON API, and a gallery cursor from one must page the other: a browser
// behind a Service reaches either replica at any request.
func TestTwoWebuis(t *testing.T) {
	testenv.Short(t)
	const jobs = 16
	s := newStack(t, options{Generator: "placeholder"})
	other := s.addWebui("webui-b")
	bases := []string{s.base, other}

	// Submitted before any worker runs: every job stays queued, and each
	// replica must know the other's jobs from the status exchange alone.
	want := map[string]spec{}
	var ids []string
	for i, sp := range specs(jobs, 3, "two webuis") {
		c := newClient(bases[i%2], 1)
		cx, cancel := ctx(30 * time.Second)
		sub := c.submit(cx, sp)
		cancel()
		if sub.ID == "" {
			t.Fatalf("submit to webui %d: status %d %q %v", i%2, sub.Status, sub.Reason, sub.Err)
		}
		want[sub.ID] = sp
		ids = append(ids, sub.ID)
	}
	for i, base := range bases {
		if err := waitStatuses(base, ids, "queued", 30*time.Second); err != nil {
			t.Fatalf("webui %d before the workers: %v", i, err)
		}
	}

	// A browser's stream carries the cards of its cookie's jobs (at most
	// 12): each replica is followed as browsers that submitted the jobs,
	// opened before any job runs.
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	streams := []map[string]*stream{{}, {}}
	for i, base := range bases {
		for chunk := range slices.Chunk(ids, 12) {
			st := openStream(t, sctx, base, chunk...)
			for _, id := range chunk {
				streams[i][id] = st
			}
		}
	}
	s.addWorkers(2)
	for i, byID := range streams {
		for _, id := range ids {
			cx, cancel := ctx(2 * time.Minute)
			_, _, err := byID[id].await(cx, id)
			cancel()
			if err != nil {
				t.Fatalf("webui %d's /events: %v", i, err)
			}
		}
	}
	for i, base := range bases {
		if err := waitStatuses(base, ids, "done", 30*time.Second); err != nil {
			t.Fatalf("webui %d after the workers: %v", i, err)
		}
		for _, id := range ids {
			j, err := jobStatus(base, id)
			if err != nil || len(j.Images) != want[id].Count {
				t.Errorf("webui %d: job %s shows %d image URLs (want %d), err %v", i, id, len(j.Images), want[id].Count, err)
			}
		}
	}
	// The gallery: every entry on both, paging with cursors that the other
	// replica handed out.
	for i := range bases {
		got, err := galleryIDs(bases[i], bases[1-i], 5)
		if err != nil {
			t.Fatalf("gallery paged across webui %d and %d: %v", i, 1-i, err)
		}
		for _, id := range ids {
			if !got[id] {
				t.Errorf("gallery paged from webui %d: entry %s missing", i, id)
			}
		}
	}
	s.stopWorkers()
	tl, _, err := s.audit(want)
	if err != nil {
		t.Fatal(err)
	}
	if tl.Lost != 0 || tl.Doubled != 0 || tl.Completed != jobs {
		t.Errorf("bucket: %+v", tl)
	}
}

// addWebui starts another webui process on the stack's RabbitMQ and MinIO and
// returns its base URL once it is ready.
func (s *stack) addWebui(name string) string {
	s.t.Helper()
	webuiBin, _ := binaries(s.t)
	listen, base := stacktest.Listen(s.t)
	env := append(s.common(), listen, "RATE_LIMIT=0", "MAX_QUEUE_LENGTH=100000")
	p := runPod(s.t, name, webuiBin, env, filepath.Join(s.dir, name+".log"))
	s.t.Cleanup(func() {
		if s.t.Failed() {
			s.t.Logf("--- %s log (tail):\n%s", name, p.tail(30))
		}
	})
	if !waitUntil(90*time.Second, func() bool { return stacktest.GetJSON(base+"/readyz", nil) == http.StatusOK }) {
		s.t.Fatalf("%s not ready within 90s; log:\n%s", name, p.tail(30))
	}
	return base
}

// apiJobStatus is the part of GET /api/jobs/{id} the test reads.
type apiJobStatus struct {
	Status string   `json:"status"`
	Images []string `json:"images"`
}

func jobStatus(base, id string) (apiJobStatus, error) {
	var j apiJobStatus
	if code := stacktest.GetJSON(base+"/api/jobs/"+id, &j); code != http.StatusOK {
		return j, fmt.Errorf("GET /api/jobs/%s: status %d", id, code)
	}
	return j, nil
}

// waitStatuses polls base until every job shows status, or reports the
// ones that do not.
func waitStatuses(base string, ids []string, status string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var off []string
		for _, id := range ids {
			j, err := jobStatus(base, id)
			if err != nil || j.Status != status {
				off = append(off, fmt.Sprintf("%s: %q %v", id, j.Status, err))
			}
		}
		if len(off) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			sort.Strings(off)
			return fmt.Errorf("%d of %d jobs are not %q after %s: %s", len(off), len(ids), status, within, strings.Join(off, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// galleryIDs lists the whole gallery through GET /api/images, limit per
// page, asking first and then alternately: each cursor goes to the replica
// that did not give it out.
func galleryIDs(first, second string, limit int) (map[string]bool, error) {
	ids := map[string]bool{}
	bases := []string{first, second}
	before := ""
	for page := 0; ; page++ {
		u := fmt.Sprintf("%s/api/images?limit=%d", bases[page%2], limit)
		if before != "" {
			u += "&before=" + url.QueryEscape(before)
		}
		var body struct {
			Entries []struct {
				ID string `json:"id"`
			} `json:"entries"`
			Next string `json:"next"`
		}
		if code := stacktest.GetJSON(u, &body); code != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d", u, code)
		}
		for _, e := range body.Entries {
			ids[e.ID] = true
		}
		if body.Next == "" || page > 1000 {
			return ids, nil
		}
		before = body.Next
	}
}
