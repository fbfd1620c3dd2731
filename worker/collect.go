package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// outputRe matches what fastsdcpu's image saver writes: <uuid4>-<i>.png and
// <uuid4>.json (src/backend/image_saver.py).
var outputRe = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-([1-9][0-9]*))?\.(png|json)$`)

// group is the files of one fastsdcpu uuid.
type group struct {
	uuid     string
	json     string
	images   map[int]string
	modified time.Time
}

// collect finds the output of this run among the files that appeared in
// results since the snapshot, moves its images into dir named after the job
// and reads its metadata. A complete group has the JSON (written last) and
// images 1..Count, and its JSON names our prompt: output of any other process
// (an orphan of a killed worker) is never taken for this job's. Every new
// output file is removed from results afterwards.
func collect(results string, before map[string]bool, m job.Message, dir string) (Result, error) {
	entries, err := os.ReadDir(results)
	if err != nil {
		return Result{}, fmt.Errorf("list results: %w", err)
	}
	groups := map[string]*group{}
	var fresh []string
	for _, e := range entries {
		name := e.Name()
		sm := outputRe.FindStringSubmatch(name)
		if before[name] || sm == nil {
			continue
		}
		fresh = append(fresh, filepath.Join(results, name))
		g := groups[sm[1]]
		if g == nil {
			g = &group{uuid: sm[1], images: map[int]string{}}
			groups[sm[1]] = g
		}
		if info, err := e.Info(); err == nil && info.ModTime().After(g.modified) {
			g.modified = info.ModTime()
		}
		if sm[3] == "json" && sm[2] == "" {
			g.json = filepath.Join(results, name)
		} else if sm[3] == "png" && sm[2] != "" {
			n, _ := strconv.Atoi(sm[2])
			g.images[n] = filepath.Join(results, name)
		}
	}
	defer func() {
		for _, p := range fresh {
			_ = os.Remove(p) // the chosen group was moved already
		}
	}()

	var best *group
	var bestMeta map[string]any
	var why []string
	for _, g := range sortedGroups(groups) {
		meta, err := g.check(m)
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		if best == nil || g.modified.After(best.modified) {
			best, bestMeta = g, meta
		}
	}
	if best == nil {
		if len(why) == 0 {
			return Result{}, fmt.Errorf("wrote no output in %s", results)
		}
		return Result{}, fmt.Errorf("wrote no complete output in %s (%s)", results, strings.Join(why, "; "))
	}
	res := Result{Metadata: bestMeta}
	for n := 1; n <= m.Count; n++ {
		dst := imagePath(dir, m.ID, n)
		if err := moveFile(best.images[n], dst); err != nil {
			return Result{}, fmt.Errorf("move image %d: %w", n, err)
		}
		res.Images = append(res.Images, dst)
	}
	return res, nil
}

// removeNew deletes the output files that appeared since the snapshot.
func removeNew(results string, before map[string]bool) {
	entries, _ := os.ReadDir(results)
	for _, e := range entries {
		if !before[e.Name()] && outputRe.MatchString(e.Name()) {
			_ = os.Remove(filepath.Join(results, e.Name()))
		}
	}
}

// check reads the group's metadata and tells whether it is this job's
// complete output.
func (g *group) check(m job.Message) (map[string]any, error) {
	if g.json == "" {
		return nil, fmt.Errorf("%s: no metadata JSON (%d images)", g.uuid, len(g.images))
	}
	for n := 1; n <= m.Count; n++ {
		if g.images[n] == "" {
			return nil, fmt.Errorf("%s: %d of %d images", g.uuid, len(g.images), m.Count)
		}
	}
	b, err := os.ReadFile(g.json)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", g.uuid, err)
	}
	meta, err := decodeMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", g.uuid, err)
	}
	if p, _ := meta["prompt"].(string); p != m.Prompt {
		return nil, fmt.Errorf("%s: metadata of another prompt (%q)", g.uuid, p)
	}
	return meta, nil
}

// decodeMetadata keeps numbers as written (1.0 stays 1.0 on re-encoding).
func decodeMetadata(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var meta map[string]any
	if err := dec.Decode(&meta); err != nil {
		return nil, fmt.Errorf("metadata JSON: %w", err)
	}
	if meta == nil {
		return nil, fmt.Errorf("metadata JSON: not an object")
	}
	return meta, nil
}

func sortedGroups(m map[string]*group) []*group {
	out := make([]*group, 0, len(m))
	for _, g := range m {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uuid < out[j].uuid })
	return out
}

// tail keeps the last max bytes written to it: the end of a traceback is
// where Python says what went wrong.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return len(p), nil
}

// pythonReason puts the last line of a Python traceback (the exception and
// its message) before the traceback's tail: a failure reason is cut to its
// first KiB in the dead letters' header, and the exception is what a
// person needs first.
func pythonReason(out string) string {
	i := strings.LastIndex(out, "Traceback (most recent call last):")
	if i < 0 {
		return out
	}
	lines := strings.Split(strings.TrimSpace(out[i:]), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" || strings.HasPrefix(last, "File ") || strings.HasPrefix(last, "^") {
		return out
	}
	return last + "\n" + out
}

// reset forgets what was kept (a long-lived driver's next job).
func (t *tail) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf, t.cut = t.buf[:0], false
}

// String is the kept text, valid UTF-8, trimmed, "…" first if cut.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), ""))
	if t.cut {
		s = "…" + s
	}
	return s
}
