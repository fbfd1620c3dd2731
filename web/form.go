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
		MinSide: job.MinSide, MaxSide: l.MaxSide, MaxSteps: l.MaxSteps}
}

// formValues reads the form as typed, for showing it again.
func (s *server) formValues(v url.Values) components.FormVM {
	f := s.newForm()
	f.Prompt = v.Get("prompt")
	f.Parallel = v.Get("parallel") != ""
	f.NegativePrompt = v.Get("negative_prompt")
	f.Seed = strings.TrimSpace(v.Get("seed"))
	f.Width = strings.TrimSpace(v.Get("width"))
	f.Height = strings.TrimSpace(v.Get("height"))
	f.Steps = strings.TrimSpace(v.Get("steps"))
	if n, err := strconv.Atoi(strings.TrimSpace(v.Get("count"))); err == nil && n >= 1 && n <= f.MaxCount {
		f.Count = n
	}
	return f
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
