package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sdkeda/sdkeda/internal/stacktest"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// hostile is the whole webui (Run, in this process) on a bucket that anyone
// writes into (issue 12): put and has reach the store as a foreign tool
// does, around the webui.
type hostile struct {
	t      *testing.T
	base   string
	stderr *syncBuffer
	put    func(key string, data []byte)
	has    func(key string) bool
}

// startHostile runs the webui in embedded mode on a directory, or in
// production mode on RabbitMQ and MinIO.
func startHostile(t *testing.T, mode string) *hostile {
	listen, _ := stacktest.Listen(t)
	env := envMap([]string{listen, "LOG_FORMAT=text", "RESYNC_INTERVAL=1s", "RATE_LIMIT=0"})
	h := &hostile{t: t}
	switch mode {
	case "directory":
		data := t.TempDir()
		dir, tmp := filepath.Join(data, "images"), t.TempDir()
		env["DATA_DIR"], env["GENERATOR"] = data, "placeholder"
		h.put = func(key string, b []byte) {
			// Whole files, as `cp` to a temporary name and `mv` make them.
			name := filepath.Join(tmp, strings.ReplaceAll(key, "/", "_"))
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(name, filepath.Join(dir, key)); err != nil {
				t.Fatal(err)
			}
		}
		h.has = func(key string) bool { _, err := os.Stat(filepath.Join(dir, key)); return err == nil }
	case "minio":
		svc := stacktest.Shared(t)
		mio, bucket := svc.MinIO, svc.Bucket
		for k, v := range envMap(svc.Env()) {
			env[k] = v
		}
		mc, err := minio.New(mio.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(mio.AccessKey, mio.SecretKey, "")})
		if err != nil {
			t.Fatal(err)
		}
		h.put = func(key string, b []byte) {
			if _, err := mc.PutObject(context.Background(), bucket, key, bytes.NewReader(b), int64(len(b)),
				minio.PutObjectOptions{}); err != nil {
				t.Fatalf("put %s: %v", key, err)
			}
		}
		h.has = func(key string) bool {
			_, err := mc.StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
			return err == nil
		}
	}
	r := runWebUI(t, env, true)
	h.base, h.stderr = r.base, r.stderr
	return h
}

// entry puts an entry: its images, then its JSON.
func (h *hostile) entry(id string, meta []byte, images ...[]byte) {
	for i, img := range images {
		h.put(store.ImageKey(id, i+1), img)
	}
	h.put(store.MetadataKey(id), meta)
}

// get answers path; it fails on a status other than want.
func (h *hostile) get(path string, want int) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := http.Get(h.base + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != want {
		h.t.Fatalf("GET %s: %s (%v), want %d; %d bytes: %.300s", path, resp.Status, err, want, len(body), body)
	}
	return resp, body
}

// page is /api/images?limit=200, checked to be whole, valid JSON.
func (h *hostile) page() map[string]apiEntryJSON {
	h.t.Helper()
	_, body := h.get("/api/images?limit=200", http.StatusOK)
	var p struct{ Entries []apiEntryJSON }
	if err := json.Unmarshal(body, &p); err != nil {
		h.t.Fatalf("/api/images is not JSON: %v: %.300s", err, body)
	}
	out := map[string]apiEntryJSON{}
	for _, e := range p.Entries {
		out[e.ID] = e
	}
	return out
}

// apiEntryJSON keeps the metadata as sent, to see which fields came.
type apiEntryJSON struct {
	ID   string                     `json:"id"`
	Meta map[string]json.RawMessage `json:"meta"`
}

func (h *hostile) waitEntries(ids ...string) map[string]apiEntryJSON {
	h.t.Helper()
	var p map[string]apiEntryJSON
	waitFor(h.t, fmt.Sprintf("%d entries in /api/images", len(ids)), func() bool {
		p = h.page()
		for _, id := range ids {
			if _, ok := p[id]; !ok {
				return false
			}
		}
		return true
	})
	return p
}

func heap() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// The hostile-bucket suite: what a foreign tool can write into the bucket
// gets valid answers in bounded memory, on both stores. Not parallel: it
// reads the process's heap.
func TestHostileBucket(t *testing.T) {
	for _, mode := range []string{"directory", "minio"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "minio" {
				testenv.Short(t)
			}
			h := startHostile(t, mode)
			t.Run("D1 numbers JSON cannot encode", h.numbers)
			t.Run("D12 invalid UTF-8", h.invalidUTF8)
			t.Run("control characters", h.controlCharacters)
			t.Run("D10 not a PNG", h.notAPNG)
			t.Run("D3 a PNG over the decoding budget", h.overBudget)
			t.Run("D2 metadata of 1 MB", h.largeMetadata)
		})
	}
}
