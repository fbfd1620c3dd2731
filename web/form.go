package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/web/components"
)

// maxBody bounds a submission, form or JSON: a prompt of 1,000 characters and
// a few numbers fit many times over.
const maxBody = 16 << 10

// newForm is the empty form: one image, in parallel, as the old page.
func (s *server) newForm() components.FormVM {
	l := s.limits
	return components.FormVM{Count: 1, Parallel: true, MaxCount: l.MaxCount, MaxPrompt: l.MaxPromptLength,
		MinSide: job.MinSide, MaxSide: l.MaxSide, MaxSteps: l.MaxSteps,
		MaxGuidance: strconv.FormatFloat(job.MaxGuidance, 'g', -1, 64)}
}

// formFields are the form's fields, as posted and as GET / reads them from
// its query ("reuse" links, the redirect after a submission).
var formFields = []string{"prompt", "count", "parallel", "negative_prompt", "seed", "width", "height",
	"steps", "guidance_scale", "advanced"}

func hasFormValues(v url.Values) bool {
	for _, k := range formFields {
		if v.Has(k) {
			return true
		}
	}
	return false
}

// formValues reads the form as typed, for showing it again. A form posted
// without "parallel" had the box unchecked; a query without it (an old
// reuse link) keeps the default.
func (s *server) formValues(v url.Values, posted bool) components.FormVM {
	f := s.newForm()
	f.Prompt = v.Get("prompt")
	if posted || v.Has("parallel") {
		f.Parallel = isOn(v.Get("parallel"))
	}
	f.NegativePrompt = v.Get("negative_prompt")
	f.Seed = strings.TrimSpace(v.Get("seed"))
	f.Width = strings.TrimSpace(v.Get("width"))
	f.Height = strings.TrimSpace(v.Get("height"))
	f.Steps = strings.TrimSpace(v.Get("steps"))
	f.Guidance = strings.TrimSpace(v.Get("guidance_scale"))
	if a := v.Get("advanced"); a == "open" || a == "closed" {
		f.Advanced = a
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v.Get("count"))); err == nil && n >= 1 && n <= f.MaxCount {
		f.Count = n
	}
	return f
}

// formQuery is the query of GET / that shows the form f again.
func formQuery(f components.FormVM) string {
	q := url.Values{"prompt": {f.Prompt}, "count": {strconv.Itoa(f.Count)}, "parallel": {onOff(f.Parallel)},
		"advanced": {f.AdvancedState()}}
	for k, v := range map[string]string{"negative_prompt": f.NegativePrompt, "seed": f.Seed, "width": f.Width,
		"height": f.Height, "steps": f.Steps, "guidance_scale": f.Guidance} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// formRequest turns the posted form into a request; fields that are not
// numbers are reported like any other wrong field.
func (s *server) formRequest(v url.Values) request {
	req := request{Parallel: isOn(v.Get("parallel"))}
	m := &req.Message
	m.Count = job.DefaultCount // a form without the field asks for one image
	// A textarea wraps lines with newlines; the prompt is one line.
	m.Prompt = oneLine.Replace(v.Get("prompt"))
	m.NegativePrompt = oneLine.Replace(v.Get("negative_prompt"))
	bad := func(field, reason string) {
		req.Fields = append(req.Fields, job.FieldError{Field: field, Reason: reason})
	}
	num := func(field string, into *int, what string) {
		raw := strings.TrimSpace(v.Get(field))
		if raw == "" {
			return
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			bad(field, fmt.Sprintf("must be a whole number (%s), not %q", what, raw))
			return
		}
		*into = n
	}
	l := s.limits
	side := fmt.Sprintf("a multiple of 8 from %d to %d", job.MinSide, l.MaxSide)
	num("count", &m.Count, fmt.Sprintf("1 to %d", l.MaxCount))
	num("width", &m.Width, side)
	num("height", &m.Height, side)
	num("steps", &m.Steps, fmt.Sprintf("1 to %d", l.MaxSteps))
	if raw := strings.TrimSpace(v.Get("seed")); raw != "" {
		if n, err := strconv.ParseInt(raw, 10, 64); err != nil {
			bad("seed", fmt.Sprintf("must be a whole number, not %q", raw))
		} else {
			m.Seed = &n
		}
	}
	if raw := strings.TrimSpace(v.Get("guidance_scale")); raw != "" {
		if g, err := strconv.ParseFloat(raw, 64); err != nil {
			bad("guidance_scale", fmt.Sprintf("must be a number such as 1.5, not %q", raw))
		} else {
			m.GuidanceScale = &g
		}
	}
	return req
}

// validUTF8 replaces invalid UTF-8 in every value of v with U+FFFD, in
// place, and returns v: what a browser (or anyone) sends as text is text
// from here on, in the cards, the page and the job (issue 12, D12).
func validUTF8(v url.Values) url.Values {
	for k, vals := range v {
		for i, s := range vals {
			if !utf8.ValidString(s) {
				v[k][i] = strings.ToValidUTF8(s, "\uFFFD")
			}
		}
	}
	return v
}

var oneLine = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")

func isOn(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "1", "yes":
		return true
	}
	return false
}

// errorMap lists the wrong fields for the form.
func errorMap(fs []job.FieldError) map[string]string {
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		out[f.Field] = f.Reason
	}
	return out
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }
