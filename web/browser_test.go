package web

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium and collects what its console reports:
// a CSP violation or a script error fails the test.
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
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser before anything else: a timeout on the first Run
	// would bound the whole browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

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
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func css(testid string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + testid + `"]`) }

// A person types a prompt, moves the slider, submits, sees the job card and
// then the images, in real headless Chromium.
func TestBrowserSubmitsAndSeesTheImages(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	st.startWorker(slowGenerator{delay: 1500 * time.Millisecond})
	ctx, problems := browser(t)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(st.url+"/"),
		chromedp.WaitVisible(css("prompt")),
		chromedp.SendKeys(css("prompt"), "a lighthouse at dusk"),
		chromedp.SendKeys(css("count"), kb.ArrowRight), // the slider, by keyboard: one step right
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
	shoot(t, ctx, "webui-submitted.png", 1280, 1000)
	if cards, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="job-card"]').length`)); cards != 2 {
		t.Errorf("%d job cards, want 2 (in parallel, 2 images)", cards)
	}
	// The page opened its event stream again with the cookie that holds
	// the new jobs: a stream carries the cards of its cookie's jobs only.
	ids, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-job-id]'), c => c.dataset.jobId)`))
	for _, id := range ids {
		waitFor(t, "a stream follows job "+id, func() bool { return st.app.hub.Wants(id) })
	}
	// Both cards reach done with their image, and the gallery shows both.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`
		document.querySelectorAll('[data-testid="job-card"][data-status="done"] [data-testid="job-image"]').length === 2 &&
		document.querySelectorAll('[data-testid="gallery-entry"]').length === 2 &&
		Array.from(document.querySelectorAll('[data-testid="job-image"], [data-testid="entry-thumb"]'))
			.every(i => i.complete && i.naturalWidth > 0)`, chromedp.WithPollingTimeout(60*time.Second)))
	if err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('composer').outerHTML`))
		t.Fatalf("wait for the images: %v (console: %v)\n%s", err, problems(), html)
	}
	if prompt, err := chromedp.Run(ctx, chromedp.Text(css("entry-prompt"))); err != nil || prompt != "a lighthouse at dusk" {
		t.Errorf("gallery prompt %q: %v", prompt, err)
	}

	// "Reuse" fills the form in place, without leaving the page.
	if err := chromedp.Do(ctx, chromedp.Click(css("reuse"))); err != nil {
		t.Fatal(err)
	}
	if v, err := chromedp.Run(ctx, chromedp.Value(css("prompt"))); err != nil || v != "a lighthouse at dusk" {
		t.Errorf("after reuse the prompt is %q (%v)", v, err)
	}
	if path, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`)); path != "/" {
		t.Errorf("reuse navigated to %s", path)
	}
	shoot(t, ctx, "webui-desktop.png", 1280, 1000)
	shoot(t, ctx, "webui-phone.png", 390, 844)
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems: %v", p)
	}
}
