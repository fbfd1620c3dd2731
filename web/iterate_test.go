package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/sdkeda/sdkeda/internal/job"
)

// Issue 13 points 1 and 2 (iterating; seeds and settings), on the handler.

// GET / takes every field of the form from its query: the redirect after a
// submission without JavaScript, and "reuse" links.
func TestPageQueryFillsEveryField(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := url.Values{"prompt": {"a red fox"}, "negative_prompt": {"blurry"}, "count": {"3"}, "parallel": {"off"},
		"seed": {"77"}, "width": {"640"}, "height": {"384"}, "steps": {"4"}, "guidance_scale": {"1.5"}, "advanced": {"closed"}}
	d := doc(t, f.get("/?"+q.Encode()))
	for id, want := range map[string]string{"seed": "77", "width": "640", "height": "384", "steps": "4",
		"guidance_scale": "1.5", "count": "3", "advanced-state": "closed"} {
		if got := testid(d, id).AttrOr("value", ""); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	if testid(d, "prompt").Text() != "a red fox" || testid(d, "negative_prompt").Text() != "blurry" {
		t.Error("prompts not filled")
	}
	if _, checked := testid(d, "parallel").Attr("checked"); checked {
		t.Error("parallel=off left the box checked")
	}
	if _, open := testid(d, "advanced").Attr("open"); open {
		t.Error("advanced=closed: the part should stay folded as it was sent")
	}
	// Without "advanced", values unfold it; an old reuse link keeps parallel on.
	d = doc(t, f.get("/?prompt=x&seed=5"))
	if _, open := testid(d, "advanced").Attr("open"); !open {
		t.Error("a seed should unfold the advanced part")
	}
	if _, checked := testid(d, "parallel").Attr("checked"); !checked {
		t.Error("a query without parallel keeps the default (on)")
	}
	// A wrong field in a closed part unfolds it anyway.
	w := f.postForm(url.Values{"prompt": {"x"}, "steps": {"999"}, "advanced": {"closed"}}, "HX-Request", "true")
	if _, open := testid(doc(t, w), "advanced").Attr("open"); !open {
		t.Error("an error in the advanced part must show")
	}
}

// Every job gets a seed: the one asked for, else one drawn by the webui;
// the jobs of a parallel submission count up from it, so N parallel jobs of
// one prompt are N different pictures and the whole batch can be made again.
func TestEveryJobHasASeedAndParallelSeedsCountUp(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if w := f.postJSON(`{"prompt":"a","count":3,"parallel":true}`); w.Code != http.StatusAccepted {
		t.Fatalf("status %d", w.Code)
	}
	msgs := f.queue.messages()
	if len(msgs) != 3 || msgs[0].Seed == nil {
		t.Fatalf("messages %+v", msgs)
	}
	for i, m := range msgs {
		if m.Seed == nil || *m.Seed != *msgs[0].Seed+int64(i) || *m.Seed > job.MaxSeed {
			t.Errorf("job %d: seed %v, want %d", i, m.Seed, *msgs[0].Seed+int64(i))
		}
	}
	g := setup(t)
	g.postForm(url.Values{"prompt": {"b"}, "count": {"2"}, "parallel": {"on"}, "seed": {"41"}, "guidance_scale": {"1.5"}})
	msgs = g.queue.messages()
	if len(msgs) != 2 || *msgs[0].Seed != 41 || *msgs[1].Seed != 42 || *msgs[1].GuidanceScale != 1.5 {
		t.Errorf("seed 41 in parallel: %+v", msgs)
	}
	// The last seed of a parallel submission must fit.
	w := g.postJSON(`{"prompt":"c","count":2,"parallel":true,"seed":4294967295}`)
	if w.Code != http.StatusBadRequest || !strings.Contains(decodeJSON[apiErr](t, w.Body).field("seed"), "at most 4294967294") {
		t.Errorf("seed overflow: %d", w.Code)
	}
	for _, bad := range []string{"NaN", "Inf", "x", "25"} {
		w := g.postForm(url.Values{"prompt": {"d"}, "guidance_scale": {bad}})
		if w.Code != http.StatusBadRequest || testid(doc(t, w), "error-guidance_scale").Text() == "" {
			t.Errorf("guidance %q: status %d", bad, w.Code)
		}
	}
}

// The queued event carries every setting, so that any replica can show the
// job's seed and make it again; the card shows the seed and its "reuse"
// link brings every setting back.
func TestCardShowsTheSeedAndReusesEverySetting(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := f.postForm(url.Values{"prompt": {"a fox"}, "count": {"2"}, "negative_prompt": {"blurry"}, "seed": {"9"},
		"width": {"640"}, "height": {"384"}, "steps": {"3"}, "guidance_scale": {"2"}})
	waitFor(t, "the queued event", func() bool { return len(f.queue.statusEvents()) == 1 })
	e := f.queue.statusEvents()[0]
	if e.Seed == nil || *e.Seed != 9 || e.NegativePrompt != "blurry" || e.Width != 640 || e.Height != 384 ||
		e.Steps != 3 || *e.GuidanceScale != 2 {
		t.Errorf("queued event %+v", e)
	}
	id := f.queue.messages()[0].ID
	f.jobs.Apply(job.Event{ID: id, State: job.Failed, Attempt: 3, Reason: "out of memory"})
	d := doc(t, f.do(httptestGet("/", w.Result().Cookies())))
	card := testid(d, "job-card")
	if got := card.Find(`[data-testid="job-seed"]`).Text(); got != "seed 9" {
		t.Errorf("seed on the card %q", got)
	}
	href := card.Find(`[data-testid="job-reuse"]`).AttrOr("href", "")
	u, _ := url.Parse(href)
	want := url.Values{"prompt": {"a fox"}, "count": {"2"}, "parallel": {"off"}, "negative_prompt": {"blurry"},
		"seed": {"9"}, "width": {"640"}, "height": {"384"}, "steps": {"3"}, "guidance_scale": {"2"}}
	if u.Query().Encode() != want.Encode() {
		t.Errorf("reuse %s, want %s", u.Query().Encode(), want.Encode())
	}
	// Following it gives the form back as it was.
	d = doc(t, f.get(href))
	if testid(d, "negative_prompt").Text() != "blurry" || testid(d, "guidance_scale").AttrOr("value", "") != "2" {
		t.Error("reuse did not restore the settings")
	}
}

// The images of one submission share one card, in "Your jobs" and in the
// gallery; reusing the gallery card makes the whole batch again.
func TestOneSubmissionIsOneCard(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := f.postForm(url.Values{"prompt": {"boats"}, "count": {"3"}, "parallel": {"on"}, "seed": {"100"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d", w.Code)
	}
	msgs := f.queue.messages()
	cookies := w.Result().Cookies()
	d := doc(t, f.do(httptestGet("/", cookies)))
	group := testid(d, "job-group")
	if group.Length() != 1 || group.Find(`[data-testid="job-card"]`).Length() != 3 {
		t.Fatalf("job groups %d", group.Length())
	}
	if got := group.Find(".job-group-summary").Text(); got != "3 images in parallel · seeds 100–102" {
		t.Errorf("summary %q", got)
	}
	// In the gallery, the entries of the group (newest first, with another
	// entry between them) make one card, their images in seed order.
	for i, m := range msgs {
		e := entry(m.ID, "boats", time.Duration(10-i*3)*time.Second, f.now)
		e.Meta.Group, e.Meta.Seed = msgs[0].Group, 100+int64(i)
		f.gallery.add(e, []byte("png"))
	}
	f.gallery.add(entry("other", "other", 5*time.Second, f.now), []byte("png"))
	d = doc(t, f.get("/"))
	cards := testid(d, "gallery-entry")
	if cards.Length() != 2 {
		t.Fatalf("%d gallery cards, want 2 (the group, the other)", cards.Length())
	}
	first := cards.First()
	var seeds []string
	first.Find(".shot-set").Each(func(_ int, s *goquery.Selection) { seeds = append(seeds, s.AttrOr("data-seed", "")) })
	if strings.Join(seeds, ",") != "100,101,102" || first.Find(`[data-testid="entry-seed"]`).Text() != "100, 101, 102" {
		t.Errorf("sets in order %v, seeds %q", seeds, first.Find(`[data-testid="entry-seed"]`).Text())
	}
	u, _ := url.Parse(first.Find(`[data-testid="reuse"]`).AttrOr("href", ""))
	if q := u.Query(); q.Get("count") != "3" || q.Get("parallel") != "on" || q.Get("seed") != "100" {
		t.Errorf("reuse of the group: %s", u.RawQuery)
	}
	if first.Find("a.shot").First().AttrOr("data-download", "") != "boats-100-1.png" {
		t.Errorf("download name %q", first.Find("a.shot").First().AttrOr("data-download", ""))
	}
}

// A seed counts only when the metadata says it made the images.
func TestEntryWithoutARecordedSeed(t *testing.T) {
	t.Parallel()
	f := setup(t)
	e := entry("e1", "old", time.Minute, f.now)
	e.Meta.Seed, e.Meta.UseSeed = -1, false
	f.gallery.add(e, []byte("png"))
	d := doc(t, f.get("/"))
	if got := testid(d, "entry-seed").Text(); !strings.Contains(got, "not recorded") {
		t.Errorf("seed %q", got)
	}
	if strings.Contains(testid(d, "reuse").AttrOr("href", ""), "seed=") {
		t.Error("reuse of an entry without a seed carries one")
	}
}
