package job

import (
	"errors"
	"strings"
	"testing"
)

func TestSeedMessageIsValid(t *testing.T) {
	t.Parallel()
	m, err := Parse([]byte(`{"prompt": "green dog", "count": 2}`), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if m.Prompt != "green dog" || m.Count != 2 || m.ID != "" {
		t.Fatalf("got %+v", m)
	}
}

func TestDefaultsTrimAndUnknownFields(t *testing.T) {
	t.Parallel()
	m, err := Parse([]byte(`{"prompt":"  a cat \t","future_field":{"x":1},"model":"ignored"}`), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if m.Prompt != "a cat" || m.Count != 1 {
		t.Fatalf("got %+v", m)
	}
}

func TestPromptKeepsShellCharactersUnchanged(t *testing.T) {
	t.Parallel()
	p := `-rf "quoted" * $(x)`
	m, err := Parse(Message{Prompt: p}.Encode(), DefaultLimits)
	if err != nil || m.Prompt != p {
		t.Fatalf("got %q, %v", m.Prompt, err)
	}
}

func TestValidationNamesEveryWrongField(t *testing.T) {
	t.Parallel()
	seed := int64(-5)
	g := 99.0
	m := Message{Prompt: "", Count: 9, ID: "not-a-uuid", Seed: &seed, Width: 100, Height: 513,
		Steps: 99, GuidanceScale: &g, SubmittedAt: "yesterday", NegativePrompt: "a\x00b"}
	err := m.Normalize(DefaultLimits)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v", err)
	}
	for field, want := range map[string]string{
		"prompt":          "is required",
		"count":           "between 1 and 4, not 9",
		"id":              "UUID",
		"seed":            "between 0 and",
		"width":           "multiple of 8 between 256 and 1024, not 100",
		"height":          "not 513",
		"steps":           "between 1 and 50",
		"guidance_scale":  "between 0 and 20",
		"submitted_at":    "RFC 3339",
		"negative_prompt": "control character",
	} {
		if got := ve.Field(field); !strings.Contains(got, want) {
			t.Errorf("%s: got %q, want it to contain %q", field, got, want)
		}
	}
}

func TestPromptRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, prompt, want string
		limits             Limits
	}{
		{"too long", strings.Repeat("é", 11), "11 characters long; the limit is 10", Limits{MaxPromptLength: 10}},
		{"exactly the limit", strings.Repeat("é", 10), "", Limits{MaxPromptLength: 10}},
		{"newline", "a\nb", "control character", DefaultLimits},
		{"tab inside", "a\tb", "control character", DefaultLimits},
		{"line separator", "a\u2028b", "control character", DefaultLimits},
		{"only spaces", "    ", "is required", DefaultLimits},
		{"argparse's end of options", " -- ", `cannot be exactly "--"`, DefaultLimits},
		{"dashes and more", "-- a", "", DefaultLimits},
		{"a flag's name", "--negative_prompt=x", "", DefaultLimits},
		{"one dash", "-", "", DefaultLimits},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := Message{Prompt: c.prompt, Count: 1}
			err := m.Normalize(c.limits)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Field("prompt"), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestCountBoundIsConfigurable(t *testing.T) {
	t.Parallel()
	m := Message{Prompt: "x", Count: 6}
	if err := m.Normalize(Limits{MaxCount: 8}); err != nil {
		t.Fatal(err)
	}
	m = Message{Prompt: "x", Count: -1}
	if err := m.Normalize(DefaultLimits); err == nil {
		t.Fatal("count -1 accepted")
	}
}

// An absent count is one image (the old webui's messages); an explicit 0 is
// refused like any count outside 1..MaxCount, not turned into 1.
func TestCountAbsentIsOneZeroIsRefused(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]int{
		`{"prompt":"dog"}`:              1,
		`{"prompt":"dog","count":null}`: 1,
		`{"prompt":"dog","count":3}`:    3,
	} {
		m, err := Parse([]byte(body), DefaultLimits)
		if err != nil || m.Count != want {
			t.Errorf("%s: count %d, %v; want %d", body, m.Count, err, want)
		}
	}
	_, err := Parse([]byte(`{"prompt":"dog","count":0}`), DefaultLimits)
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Field("count"), "between 1 and 4, not 0") {
		t.Fatalf("count 0: got %v, want a count error", err)
	}
	if _, err := Decode([]byte(`{"prompt":"dog","count":"2"}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("count of the wrong type: got %v, want ErrMalformed", err)
	}
	// Encoding a message and decoding it gives it back, count included.
	in := Message{Prompt: "dog", Count: 2, NegativePrompt: "cat", Group: "g"}
	if out, err := Decode(in.Encode()); err != nil || out != in {
		t.Errorf("round trip: %+v, %v; want %+v", out, err, in)
	}
}

// The negative prompt follows the same command-line rule as the prompt;
// empty, it is not passed at all.
func TestNegativePromptArgvRule(t *testing.T) {
	t.Parallel()
	for np, ok := range map[string]bool{"--": false, " -- ": false, "": true, "---": true, "-- x": true} {
		m := Message{Prompt: "dog", Count: 1, NegativePrompt: np}
		err := m.Normalize(DefaultLimits)
		var ve *ValidationError
		if ok != (err == nil) || (!ok && (!errors.As(err, &ve) || !strings.Contains(ve.Field("negative_prompt"), "argparse"))) {
			t.Errorf("negative prompt %q: %v", np, err)
		}
	}
}

func TestUppercaseUUIDIsNormalized(t *testing.T) {
	t.Parallel()
	m := Message{Prompt: "x", Count: 1, ID: "6F1D3C3E-0B7A-4E55-9F43-3F8E3B7C9A10"}
	if err := m.Normalize(DefaultLimits); err != nil || m.ID != "6f1d3c3e-0b7a-4e55-9f43-3f8e3b7c9a10" {
		t.Fatalf("got %q, %v", m.ID, err)
	}
}

func TestMalformedBodies(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"not json":      `green dog`,
		"array":         `["green dog"]`,
		"wrong type":    `{"prompt": 5}`,
		"count string":  `{"prompt":"x","count":"2"}`,
		"trailing data": `{"prompt":"x"} {"prompt":"y"}`,
		"not utf8":      "{\"prompt\":\"\xff\"}",
		"empty":         ``,
		"huge":          `{"prompt":"` + strings.Repeat("a", 70<<10) + `"}`,
	} {
		if _, err := Parse([]byte(body), DefaultLimits); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	e := Event{ID: "j", State: Done, Objects: []string{"j-1.png", "j.json"}, Attempt: 2}
	got, err := DecodeEvent(e.Encode())
	if err != nil || got.ID != "j" || got.State != Done || len(got.Objects) != 2 || got.Attempt != 2 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// FuzzParse: decoding and validating never panics, a message that passes is
// stable (encoding and parsing it again gives the same message), and every
// failure is either malformed or a validation error naming fields.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"prompt": "green dog", "count": 2}`,
		`{"prompt":"-rf \"quoted\" * $(x)","seed":42,"width":512,"height":768,"steps":4,"guidance_scale":1.5}`,
		`{"prompt":"x","id":"6f1d3c3e-0b7a-4e55-9f43-3f8e3b7c9a10","group":"g","submitted_at":"2026-11-28T12:00:00Z"}`,
		`{"prompt":""}`, `null`, `{}`, `{"count":1e3}`, "{\"prompt\":\"a\\u0000b\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Parse(body, DefaultLimits)
		if err != nil {
			var ve *ValidationError
			if !errors.Is(err, ErrMalformed) && !(errors.As(err, &ve) && len(ve.Fields) > 0) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again, err := Parse(m.Encode(), DefaultLimits)
		if err != nil {
			t.Fatalf("a valid message does not parse again: %v (%+v)", err, m)
		}
		if string(again.Encode()) != string(m.Encode()) {
			t.Fatalf("not stable: %s vs %s", again.Encode(), m.Encode())
		}
	})
}
