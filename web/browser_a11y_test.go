package web

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe runs axe-core (vendored from npm into testdata, see web/README.md)
// on the page as it is, against WCAG 2.x A and AA and best practices, and
// returns the violations and the number of rules that passed.
func axe(t *testing.T, ctx context.Context) ([]axeViolation, int) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](string(src))); err != nil {
		t.Fatalf("load axe-core: %v", err)
	}
	var out struct {
		Violations []axeViolation `json:"violations"`
		Passes     int            `json:"passes"`
	}
	raw := eval[string](t, ctx, `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})
		.then(r => JSON.stringify({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))}))`)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatal(err)
	}
	return out.Violations, out.Passes
}

// The automated accessibility check: axe-core on the page with every kind
// of card, the fleet strip and the gallery, in the light and the dark
// theme, at desktop and phone widths, and with the lightbox open. Any
// violation fails; the results are saved as an artifact.
func TestBrowserAccessibility(t *testing.T) {
	t.Parallel()
	_, ctx, problems := startDemoBrowser(t)
	results := map[string]any{}
	check := func(name string) {
		t.Helper()
		v, passes := axe(t, ctx)
		results[name] = map[string]any{"passes": passes, "violations": v}
		t.Logf("%s: %d rules pass, %d violations", name, passes, len(v))
		for _, x := range v {
			t.Errorf("%s: %s (%s): %s at %v", name, x.ID, x.Impact, x.Help, x.Nodes)
		}
	}
	for _, scheme := range []string{"light", "dark"} {
		colorScheme(t, ctx, scheme)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 1000)); err != nil {
			t.Fatal(err)
		}
		check(scheme + "-desktop")
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		check(scheme + "-phone")
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 1000), chromedp.Click(chromedp.CSS(`#gallery-grid a.shot`))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the lightbox opens", `document.getElementById('lightbox').open`, problems)
	check("dark-lightbox")
	b, _ := json.MarshalIndent(results, "", "  ")
	path := filepath.Join(artifactDir(t), "axe.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("axe results: %s", path)
	noProblems(t, problems)
}
