package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"testing"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
)

func configWith(generator, dir string) config.Generator {
	return config.Generator{Name: generator, FastSDCPUDir: dir, Python: "python3"}
}

// exampleMetadata is a real fastsdcpu metadata JSON (shared/examples).
func exampleMetadata(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/fastsdcpu-metadata.json")
	if err != nil {
		t.Fatal(err)
	}
	var example map[string]any
	if err := json.Unmarshal(raw, &example); err != nil {
		t.Fatal(err)
	}
	return example
}

func placeholderImage(t *testing.T, m job.Message) ([]byte, Result) {
	t.Helper()
	m.ID = jobID
	if m.Count == 0 {
		m.Count = 1
	}
	res, err := Placeholder{}.Generate(context.Background(), m, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(res.Images[0])
	if err != nil {
		t.Fatal(err)
	}
	return b, res
}

func TestPlaceholderIsDeterministic(t *testing.T) {
	t.Parallel()
	seed, other := int64(7), int64(8)
	a, _ := placeholderImage(t, job.Message{Prompt: "green dog", Seed: &seed})
	b, _ := placeholderImage(t, job.Message{Prompt: "green dog", Seed: &seed})
	c, _ := placeholderImage(t, job.Message{Prompt: "blue cat", Seed: &seed})
	d, _ := placeholderImage(t, job.Message{Prompt: "green dog", Seed: &other})
	if !bytes.Equal(a, b) {
		t.Error("same prompt and seed, different pictures")
	}
	if bytes.Equal(a, c) || bytes.Equal(a, d) {
		t.Error("another prompt or seed, same picture")
	}
}

func TestPlaceholderSizeAndMetadata(t *testing.T) {
	t.Parallel()
	b, res := placeholderImage(t, job.Message{Prompt: "x", Count: 3, Width: 256, Height: 768})
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 256 || cfg.Height != 768 {
		t.Fatalf("%v %dx%d", err, cfg.Width, cfg.Height)
	}
	if len(res.Images) != 3 {
		t.Errorf("%d images", len(res.Images))
	}
	if res.Metadata["lcm_model_id"] != "placeholder" || res.Metadata["generator"] != "placeholder" ||
		res.Metadata["guidance_scale"] != json.Number("1.0") {
		t.Errorf("metadata: %v", res.Metadata)
	}
	// Every key of fastsdcpu's own metadata is there.
	for k := range exampleMetadata(t) {
		if _, ok := res.Metadata[k]; !ok {
			t.Errorf("placeholder metadata lacks %q", k)
		}
	}
	def, _ := placeholderImage(t, job.Message{Prompt: "x"})
	if cfg, _ := png.DecodeConfig(bytes.NewReader(def)); cfg.Width != 512 || cfg.Height != 512 {
		t.Errorf("default size %dx%d", cfg.Width, cfg.Height)
	}
}
