package main

import (
	"encoding/json"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/stacktest"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The newcomer's path: `make run` with nothing installed but Go. The webui is
// built and started as a real process in embedded mode (no AMQP_URL); a job
// submitted over HTTP comes back as an image in /api/images and /images/...,
// and SIGTERM stops the process cleanly.
func TestEmbeddedModeSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	bin := stacktest.Build(t, stacktest.WebUI)[0]
	listen, base := stacktest.Listen(t)
	data := t.TempDir()
	p := stacktest.Start(t, stacktest.Spec{Name: "webui", Bin: bin, Env: []string{listen, "DATA_DIR=" + data,
		"LOG_FORMAT=text", "AMQP_URL=", "MINIO_ENDPOINT=", "FASTSDCPU_DIR=", "GENERATOR="}})
	stacktest.WaitUp(t, base, 60*time.Second, p.Exited())

	body := `{"prompt":"a lighthouse at dusk","count":2}`
	resp, err := http.Post(base+"/api/jobs", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var accepted struct {
		Jobs []struct{ ID string } `json:"jobs"`
	}
	err = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || err != nil || len(accepted.Jobs) != 1 {
		t.Fatalf("submit: %d %v %+v", resp.StatusCode, err, accepted)
	}
	id := accepted.Jobs[0].ID

	// The entry shows in the gallery API with both images.
	var urls []string
	stacktest.WaitFor(t, "the entry in /api/images", 60*time.Second, func() bool {
		urls = entryImages(base, id)
		return len(urls) == 2
	})
	for _, u := range urls {
		r, err := http.Get(base + u)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK || err != nil || img.Bounds().Dx() == 0 {
			t.Fatalf("GET %s: %d %v", u, r.StatusCode, err)
		}
	}
	// It is on disk in the layout of the bucket.
	for _, name := range []string{id + ".json", id + "-1.png", id + "-2.png"} {
		if _, err := os.Stat(filepath.Join(data, "images", name)); err != nil {
			t.Errorf("%s not stored: %v", name, err)
		}
	}

	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(t, 30*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if log := p.Log(); !strings.Contains(log, "placeholder") || !strings.Contains(log, "AMQP_URL") {
		t.Errorf("the banner should say which generator runs and how to switch to RabbitMQ:\n%s", log)
	}
}

// entryImages returns the image URLs of entry id in /api/images, if there.
func entryImages(base, id string) []string {
	var page struct {
		Entries []struct {
			ID     string   `json:"id"`
			Images []string `json:"images"`
		} `json:"entries"`
	}
	stacktest.GetJSON(base+"/api/images?limit=50", &page)
	for _, e := range page.Entries {
		if e.ID == id {
			return e.Images
		}
	}
	return nil
}
