package web

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium and collects what its console reports:
// a CSP violation or a script error fails the test. What runs in it has 3
// minutes.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Unavailable(t, "chromium at %s (apt-get install chromium)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser before anything else: a timeout on the first Run
	// would bound the whole browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	ctx, cancelRun := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelRun)

	var mu sync.Mutex
	var problems []string
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// artifactDir is where screenshots go: the test's output folder.
func artifactDir(t *testing.T) string {
	dir := t.ArtifactDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shoot saves a full-page PNG screenshot at the given viewport size.
func shoot(t *testing.T, ctx context.Context, name string, width, height int64) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	saveShot(t, name, img)
}

// saveShot writes a screenshot into the test's artifact folder.
func saveShot(t *testing.T, name string, img []byte) {
	t.Helper()
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// shootView saves what the viewport shows, at the given size, scrolled so
// that the element sel is at the top ("" for the top of the page).
func shootView(t *testing.T, ctx context.Context, name string, width, height int64, sel string) {
	t.Helper()
	scroll := `window.scrollTo(0, 0)`
	if sel != "" {
		scroll = `document.querySelector(` + strconv.Quote(sel) + `).scrollIntoView({block: "start"})`
	}
	err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height), chromedp.Sleep(200*time.Millisecond),
		chromedp.Evaluate[chromedp.Void](scroll), chromedp.Sleep(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	img, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveShot(t, name, img)
}

func css(testid string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + testid + `"]`) }

// setCookie gives the browser a cookie of the server at url.
func setCookie(t *testing.T, ctx context.Context, url, name, value string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: url}); err != nil {
		t.Fatalf("set cookie %s: %v", name, err)
	}
}

// colorScheme makes the page see the system's light or dark preference.
func colorScheme(t *testing.T, ctx context.Context, scheme string) {
	t.Helper()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
	if err != nil {
		t.Fatalf("emulate %s: %v", scheme, err)
	}
}

// eval runs JavaScript in the page and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// poll waits until the JavaScript condition holds; on a timeout it shows
// the job cards.
func poll(t *testing.T, ctx context.Context, what, cond string, problems func() []string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		jobs, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('jobs') || document.body).outerHTML`))
		t.Fatalf("wait until %s: %v (console: %v)\n%s", what, err, problems(), jobs)
	}
}

// press clicks the element sel in one step of the page's own: a live card
// can be replaced between finding it and a mouse click at its place. A
// button of an htmx form is pressed once htmx has taken the form over (a
// person does not click within the few milliseconds of a swap; a press
// then would post the form without JavaScript and reload the page).
func press(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	js := `(() => { const e = document.querySelector(` + strconv.Quote(sel) + `);
		if (!e) return false;
		const f = e.closest('form[hx-post]');
		if (f && !f['htmx-internal-data']) return false;
		e.click(); return true })()`
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("press %s: %v (found and ready: %v)", sel, err, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pollAcrossLoads is poll for a page that reloads itself: the condition is
// asked again and again, a navigation in between is no error.
func pollAcrossLoads(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("wait until %s: timeout (last error %v)", what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// A person types a prompt, moves the slider, submits, sees the jobs of the
// submission together with their seeds and then the images, in real
// headless Chromium on RabbitMQ, MinIO and a worker. The form stays as it
// was sent; Ctrl+Enter submits again; "reuse" brings every setting back.
// (Issue 13 points 1, 2, and 3's grouping.)
func TestBrowserSubmitsAndSeesTheImages(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	st.startWorker(slowGenerator{delay: 1500 * time.Millisecond})
	ctx, problems := browser(t)

	err := chromedp.Do(ctx,
		chromedp.Navigate(st.url+"/"),
		chromedp.WaitVisible(css("prompt")),
		chromedp.SendKeys(css("prompt"), "a lighthouse at dusk"),
		chromedp.SendKeys(css("count"), kb.ArrowRight), // the slider, by keyboard: one step right
		chromedp.Click(chromedp.CSS(`details.advanced summary`)),
		chromedp.SendKeys(css("guidance_scale"), "1.5"),
	)
	if err != nil {
		t.Fatalf("fill the form: %v (console: %v)", err, problems())
	}
	if count, err := chromedp.Run(ctx, chromedp.Text(css("count-value"))); err != nil || count != "2" {
		t.Errorf("the slider shows %q, want 2 (%v)", count, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(css("submit")),
		chromedp.WaitVisible(css("job-card")),
		chromedp.WaitVisible(css("form-notice")),
	)
	if err != nil {
		t.Fatalf("submit: %v (console: %v)", err, problems())
	}
	shoot(t, ctx, "webui-submitted.png", 1400, 1000)
	// The form is as it was sent, the advanced part still open.
	form := eval[[]string](t, ctx, `['prompt', 'count', 'guidance_scale', 'seed'].map(n => document.getElementById(n).value)
		.concat([String(document.getElementById('parallel').checked), String(document.querySelector('details.advanced').open)])`)
	if strings.Join(form, "|") != "a lighthouse at dusk|2|1.5||true|true" {
		t.Errorf("the form after Generate: %v", form)
	}
	// The page opened its event stream again with the cookie that holds
	// the new jobs: a stream carries the cards of its cookie's jobs only.
	ids, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-job-id]'), c => c.dataset.jobId)`))
	for _, id := range ids {
		waitFor(t, "a stream follows job "+id, func() bool { return st.app.hub.Wants(id) })
	}
	// The two jobs are one group, each with its seed, one after the other.
	seeds := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('[data-testid=job-group] [data-testid=job-seed]')).map(e => e.textContent)`)
	if len(seeds) != 2 || !strings.HasPrefix(seeds[0], "seed ") {
		t.Fatalf("seeds on the cards %v", seeds)
	}
	// Both cards reach done with their image; the gallery shows one card
	// with both.
	poll(t, ctx, "the images", `
		document.querySelectorAll('[data-testid="job-card"][data-status="done"] [data-testid="job-image"]').length === 2 &&
		document.querySelectorAll('[data-testid="gallery-entry"]').length === 1 &&
		document.querySelectorAll('[data-testid="gallery-entry"] [data-testid="entry-thumb"]').length === 2 &&
		Array.from(document.querySelectorAll('[data-testid="job-image"], [data-testid="entry-thumb"]'))
			.every(i => i.complete && i.naturalWidth > 0)`, problems)
	if prompt, err := chromedp.Run(ctx, chromedp.Text(css("entry-prompt"))); err != nil || prompt != "a lighthouse at dusk" {
		t.Errorf("gallery prompt %q: %v", prompt, err)
	}
	gallerySeeds := eval[string](t, ctx, `document.querySelector('[data-testid=entry-seed]').textContent.trim()`)
	first, second := strings.TrimPrefix(seeds[0], "seed "), strings.TrimPrefix(seeds[1], "seed ")
	if gallerySeeds != first+", "+second {
		t.Errorf("gallery seeds %q, cards %v", gallerySeeds, seeds)
	}

	// The lightbox of each image of the group card shows that job's seed
	// (the second came by a live event and joined the card).
	for i, want := range []string{first, second} {
		press(t, ctx, `[data-testid=gallery-entry] .shot-set:nth-child(`+strconv.Itoa(i+1)+`) a.shot`)
		poll(t, ctx, "the lightbox opens", `document.getElementById('lightbox').open`, problems)
		if meta := eval[string](t, ctx, `document.querySelector('.lightbox-meta').textContent`); !strings.Contains(meta, "Seed"+want) {
			t.Errorf("image %d of the group: metadata %q lacks seed %s", i+1, meta, want)
		}
		press(t, ctx, `[data-testid=lightbox-close]`)
	}
	// Change the form, then "reuse" the gallery card: every setting of the
	// submission comes back, with its first seed, without leaving the page.
	err = chromedp.Do(ctx, chromedp.Clear(css("prompt")), chromedp.SendKeys(css("prompt"), "something else"),
		chromedp.Click(css("parallel")), chromedp.Click(css("reuse")))
	if err != nil {
		t.Fatal(err)
	}
	form = eval[[]string](t, ctx, `['prompt', 'count', 'guidance_scale', 'seed'].map(n => document.getElementById(n).value)
		.concat([String(document.getElementById('parallel').checked), document.getElementById('count-value').textContent])`)
	if strings.Join(form, "|") != "a lighthouse at dusk|2|1.5|"+first+"|true|2" {
		t.Errorf("after reuse: %v", form)
	}
	if path := eval[string](t, ctx, `location.pathname + location.search`); path != "/" {
		t.Errorf("reuse navigated to %s", path)
	}
	// Ctrl+Enter in the prompt generates: the same batch again.
	err = chromedp.Do(ctx, chromedp.Focus(css("prompt")), chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	if err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the second submission", `document.querySelectorAll('[data-testid=job-group]').length === 2`, problems)
	again := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('[data-testid=job-group]')[0].querySelectorAll('[data-testid=job-seed]')).map(e => e.textContent)`)
	if strings.Join(again, ",") != strings.Join(seeds, ",") {
		t.Errorf("reused batch has seeds %v, want %v", again, seeds)
	}
	shootView(t, ctx, "webui-desktop.png", 1400, 1000, "")
	shootView(t, ctx, "webui-phone.png", 390, 844, "")
	noProblems(t, problems)
}
