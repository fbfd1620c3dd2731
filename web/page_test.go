package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/web/components"
)

func entry(id, prompt string, age time.Duration, now time.Time) gallery.Entry {
	return gallery.Entry{ID: id, Modified: now.Add(-age), Meta: &gallery.Meta{
		Prompt: prompt, Model: "stabilityai/sd-turbo", LoraBaseModel: "Lykon/dreamshaper-8",
		Width: 512, Height: 768, Seed: 1234, UseSeed: true,
	}}
}

func TestPageHasTheFormAndTheKEDALine(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := f.get("/")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	d := doc(t, w)
	if got := d.Find("title").Text(); got != "Stable Diffusion" {
		t.Errorf("title %q", got)
	}
	if !strings.Contains(testid(d, "keda-line").Text(), "autoscaled by Kubernetes Event-Driven Autoscaling (KEDA)") {
		t.Errorf("KEDA line %q", testid(d, "keda-line").Text())
	}
	form := testid(d, "form")
	if form.AttrOr("method", "") != "post" || form.AttrOr("action", "") != "/generate" {
		t.Error("the form must post to /generate without JavaScript")
	}
	count := testid(d, "count")
	if count.AttrOr("type", "") != "range" || count.AttrOr("min", "") != "1" || count.AttrOr("max", "") != "4" || testid(d, "count-value").Text() != "1" {
		t.Error("want a slider from 1 to 4 showing its value")
	}
	for _, id := range []string{"prompt", "parallel", "negative_prompt", "seed", "width", "height", "steps"} {
		el := testid(d, id)
		if el.Length() != 1 {
			t.Errorf("no field %s", id)
			continue
		}
		if d.Find(`label[for="`+el.AttrOr("id", "")+`"]`).Length() != 1 {
			t.Errorf("field %s has no label", id)
		}
	}
	if _, open := testid(d, "advanced").Attr("open"); open {
		t.Error("the advanced part should start folded")
	}
	if d.Find("script:not([src])").Length() != 0 {
		t.Error("inline script: the CSP forbids it")
	}
	h := w.Header()
	if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Referrer-Policy") == "" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("security headers %v", h)
	}
}

func TestScriptInPromptIsRenderedEscaped(t *testing.T) {
	t.Parallel()
	f := setup(t)
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	f.gallery.add(entry("e1", evil, time.Minute, f.now), []byte("png"))
	w := f.postForm(url.Values{"prompt": {evil}, "count": {"9"}}) // invalid: the form comes back
	body := w.Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
		t.Fatal("the prompt was rendered as HTML")
	}
	d := doc(t, f.postForm(url.Values{"prompt": {evil}, "count": {"9"}}))
	if got := testid(d, "prompt").Text(); got != evil {
		t.Errorf("form: %q", got)
	}
	if got := testid(d, "entry-prompt").Text(); got != evil {
		t.Errorf("gallery: %q", got)
	}
	// A job card and the SSE payload escape it too.
	j, _ := f.jobs.Apply(jobEvent("0b6b1bd4-2a4e-4f7e-9e2d-6f3c8a3e5b11", "queued", evil))
	html := renderString(components.JobCard(jobVM(j, scene{now: f.now})))
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("job card: %s", html)
	}
}

func TestGalleryShowsNewestFirstWithMetadataAndLoadMore(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for i := range 30 {
		f.gallery.add(entry(fmt.Sprintf("e%02d", i), fmt.Sprintf("prompt %d", i), time.Duration(30-i)*time.Minute, f.now), []byte("png"))
	}
	d := doc(t, f.get("/"))
	cards := testid(d, "gallery-entry")
	if cards.Length() != 24 {
		t.Fatalf("%d cards, want 24", cards.Length())
	}
	first := cards.First()
	if first.AttrOr("data-entry-id", "") != "e29" || first.Find(`[data-testid="entry-prompt"]`).Text() != "prompt 29" {
		t.Errorf("first card %s", first.AttrOr("data-entry-id", ""))
	}
	for id, want := range map[string]string{"entry-model": "stabilityai/sd-turbo", "entry-lora": "Lykon/dreamshaper-8",
		"entry-size": "512 × 768", "entry-age": "a minute ago"} {
		if got := first.Find(`[data-testid="` + id + `"]`).Text(); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	link := first.Find("a.shot")
	if link.AttrOr("href", "") != "/images/e29-1.png" || link.Find("img").AttrOr("src", "") != "/images/thumbs/e29-1.jpg" {
		t.Errorf("image link %q thumb %q", link.AttrOr("href", ""), link.Find("img").AttrOr("src", ""))
	}
	if got := first.Find(`[data-testid="reuse"]`).AttrOr("href", ""); got != "/?count=1&height=768&parallel=off&prompt=prompt+29&seed=1234&width=512#composer" {
		t.Errorf("reuse link %q", got)
	}
	if first.Find(`[data-testid="copy-prompt"]`).AttrOr("data-copy", "") != "prompt 29" {
		t.Error("copy button")
	}

	// "Load more" works as a link without JavaScript and as a fragment with htmx.
	more := testid(d, "load-more")
	href := more.AttrOr("href", "")
	if href != "/?before=e06#gallery" || more.AttrOr("hx-get", "") != "/gallery?before=e06" {
		t.Fatalf("load more href %q hx-get %q", href, more.AttrOr("hx-get", ""))
	}
	older := doc(t, f.get(strings.TrimSuffix(href, "#gallery")))
	if n := testid(older, "gallery-entry").Length(); n != 6 || testid(older, "load-more").Length() != 0 {
		t.Errorf("older page: %d cards", n)
	}
	frag := f.get("/gallery?before=e06", "HX-Request", "true")
	fd := doc(t, frag)
	if testid(fd, "gallery-entry").Length() != 6 || testid(fd, "title").Length() != 0 {
		t.Errorf("fragment: %d cards", testid(fd, "gallery-entry").Length())
	}
}

func TestPromptsOfTheOldSystemLoseTheirQuotes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.gallery.add(entry("old", `"green dog"`, time.Hour, f.now), []byte("png"))
	if got := testid(doc(t, f.get("/")), "entry-prompt").Text(); got != "green dog" {
		t.Errorf("prompt %q", got)
	}
}

func TestReuseLinkFillsTheForm(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := doc(t, f.get("/?prompt=a+red+fox&seed=77"))
	if testid(d, "prompt").Text() != "a red fox" || testid(d, "seed").AttrOr("value", "") != "77" {
		t.Error("the form was not filled")
	}
	if _, open := testid(d, "advanced").Attr("open"); !open {
		t.Error("the advanced part should be open to show the seed")
	}
}

func TestEmptyAndLoadingGallery(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if testid(doc(t, f.get("/")), "gallery-empty").Length() != 1 {
		t.Error("an empty gallery should say so")
	}
	f.gallery.ready = false
	if testid(doc(t, f.get("/")), "gallery-loading").Length() != 1 {
		t.Error("a loading gallery should say so")
	}
}

func TestStaticAssetsAreEmbeddedAndVersioned(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := doc(t, f.get("/"))
	for _, sel := range []string{`script[src^="/static/htmx.min.js?v="]`, `script[src^="/static/app.js?v="]`, `link[href^="/static/style.css?v="]`} {
		el := d.Find(sel)
		if el.Length() != 1 {
			t.Fatalf("no %s", sel)
		}
		src := el.AttrOr("src", el.AttrOr("href", ""))
		w := f.get(src)
		if w.Code != http.StatusOK || w.Body.Len() == 0 || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("%s: status %d cache %q", src, w.Code, w.Header().Get("Cache-Control"))
		}
	}
}
