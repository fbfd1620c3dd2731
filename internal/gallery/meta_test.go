package gallery_test

import (
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
)

func TestParseMetaOfPureFastSDCPU(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/fastsdcpu-metadata.json")
	if err != nil {
		t.Fatal(err)
	}
	m := gallery.ParseMeta(b, 0)
	want := gallery.Meta{Prompt: "Golden Gate", Model: "stabilityai/sd-turbo", LoraBaseModel: "Lykon/dreamshaper-8",
		Width: 512, Height: 512, Steps: 1, GuidanceScale: 1, Seed: -1, NumberOfImages: 4,
		ImageSeeds: []int64{14025, 57733, 62326, 57224}}
	if !reflect.DeepEqual(*m, want) {
		t.Fatalf("got  %+v\nwant %+v", *m, want)
	}
}

func TestParseMetaOfTheWorker(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := gallerytest.Metadata("p", 9, map[string]any{
		"use_openvino": true, "use_lcm_lora": true,
		"job_id": "j1", "worker": "w-7", "generator": "fastsdcpu",
		"started_at": start.Format(time.RFC3339Nano), "finished_at": start.Add(1500 * time.Millisecond).Format(time.RFC3339Nano),
	})
	m := gallery.ParseMeta(b, 0)
	if m.Model != "rupeshs/sd-turbo-openvino" || !m.UseOpenVINO || !m.UseLCMLora {
		t.Errorf("openvino model: %+v", m)
	}
	if m.JobID != "j1" || m.Worker != "w-7" || m.Generator != "fastsdcpu" || !m.StartedAt.Equal(start) ||
		m.GenerationSeconds != 1.5 {
		t.Errorf("worker fields: %+v", m)
	}
	if m = gallery.ParseMeta(gallerytest.Metadata("p", 9, map[string]any{"generation_seconds": 3.25}), 0); m.GenerationSeconds != 3.25 {
		t.Errorf("generation_seconds: %v", m.GenerationSeconds)
	}
}

func TestParseMetaIsLenient(t *testing.T) {
	t.Parallel()
	m := gallery.ParseMeta([]byte(`{"prompt": 5, "image_width": "640", "image_height": 480.0, "seed": "x",
		"lcm_lora": [], "image_seeds": [1, "2", null], "use_openvino": "true", "started_at": 1767323045, "new": {}}`), 0)
	if m.Prompt != "" || m.Width != 640 || m.Height != 480 || m.Seed != 0 || m.LoraBaseModel != "" ||
		!slices.Equal(m.ImageSeeds, []int64{1, 2, 0}) || !m.UseOpenVINO || m.StartedAt.Unix() != 1767323045 {
		t.Errorf("%+v", m)
	}
	for _, bad := range []string{"{", "null", "[]", ""} {
		if m := gallery.ParseMeta([]byte(bad), 0); m == nil || !reflect.DeepEqual(*m, gallery.Meta{}) {
			t.Errorf("%q: %+v", bad, m)
		}
	}
}

// The seed counts only when the metadata says it made the images: fastsdcpu
// writes seed -1 and use_seed false when it drew one it recorded nowhere.
func TestParseMetaSeedAndGroup(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		json string
		seed int64
		used bool
	}{
		{`{"seed": 42, "use_seed": true, "group": "g1"}`, 42, true},
		{`{"seed": 0, "use_seed": true}`, 0, true},
		{`{"seed": -1, "use_seed": false}`, 0, false},
		{`{"seed": 42, "use_seed": false}`, 0, false},
		{`{"seed": 42}`, 42, true}, // not fastsdcpu's: the seed stands for itself
		{`{"use_seed": true}`, 0, false},
		{`{"seed": 4294967296, "use_seed": true}`, 0, false},
	} {
		m := gallery.ParseMeta([]byte(c.json), 0)
		seed, used := m.SeedUsed()
		if seed != c.seed || used != c.used {
			t.Errorf("%s: seed %d used %v, want %d %v", c.json, seed, used, c.seed, c.used)
		}
	}
	if m := gallery.ParseMeta([]byte(`{"group": "g1"}`), 0); m.Group != "g1" {
		t.Errorf("group %q", m.Group)
	}
}
