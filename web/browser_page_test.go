package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Issue 13 in headless Chromium, point by point, on the demo page (fakes:
// every state at once, nothing to wait for) unless a real job is needed.

func startDemoBrowser(t *testing.T) (*demo, context.Context, func() []string) {
	t.Helper()
	d := startDemo(t)
	ctx, problems := browser(t)
	setCookie(t, ctx, d.url, jobsCookie, d.cookie())
	if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(css("gallery-entry"))); err != nil {
		t.Fatalf("open the page: %v (console: %v)", err, problems())
	}
	return d, ctx, problems
}

func noProblems(t *testing.T, problems func() []string) {
	t.Helper()
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems: %v", p)
	}
}

// Point 3: a click opens the lightbox; arrows, buttons and a swipe move
// through the images, Esc closes it and gives the focus back; it has a
// download link with a useful name and the full metadata. An image opened
// alone shows without console errors, and /favicon.ico is there.
func TestBrowserLightbox(t *testing.T) {
	t.Parallel()
	d, ctx, problems := startDemoBrowser(t)
	state := func() string {
		return eval[string](t, ctx, `(() => { const d = document.getElementById('lightbox');
			return [d.open, d.querySelector('.lightbox-img').getAttribute('src'), d.querySelector('.lightbox-title').textContent].join('|') })()`)
	}
	first := `#card-` + demoFour + ` a.shot`
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(first))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the lightbox opens", `document.getElementById('lightbox').open`, problems)
	// The gallery's images in page order: the paper boat (1), the four
	// seasons (4), six others.
	s := state()
	if !strings.HasPrefix(s, "true|"+d.url+"/images/"+demoFour+"-1.png|2 of 11 · image 1 of 4 · seed 4242") {
		t.Errorf("opened: %s", s)
	}
	meta := eval[string](t, ctx, `document.querySelector('.lightbox-meta').textContent`)
	for _, want := range []string{"four seasons of one tree", "Seed4242", "Size512 × 512", "Generatorplaceholder"} {
		if !strings.Contains(meta, want) {
			t.Errorf("metadata lacks %q: %q", want, meta)
		}
	}
	dl := eval[[]string](t, ctx, `(() => { const a = document.querySelector('[data-testid=lightbox-download]');
		return [a.getAttribute('href'), a.getAttribute('download')] })()`)
	if dl[0] != d.url+"/images/"+demoFour+"-1.png" || dl[1] != "four-seasons-of-one-tree-4242-1.png" {
		t.Errorf("download %v", dl)
	}
	shoot(t, ctx, "lightbox.png", 1400, 1000)

	// Keyboard: right, right, left; the buttons; wrapping around.
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowLeft)); err != nil {
		t.Fatal(err)
	}
	if s := state(); !strings.Contains(s, demoFour+"-2.png") {
		t.Errorf("after →→←: %s", s)
	}
	if err := chromedp.Do(ctx, chromedp.Click(css("lightbox-prev")), chromedp.Click(css("lightbox-prev")), chromedp.Click(css("lightbox-prev"))); err != nil {
		t.Fatal(err)
	}
	if s := state(); !strings.Contains(s, "|11 of 11") {
		t.Errorf("wrapping back from the first: %s", s)
	}
	if err := chromedp.Do(ctx, chromedp.Click(css("lightbox-next")), chromedp.Click(css("lightbox-next"))); err != nil {
		t.Fatal(err)
	}
	// A swipe to the left on a touch screen: the next image.
	swipe := func(fromX, toX float64) {
		t.Helper()
		pt := func(x float64) []*input.TouchPoint { return []*input.TouchPoint{{X: x, Y: 500}} }
		for _, ev := range []input.DispatchTouchEventParams{
			{Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: pt(fromX)},
			{Type: input.DispatchTouchEventTypeTouchMove, TouchPoints: pt((fromX + toX) / 2)},
			{Type: input.DispatchTouchEventTypeTouchMove, TouchPoints: pt(toX)},
			{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}},
		} {
			if _, err := chromedp.Call(ctx, input.DispatchTouchEvent, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	swipe(900, 500)
	if s := state(); !strings.Contains(s, "|3 of 11") {
		t.Errorf("after a swipe left: %s", s)
	}
	swipe(500, 900)
	if s := state(); !strings.Contains(s, "|2 of 11") {
		t.Errorf("after a swipe right: %s", s)
	}
	// Esc closes and the focus goes back to the image that opened it.
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the lightbox closes", `!document.getElementById('lightbox').open`, problems)
	if got := eval[string](t, ctx, `document.activeElement.closest('a.shot') ? document.activeElement.getAttribute('href') : ''`); got != "/images/"+demoFour+"-1.png" {
		t.Errorf("focus after close: %q", got)
	}
	// A job card's image opens the lightbox over this browser's images.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#job-`+demoPar1+` a.shot`))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the lightbox opens from a card", `document.getElementById('lightbox').open`, problems)
	if s := state(); !strings.Contains(s, demoPar1+"-1.png") || !strings.Contains(s, "of 5") {
		t.Errorf("from a card: %s", s)
	}
	if err := chromedp.Do(ctx, chromedp.Click(css("lightbox-close"))); err != nil {
		t.Fatal(err)
	}

	// An image opened alone (a new tab, "open image"): no CSP errors, and
	// the browser's request for /favicon.ico finds one.
	if status := eval[int](t, ctx, `fetch('/favicon.ico').then(r => r.status)`); status != 200 {
		t.Errorf("/favicon.ico: %d", status)
	}
	// Point 9: HEAD of an image answers GET's headers, without a body.
	head := eval[[]string](t, ctx, `Promise.all([fetch('/images/`+demoFour+`-1.png', {method: 'HEAD'}), fetch('/images/`+demoFour+`-1.png')])
		.then(([h, g]) => h.text().then(body => [String(h.status), h.headers.get('content-type'), h.headers.get('content-length'),
			g.headers.get('content-length'), String(body.length)]))`)
	if len(head) != 5 || head[0] != "200" || head[1] != "image/png" || head[2] == "" || head[2] != head[3] || head[4] != "0" {
		t.Errorf("HEAD of an image: status, type, length, GET's length, body: %v", head)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(eval[string](t, ctx, `location.origin`)+"/images/"+demoFour+"-1.png"),
		chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, "image-alone.png", 1400, 1000)
	noProblems(t, problems)
}

// Point 6: the page follows prefers-color-scheme; the toggle picks light or
// dark (or back to the system's), and the browser remembers it.
func TestBrowserTheme(t *testing.T) {
	t.Parallel()
	d, ctx, problems := startDemoBrowser(t)
	bg := func() string {
		return eval[string](t, ctx, `getComputedStyle(document.body).color + ' on ' + getComputedStyle(document.documentElement).backgroundColor`)
	}
	colorScheme(t, ctx, "dark")
	dark := bg()
	colorScheme(t, ctx, "light")
	light := bg()
	if dark != "rgb(244, 246, 248) on rgb(0, 0, 0)" || light != "rgb(11, 18, 32) on rgb(244, 247, 251)" {
		t.Errorf("system dark %q, system light %q", dark, light)
	}
	// The system says light; the toggle goes system -> light -> dark.
	if got := eval[string](t, ctx, `document.querySelector('[data-testid=theme-toggle]').textContent`); got != "Theme: system" {
		t.Errorf("toggle %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(css("theme-toggle")), chromedp.Click(css("theme-toggle"))); err != nil {
		t.Fatal(err)
	}
	if got := bg(); got != dark {
		t.Errorf("picked dark on a light system: %q", got)
	}
	// Remembered: a new page load (before any script but theme.js runs).
	if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(css("gallery-entry"))); err != nil {
		t.Fatal(err)
	}
	if got, label := bg(), eval[string](t, ctx, `document.querySelector('[data-testid=theme-toggle]').textContent`); got != dark || label != "Theme: dark" {
		t.Errorf("after a reload: %q, %q", got, label)
	}
	// Back to auto: the system's again.
	if err := chromedp.Do(ctx, chromedp.Click(css("theme-toggle"))); err != nil {
		t.Fatal(err)
	}
	if got := bg(); got != light || eval[string](t, ctx, `localStorage.getItem('sd-theme') || ''`) != "" {
		t.Errorf("auto again: %q", got)
	}
	noProblems(t, problems)
}

// Point 8: on a 390×844 phone the "×" stays between width and height, a
// long unbroken prompt does not widen the page, and the finished cards are
// compact: the gallery starts close under the cards.
func TestBrowserPhone(t *testing.T) {
	t.Parallel()
	_, ctx, problems := startDemoBrowser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Click(chromedp.CSS(`details.advanced summary`)),
		chromedp.Sleep(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	line := eval[[]float64](t, ctx, `['#width', '.times', '#height'].map(s => document.querySelector(s).getBoundingClientRect().bottom)`)
	if len(line) != 3 || abs(line[0]-line[2]) > 2 || line[1] > line[0]+2 || line[1] < line[0]-40 {
		t.Errorf("width, ×, height bottoms %v: not on one line", line)
	}
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the page is %v px wide on a 390 px phone", w)
	}
	over := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('.job, .entry, .job-group')).
		filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > 391).map(e => e.id || e.className)`)
	if len(over) > 0 {
		t.Errorf("cards wider than the screen: %v", over)
	}
	// Eight cards (five finished) and a group: the gallery starts within
	// 1,700 px of the top of the jobs (it was 3,000 for ten before).
	gap := eval[float64](t, ctx, `document.getElementById('gallery').getBoundingClientRect().top - document.getElementById('jobs').getBoundingClientRect().top`)
	finished := eval[[]float64](t, ctx, `Array.from(document.querySelectorAll('.job-finished')).map(e => e.getBoundingClientRect().height)`)
	for _, h := range finished {
		if h > 120 {
			t.Errorf("a finished card is %v px high: %v", h, finished)
			break
		}
	}
	t.Logf("jobs to gallery: %v px; finished cards %v px", gap, finished)
	if gap > 1700 {
		t.Errorf("the gallery starts %v px under the jobs", gap)
	}
	shootView(t, ctx, "phone-jobs.png", 390, 844, "#jobs")
	shootView(t, ctx, "phone-form.png", 390, 844, "#composer")
	noProblems(t, problems)
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// Point 7 on the demo: without JavaScript the slider's numbers show its
// value (the output that JavaScript updates is hidden rather than wrong),
// the JavaScript-only controls are hidden, and the cards' buttons are
// forms. (The whole flow without JavaScript: TestBrowserWithoutJavaScript.)
func TestBrowserWithoutJavaScriptShowsNothingWrong(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	ctx, problems := browser(t)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	setCookie(t, ctx, d.url, jobsCookie, d.cookie())
	if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(css("count-ticks"))); err != nil {
		t.Fatal(err)
	}
	vis, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`['[data-testid=count-value]', '[data-testid=theme-toggle]', '[data-testid=count-ticks]', '[data-testid=cancel]']
		.map(s => { const e = document.querySelector(s); return !!e && e.getClientRects().length > 0 })`))
	// Evaluate runs through the protocol even with the page's scripts off.
	if err != nil || len(vis) != 4 || vis[0] || vis[1] || !vis[2] || !vis[3] {
		t.Errorf("visible (output, toggle, ticks, cancel): %v %v", vis, err)
	}
	shootView(t, ctx, "no-js.png", 1400, 1000, "")
	noProblems(t, problems)
}
