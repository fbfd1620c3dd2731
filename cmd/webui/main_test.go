package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The newcomer's path: `make run` with nothing installed but Go. The webui is
// built and started as a real process in embedded mode (no AMQP_URL); a job
// submitted over HTTP comes back as an image in /api/images and /images/...,
// and SIGTERM stops the process cleanly.
func TestEmbeddedModeSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	bin := filepath.Join(t.TempDir(), "webui")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	data := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "LISTEN_ADDR="+addr, "DATA_DIR="+data, "LOG_FORMAT=text",
		"AMQP_URL=", "MINIO_ENDPOINT=", "FASTSDCPU_DIR=", "GENERATOR=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	banner := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		banner <- b.String()
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	base := "http://" + addr
	waitFor(t, "healthz", func() bool { return get(base+"/healthz") == http.StatusOK })
	waitFor(t, "readyz", func() bool { return get(base+"/readyz") == http.StatusOK })

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
	waitFor(t, "the entry in /api/images", func() bool {
		urls = entryImages(t, base, id)
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

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after SIGTERM\n%s", stderr.String())
	}
	if b := <-banner; !strings.Contains(b, "placeholder") || !strings.Contains(b, "AMQP_URL") {
		t.Errorf("the banner should say which generator runs and how to switch to RabbitMQ:\n%s", b)
	}
}

// entryImages returns the image URLs of entry id in /api/images, if there.
func entryImages(t *testing.T, base, id string) []string {
	r, err := http.Get(base + "/api/images?limit=50")
	if err != nil {
		return nil
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	var page struct {
		Entries []map[string]json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatalf("/api/images: %v\n%s", err, b)
	}
	for _, e := range page.Entries {
		var eid string
		_ = json.Unmarshal(e["id"], &eid)
		if eid != id {
			continue
		}
		var urls []string
		if err := json.Unmarshal(e["images"], &urls); err != nil {
			t.Fatalf("images of %s: %v\n%s", id, err, e["images"])
		}
		return urls
	}
	return nil
}

func get(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	r.Body.Close()
	return r.StatusCode
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within 60s", what)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}
