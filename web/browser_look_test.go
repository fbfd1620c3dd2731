package web

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var writeScreenshots = flag.Bool("screenshots", false, "write the README's screenshots into docs/screenshots")

// The page as people see it, at 1400×1000 and on a 390×844 phone, in the
// light and the dark theme: the README's screenshots (go test -run
// TestBrowserLooks -screenshots ./web/ writes them into docs/screenshots)
// and the test's artifacts.
func TestBrowserLooks(t *testing.T) {
	t.Parallel()
	_, ctx, problems := startDemoBrowser(t)
	for _, scheme := range []string{"light", "dark"} {
		colorScheme(t, ctx, scheme)
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(css("gallery-entry")), chromedp.Sleep(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct {
			name          string
			width, height int64
		}{{"desktop", 1400, 1000}, {"phone", 390, 844}} {
			name := "webui-" + s.name + "-" + scheme + ".png"
			shootView(t, ctx, name, s.width, s.height, "")
			if *writeScreenshots {
				b, err := os.ReadFile(filepath.Join(artifactDir(t), name))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join("..", "docs", "screenshots", name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		shootView(t, ctx, "webui-phone-jobs-"+scheme+".png", 390, 844, "#jobs")
	}
	noProblems(t, problems)
}
