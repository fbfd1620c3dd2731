package web

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Issue 13 in headless Chromium on RabbitMQ, MinIO and a worker: the flows
// that need real jobs.

// Point 7: without JavaScript the form posts, the notice survives the
// redirect, the form comes back as sent, and the page reloads itself while
// a job waits or runs, until the cards say done.
func TestBrowserWithoutJavaScript(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	gen := newHeldGenerator() // the jobs wait until the page after the redirect is read
	st.startWorker(gen)
	t.Cleanup(gen.releaseAll) // before the worker stops (cleanups run last first)
	ctx, problems := browser(t)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(st.url+"/"),
		chromedp.WaitVisible(css("prompt")),
		chromedp.SendKeys(css("prompt"), "a quiet harbour"),
		chromedp.SendKeys(css("count"), kb.ArrowRight),
		chromedp.Click(css("submit")),
		chromedp.WaitVisible(css("form-notice")),
	)
	if err != nil {
		t.Fatalf("submit without JavaScript: %v", err)
	}
	page := eval[[]string](t, ctx, `[document.querySelector('[data-testid=form-notice]').textContent,
		document.getElementById('prompt').value, document.getElementById('count').value,
		String(!!document.querySelector('noscript')), String(document.querySelectorAll('[data-testid=job-card]').length)]`)
	if strings.Join(page, "|") != "Queued 2 jobs.|a quiet harbour|2|true|2" {
		t.Errorf("after the redirect: %v", page)
	}
	shootView(t, ctx, "no-js-submitted.png", 1400, 1000, "")
	// The page reloads itself (meta refresh) until both cards are done, and
	// then stops refreshing.
	gen.release(2)
	pollAcrossLoads(t, ctx, "the cards say done without JavaScript", `document.querySelectorAll('[data-testid=job-card][data-status=done]').length === 2 &&
		!document.querySelector('noscript')`)
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid=job-image]').length`); n != 2 {
		t.Errorf("%d images on the cards", n)
	}
	noProblems(t, problems)
}

// Point 5: cancel a waiting job (its card says cancelled and it never
// runs), retry it (the same settings as a new job), clear the finished
// cards.
func TestBrowserCancelRetryClear(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	ctx, problems := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(st.url+"/"),
		chromedp.WaitVisible(css("prompt")),
		chromedp.SendKeys(css("prompt"), "three kites"),
		chromedp.SendKeys(css("count"), kb.ArrowRight+kb.ArrowRight),
		chromedp.Click(css("submit")),
	)
	if err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "three queued cards", `document.querySelectorAll('[data-testid=job-card][data-status=queued]').length === 3`, problems)
	ids := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('[data-testid=job-card]')).map(c => c.dataset.jobId)`)
	cancelled := ids[1]
	press(t, ctx, `#job-`+cancelled+` [data-testid=cancel]`)
	poll(t, ctx, "the card says cancelled", `document.querySelector('#job-`+cancelled+`').dataset.status === 'cancelled' &&
		document.querySelector('#job-`+cancelled+` [data-testid=job-status]').textContent.includes('Cancelled')`, problems)
	shootView(t, ctx, "cancelled.png", 1400, 1000, "")

	// A worker now: the others run, the cancelled one never does.
	gen := &runs{}
	st.startWorker(gen)
	poll(t, ctx, "the others are done", `['`+ids[0]+`', '`+ids[2]+`'].every(id => document.querySelector('#job-' + id).dataset.status === 'done')`, problems)
	if gen.count(cancelled) != 0 || gen.count(ids[0]) != 1 || gen.count(ids[2]) != 1 {
		t.Errorf("runs: %v", gen.ran)
	}
	// Retry: a new job with the same settings takes the card's place.
	seed := eval[string](t, ctx, `document.querySelector('#job-`+cancelled+` [data-testid=job-seed]').textContent`)
	press(t, ctx, `#job-`+cancelled+` [data-testid=retry]`)
	poll(t, ctx, "the retried job is done", `!document.querySelector('#job-`+cancelled+`') &&
		document.querySelectorAll('[data-testid=job-card][data-status=done]').length === 3`, problems)
	if got := eval[string](t, ctx, `document.querySelector('[data-testid=job-card] [data-testid=job-seed]').textContent`); got != seed {
		t.Errorf("the retry has %q, the cancelled job had %q", got, seed)
	}
	if gen.total() != 3 {
		t.Errorf("%d runs, want 3", gen.total())
	}
	// Clear the finished cards.
	press(t, ctx, `[data-testid=clear-finished]`)
	poll(t, ctx, "no cards left", `document.querySelectorAll('[data-testid=job-card]').length === 0`, problems)
	noProblems(t, problems)
}

// Point 4: a card says what happens (waiting for a free worker, generating)
// and the fleet strip shows the worker and the queue, live.
func TestBrowserWaitingAndFleet(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	gen := newHeldGenerator() // each job runs until the test has seen what it waits for
	st.startWorker(gen)
	t.Cleanup(gen.releaseAll) // before the worker stops (cleanups run last first)
	ctx, problems := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(st.url+"/"), chromedp.WaitVisible(css("fleet"))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the strip shows the idle worker", `!!document.querySelector('[data-testid=fleet-idle]')`, problems)
	err := chromedp.Do(ctx,
		chromedp.SendKeys(css("prompt"), "a slow snail"),
		chromedp.SendKeys(css("count"), kb.ArrowRight+kb.ArrowRight),
		chromedp.Click(css("submit")),
	)
	if err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "one card generating, the others waiting for a free worker", `(() => {
		const s = Array.from(document.querySelectorAll('[data-testid=job-status]')).map(e => e.textContent);
		return s.some(t => t.includes('generating')) && s.filter(t => t.includes('waiting for a free worker')).length === 2 &&
			!!document.querySelector('[data-testid=fleet-busy]'); })()`, problems)
	shootView(t, ctx, "waiting.png", 1400, 1000, "")
	gen.release(3)
	poll(t, ctx, "all done, the worker idle again", `document.querySelectorAll('[data-testid=job-card][data-status=done]').length === 3 &&
		!!document.querySelector('[data-testid=fleet-idle]')`, problems)
	// The next jobs have an estimate, from these three: the first is held,
	// the others wait.
	if err := chromedp.Do(ctx, chromedp.Click(css("submit"))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "an estimate", `Array.from(document.querySelectorAll('[data-testid=job-estimate]')).some(e => /left|starts/.test(e.textContent))`, problems)
	noProblems(t, problems)
}
