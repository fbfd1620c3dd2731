package gallery_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// Every number field with a value JSON cannot encode (issue 12, D1) is
// dropped, the rest of the entry kept, and the result encodes.
func TestParseMetaDropsNumbersJSONCannotEncode(t *testing.T) {
	t.Parallel()
	fields := []string{"image_width", "image_height", "inference_steps", "guidance_scale", "seed",
		"number_of_images", "generation_seconds", "started_at", "finished_at"}
	for _, bad := range []string{`"NaN"`, `"Infinity"`, `"-Infinity"`, `"+Inf"`, `"nan"`, `1e400`, `"1e400"`, `-1e400`} {
		for _, f := range fields {
			b := gallerytest.Metadata("kept", 5, map[string]any{f: json.RawMessage(bad)})
			m := gallery.ParseMeta(b, 0)
			if m.Prompt != "kept" {
				t.Errorf("%s = %s: the entry lost its prompt: %+v", f, bad, m)
			}
			if _, err := json.Marshal(m); err != nil {
				t.Errorf("%s = %s: does not encode: %v", f, bad, err)
			}
		}
		m := gallery.ParseMeta([]byte(`{"prompt":"p","image_seeds":[1,`+bad+`,3],"guidance_scale":`+bad+`}`), 0)
		if m.GuidanceScale != 0 || len(m.ImageSeeds) != 3 || m.ImageSeeds[1] != 0 || m.ImageSeeds[2] != 3 {
			t.Errorf("%s: %+v", bad, m)
		}
	}
}

func TestParseMetaDropsTimesAndIntegersOutOfRange(t *testing.T) {
	t.Parallel()
	m := gallery.ParseMeta([]byte(`{"prompt":"p","started_at":"10000-01-01T00:00:00Z","finished_at":1e300,
		"image_width":1e300,"image_height":-1e300,"seed":18446744073709551616,"inference_steps":"9223372036854775807"}`), 0)
	if !m.StartedAt.IsZero() || !m.FinishedAt.IsZero() || m.Width != 0 || m.Height != 0 || m.Seed != 0 ||
		m.Steps != 9223372036854775807 {
		t.Errorf("%+v", m)
	}
	if _, err := json.Marshal(m); err != nil {
		t.Error(err)
	}
	// The last second JSON can write is kept.
	m = gallery.ParseMeta([]byte(`{"started_at":253402300799}`), 0)
	if m.StartedAt.Year() != 9999 {
		t.Errorf("started_at %v", m.StartedAt)
	}
}

// Invalid UTF-8 in any string becomes U+FFFD (D12), whether the string
// has escapes or not.
func TestParseMetaReplacesInvalidUTF8(t *testing.T) {
	t.Parallel()
	b := []byte("{\"prompt\":\"a\xff\xfeb\",\"negative_prompt\":\"\\\"x\xc3\",\"lcm_model_id\":\"m\xed\xa0\x80\"," +
		"\"worker\":\"w\\ud800\",\"lcm_lora\":{\"base_model_id\":\"l\x80\"}}")
	m := gallery.ParseMeta(b, 0)
	for name, s := range map[string]string{"prompt": m.Prompt, "negative_prompt": m.NegativePrompt,
		"model": m.Model, "worker": m.Worker, "lora": m.LoraBaseModel} {
		if !utf8.ValidString(s) || !strings.ContainsRune(s, utf8.RuneError) {
			t.Errorf("%s = %q, want valid UTF-8 with U+FFFD", name, s)
		}
	}
	if m.Prompt != "a\uFFFDb" { // a run of invalid bytes is one U+FFFD
		t.Errorf("prompt %q", m.Prompt)
	}
}

// Control characters in foreign metadata (an escape sequence, a NUL) reach
// neither the page nor the API: tab and newlines become spaces, every other
// C0 control, DEL and the C1 controls become U+FFFD, in every string field,
// escaped in the JSON or raw.
func TestParseMetaReplacesControlCharacters(t *testing.T) {
	t.Parallel()
	b := []byte(`{"prompt":"a\u001b[31mred\u001b[0m\u0000dog","negative_prompt":"line one\nline two\r\n\tend",` +
		`"lcm_model_id":"m\u0007","worker":"w` + "\x7f\u0085\u009b" + `","group":"g\u0001","job_id":"j\u001f",` +
		`"generator":"` + "raw\x7f\xc2\x9b" + `","lcm_lora":{"base_model_id":"l\u0008"}}`)
	m := gallery.ParseMeta(b, 0)
	want := map[string]string{
		"prompt": "a\uFFFD[31mred\uFFFD[0m\uFFFDdog", "negative_prompt": "line one line two   end",
		"model": "m\uFFFD", "worker": "w\uFFFD\uFFFD\uFFFD", "group": "g\uFFFD", "job_id": "j\uFFFD",
		"generator": "raw\uFFFD\uFFFD", "lora": "l\uFFFD",
	}
	got := map[string]string{"prompt": m.Prompt, "negative_prompt": m.NegativePrompt, "model": m.Model, "worker": m.Worker,
		"group": m.Group, "job_id": m.JobID, "generator": m.Generator, "lora": m.LoraBaseModel}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	js, err := json.Marshal(m)
	if err != nil || bytes.Contains(js, []byte(`\u00`)) {
		t.Errorf("the API's JSON carries a control character: %s (%v)", js, err)
	}
	// Text without controls is kept as it is, non-ASCII included.
	if m := gallery.ParseMeta(gallerytest.Metadata("crème brûlée, 東京, 🐕", 1, nil), 0); m.Prompt != "crème brûlée, 東京, 🐕" {
		t.Errorf("prompt %q", m.Prompt)
	}
}

// The shown prompt is cut at the prompt limit in characters (D2), so that
// it stays a prompt the form accepts; names and seeds are bounded too.
func TestParseMetaBoundsWhatItKeeps(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 5000)
	b := gallerytest.Metadata(long, 5, map[string]any{"negative_prompt": long,
		"lcm_model_id": strings.Repeat("m", 5000), "job_id": strings.Repeat("ü", 5000),
		"image_seeds": make([]int, 10000)})
	m := gallery.ParseMeta(b, 100)
	if n := utf8.RuneCountInString(m.Prompt); n != 100 || !strings.HasSuffix(m.Prompt, "…") {
		t.Errorf("prompt of %d characters: %q", n, m.Prompt)
	}
	if n := utf8.RuneCountInString(m.NegativePrompt); n != 100 {
		t.Errorf("negative prompt of %d characters", n)
	}
	if len(m.Model) != 200 || len(m.JobID) != 200 || !utf8.ValidString(m.JobID) || len(m.ImageSeeds) != 64 {
		t.Errorf("model %d, job id %d bytes, %d seeds", len(m.Model), len(m.JobID), len(m.ImageSeeds))
	}
	for _, p := range []string{strings.Repeat("x", 100), strings.Repeat("€", 100)} {
		if m := gallery.ParseMeta(gallerytest.Metadata(p, 1, nil), 100); m.Prompt != p {
			t.Errorf("a prompt at the limit was cut: %q", m.Prompt)
		}
	}
}

// A metadata JSON over the read limit is not read: its entry shows without
// metadata, and the warning is logged once however often it is shown, even
// after its cache entry went (D2).
func TestTooLargeMetadataShowsTheEntryWithoutIt(t *testing.T) {
	t.Parallel()
	s := gallerytest.NewStore()
	now := time.Now().Add(-time.Minute)
	s.PutAt(store.ImageKey("big", 1), gallerytest.PNG(4, 4), store.TypePNG, now)
	s.PutAt(store.MetadataKey("big"), gallerytest.BigMetadata(1<<20), store.TypeJSON, now)
	s.PutAt(store.MetadataKey("ok"), gallerytest.Metadata("fine", 1, nil), store.TypeJSON, now.Add(time.Second))
	var logs testenv.Buffer
	ix := gallery.New(s, gallery.Options{MetaCache: 1, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := ix.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	for range 3 { // MetaCache 1: each page reads both JSONs again
		p, _, err := ix.Page(t.Context(), 10, "")
		if err != nil || len(p) != 2 || p[0].Meta.Prompt != "fine" || p[1].ID != "big" ||
			p[1].Meta == nil || p[1].Meta.Prompt != "" {
			t.Fatalf("page %+v, %v", p, err)
		}
	}
	if n := strings.Count(logs.String(), "metadata JSON too large"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	// A JSON just under the limit is read and its prompt cut.
	s.PutAt(store.MetadataKey("big"), gallerytest.BigMetadata(60<<10), store.TypeJSON, now.Add(2*time.Second))
	if err := ix.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	e, _, err := ix.Get(t.Context(), "big")
	if err != nil || utf8.RuneCountInString(e.Meta.Prompt) != 1000 {
		t.Errorf("prompt of %d characters, %v", utf8.RuneCountInString(e.Meta.Prompt), err)
	}
}

// The largest JSON the worker writes at the default prompt limit is read
// whole: both prompts at their limits, every character an escaped surrogate
// pair, as Python's json.dumps writes an emoji.
func TestTheWorkersLargestMetadataIsRead(t *testing.T) {
	t.Parallel()
	emoji := strings.Repeat("\U0001F600", 1000)
	b := gallerytest.Metadata(emoji, 1, map[string]any{"negative_prompt": emoji, "job_id": "j",
		"worker": "w", "generator": "fastsdcpu", "started_at": "2026-01-02T03:04:05Z"})
	b = bytes.ReplaceAll(b, []byte("\U0001F600"), []byte(`\ud83d\ude00`))
	s := gallerytest.NewStore()
	s.PutAt(store.MetadataKey("e"), b, store.TypeJSON, time.Now().Add(-time.Minute))
	ix := gallery.New(s, gallery.Options{})
	if err := ix.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	e, _, err := ix.Get(t.Context(), "e")
	if err != nil || e.Meta.Prompt != strings.Repeat("😀", 1000) || e.Meta.NegativePrompt != e.Meta.Prompt {
		t.Fatalf("a JSON of %d bytes: prompt %.40q…, %v", len(b), e.Meta.Prompt, err)
	}
}
