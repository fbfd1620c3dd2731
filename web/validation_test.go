package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// validationCases are the rules of docs/design.md §2.1 and the stop list: each breaks
// one field and names the reason the user must see.
var validationCases = []struct {
	name, field, reason string
	form                url.Values
	json                string
}{
	{"empty prompt", "prompt", "is required",
		url.Values{"prompt": {"   "}}, `{"prompt":"   "}`},
	{"prompt too long", "prompt", "the limit is 1000",
		url.Values{"prompt": {strings.Repeat("a", 1001)}}, `{"prompt":"` + strings.Repeat("a", 1001) + `"}`},
	{"control character", "prompt", "control character",
		url.Values{"prompt": {"green\x07dog"}}, `{"prompt":"green\u0007dog"}`},
	{"stop word", "prompt", "stop list",
		url.Values{"prompt": {"a NUDE dog"}}, `{"prompt":"a nude dog"}`},
	{"stop word with punctuation", "prompt", "stop list",
		url.Values{"prompt": {"dog, naked!"}}, `{"prompt":"dog, naked!"}`},
	{"count zero", "count", "between 1 and 4, not 0",
		url.Values{"prompt": {"dog"}, "count": {"0"}}, `{"prompt":"dog","count":0}`},
	{"prompt argparse drops", "prompt", `cannot be exactly "--"`,
		url.Values{"prompt": {" -- "}}, `{"prompt":"--"}`},
	{"negative prompt argparse drops", "negative_prompt", `cannot be exactly "--"`,
		url.Values{"prompt": {"dog"}, "negative_prompt": {"--"}}, `{"prompt":"dog","negative_prompt":"--"}`},
	{"count negative", "count", "between 1 and 4",
		url.Values{"prompt": {"dog"}, "count": {"-1"}}, `{"prompt":"dog","count":-1}`},
	{"count too big", "count", "between 1 and 4",
		url.Values{"prompt": {"dog"}, "count": {"5"}}, `{"prompt":"dog","count":5}`},
	{"count not a number", "count", "whole number",
		url.Values{"prompt": {"dog"}, "count": {"two"}}, `{"prompt":"dog","count":"two"}`},
	{"negative prompt too long", "negative_prompt", "the limit is 1000",
		url.Values{"prompt": {"dog"}, "negative_prompt": {strings.Repeat("b", 1001)}}, `{"prompt":"dog","negative_prompt":"` + strings.Repeat("b", 1001) + `"}`},
	{"seed negative", "seed", "between 0 and",
		url.Values{"prompt": {"dog"}, "seed": {"-5"}}, `{"prompt":"dog","seed":-5}`},
	{"seed too big", "seed", "between 0 and",
		url.Values{"prompt": {"dog"}, "seed": {"4294967296"}}, `{"prompt":"dog","seed":4294967296}`},
	{"seed not a number", "seed", "whole number",
		url.Values{"prompt": {"dog"}, "seed": {"abc"}}, `{"prompt":"dog","seed":"abc"}`},
	{"width not a multiple of 8", "width", "multiple of 8",
		url.Values{"prompt": {"dog"}, "width": {"300"}}, `{"prompt":"dog","width":300}`},
	{"width too small", "width", "multiple of 8",
		url.Values{"prompt": {"dog"}, "width": {"128"}}, `{"prompt":"dog","width":128}`},
	{"height too big", "height", "multiple of 8",
		url.Values{"prompt": {"dog"}, "height": {"2048"}}, `{"prompt":"dog","height":2048}`},
	{"steps too many", "steps", "between 1 and 50",
		url.Values{"prompt": {"dog"}, "steps": {"51"}}, `{"prompt":"dog","steps":51}`},
	{"steps negative", "steps", "between 1 and 50",
		url.Values{"prompt": {"dog"}, "steps": {"-1"}}, `{"prompt":"dog","steps":-1}`},
}

func TestFormShowsEachErrorBesideItsField(t *testing.T) {
	t.Parallel()
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			w := f.postForm(tc.form)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", w.Code)
			}
			d := doc(t, w)
			if got := testid(d, "error-"+tc.field).Text(); !strings.Contains(got, tc.reason) {
				t.Errorf("error beside %s = %q, want it to say %q", tc.field, got, tc.reason)
			}
			if v, _ := d.Find("#" + tc.field).Attr("aria-invalid"); v != "true" {
				t.Errorf("%s: aria-invalid = %q, want true", tc.field, v)
			}
			if testid(d, "title").Text() != "Stable Diffusion" {
				t.Error("without htmx the whole page must come back")
			}
			if got := testid(d, "prompt").Text(); got != tc.form.Get("prompt") {
				t.Errorf("the prompt typed was not kept: %q", got)
			}
			if n := len(f.queue.messages()); n != 0 {
				t.Errorf("%d messages published for an invalid form", n)
			}
		})
	}
}

func TestAPIAnswersEachErrorWithItsField(t *testing.T) {
	t.Parallel()
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			w := f.postJSON(tc.json)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			e := decodeJSON[apiErr](t, w.Body)
			if e.Error == "" || !strings.Contains(e.field(tc.field), tc.reason) {
				t.Errorf("error %+v: want field %s saying %q", e, tc.field, tc.reason)
			}
			if n := len(f.queue.messages()); n != 0 {
				t.Errorf("%d messages published for an invalid job", n)
			}
		})
	}
}
