// Package job holds the job message of the queue `tasks` (docs/design.md §2.1) and the
// status events the worker publishes about it: one type each, one decoder, one
// validator, shared by the webui (which publishes) and the worker (which
// consumes).
package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Message is one job request. The seed's `{"prompt":"green dog","count":2}`
// is a valid Message; unknown fields are ignored.
type Message struct {
	ID     string `json:"id,omitempty"`
	Prompt string `json:"prompt"`
	// Count is the number of images. Decoding a body without "count" (the
	// old webui sent none with one image) gives DefaultCount; an explicit 0
	// stays 0, which Normalize refuses.
	Count          int      `json:"count,omitempty"`
	NegativePrompt string   `json:"negative_prompt,omitempty"`
	Seed           *int64   `json:"seed,omitempty"`
	Width          int      `json:"width,omitempty"`
	Height         int      `json:"height,omitempty"`
	Steps          int      `json:"steps,omitempty"`
	GuidanceScale  *float64 `json:"guidance_scale,omitempty"`
	Group          string   `json:"group,omitempty"`
	SubmittedAt    string   `json:"submitted_at,omitempty"`
}

// Limits are the configurable bounds of validation. Both programs read them
// from the environment with the same code (internal/config), so the webui
// never accepts a job that a worker refuses.
type Limits struct {
	MaxPromptLength int // characters (not bytes) of the prompt and of the negative prompt: MAX_PROMPT_LENGTH
	MaxCount        int // images per job: MAX_IMAGES
	MaxSide         int // pixels of width and of height, a multiple of 8: MAX_IMAGE_SIZE
	MaxSteps        int // inference steps: MAX_STEPS
}

// DefaultLimits are the bounds of docs/design.md §2.1.
var DefaultLimits = Limits{MaxPromptLength: 1000, MaxCount: 4, MaxSide: 1024, MaxSteps: 50}

// WithDefaults gives the zero fields of l their defaults.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.MaxPromptLength <= 0 {
		l.MaxPromptLength = d.MaxPromptLength
	}
	if l.MaxCount <= 0 {
		l.MaxCount = d.MaxCount
	}
	if l.MaxSide <= 0 {
		l.MaxSide = d.MaxSide
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = d.MaxSteps
	}
	return l
}

// Fixed bounds of the optional generator parameters.
const (
	MinSide            = 256
	MaxGuidance        = 20.0
	DefaultCount       = 1
	MaxSeed            = 1<<32 - 1 // seeds are 0..MaxSeed, fastsdcpu's (and torch's manual_seed's) 32-bit range
	maxMessageBodySize = 64 << 10
)

// FieldError says which field is wrong and why, in words a person understands.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// ValidationError lists every wrong field of one message.
type ValidationError struct {
	Fields []FieldError `json:"fields"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return "invalid job: " + strings.Join(parts, "; ")
}

// Field returns the reason given for field, or "".
func (e *ValidationError) Field(name string) string {
	for _, f := range e.Fields {
		if f.Field == name {
			return f.Reason
		}
	}
	return ""
}

// ErrMalformed wraps every decoding failure: the body is not a JSON object of
// the right shape. Such a message is never retried.
var ErrMalformed = errors.New("malformed job message")

// Decode parses a message body. It does not validate; call Normalize.
func Decode(body []byte) (Message, error) {
	var m Message
	if len(body) > maxMessageBodySize {
		return m, fmt.Errorf("%w: body of %d bytes is larger than %d", ErrMalformed, len(body), maxMessageBodySize)
	}
	if !utf8.Valid(body) {
		return m, fmt.Errorf("%w: body is not UTF-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return m, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	return m, nil
}

// Normalize trims and defaults m, then validates it against l. The returned
// error is a *ValidationError naming every wrong field.
func (m *Message) Normalize(l Limits) error {
	l = l.WithDefaults()
	m.Prompt = strings.TrimSpace(m.Prompt)
	m.NegativePrompt = strings.TrimSpace(m.NegativePrompt)
	m.ID = strings.TrimSpace(m.ID)
	m.Group = strings.TrimSpace(m.Group)

	var errs []FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	switch n := utf8.RuneCountInString(m.Prompt); {
	case n == 0:
		bad("prompt", "is required")
	case n > l.MaxPromptLength:
		bad("prompt", "is %d characters long; the limit is %d", n, l.MaxPromptLength)
	case hasControl(m.Prompt):
		bad("prompt", "contains a control character (only plain spaces are allowed)")
	case !ArgvSafe(m.Prompt):
		bad("prompt", argvUnsafeReason)
	}
	if m.Count < 1 || m.Count > l.MaxCount {
		bad("count", "must be between 1 and %d, not %d", l.MaxCount, m.Count)
	}
	if m.ID != "" {
		if _, err := uuid.Parse(m.ID); err != nil || len(m.ID) != 36 {
			bad("id", "must be a UUID such as 0b6b1bd4-2a4e-4f7e-9e2d-6f3c8a3e5b11")
		} else {
			m.ID = strings.ToLower(m.ID)
		}
	}
	switch n := utf8.RuneCountInString(m.NegativePrompt); {
	case n > l.MaxPromptLength:
		bad("negative_prompt", "is %d characters long; the limit is %d", n, l.MaxPromptLength)
	case hasControl(m.NegativePrompt):
		bad("negative_prompt", "contains a control character (only plain spaces are allowed)")
	case m.NegativePrompt != "" && !ArgvSafe(m.NegativePrompt):
		bad("negative_prompt", argvUnsafeReason)
	}
	if m.Seed != nil && (*m.Seed < 0 || *m.Seed > MaxSeed) {
		bad("seed", "must be between 0 and %d", int64(MaxSeed))
	}
	for _, s := range []struct {
		name string
		v    int
	}{{"width", m.Width}, {"height", m.Height}} {
		if s.v != 0 && (s.v < MinSide || s.v > l.MaxSide || s.v%8 != 0) {
			bad(s.name, "must be a multiple of 8 between %d and %d, not %d", MinSide, l.MaxSide, s.v)
		}
	}
	if m.Steps != 0 && (m.Steps < 1 || m.Steps > l.MaxSteps) {
		bad("steps", "must be between 1 and %d, not %d", l.MaxSteps, m.Steps)
	}
	if g := m.GuidanceScale; g != nil && !(*g >= 0 && *g <= MaxGuidance) { // NaN too (a form can send it)
		bad("guidance_scale", "must be between 0 and %g", MaxGuidance)
	}
	if len(m.Group) > 64 || hasControl(m.Group) {
		bad("group", "must be at most 64 printable characters")
	}
	if m.SubmittedAt != "" {
		if _, err := time.Parse(time.RFC3339, m.SubmittedAt); err != nil {
			bad("submitted_at", "must be an RFC 3339 time such as 2026-11-28T12:00:00Z")
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// UnmarshalJSON decodes m, telling an absent "count" (DefaultCount) from an
// explicit 0 (refused by Normalize).
func (m *Message) UnmarshalJSON(b []byte) error {
	type fields Message // the same fields without this method
	var in struct {
		fields
		Count *int `json:"count"` // shadows fields.Count
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*m = Message(in.fields)
	m.Count = DefaultCount
	if in.Count != nil {
		m.Count = *in.Count
	}
	return nil
}

// Parse decodes and normalizes a body: the worker's single entry point.
func Parse(body []byte, l Limits) (Message, error) {
	m, err := Decode(body)
	if err != nil {
		return m, err
	}
	return m, m.Normalize(l)
}

// Encode returns the JSON body of m.
func (m Message) Encode() []byte {
	b, _ := json.Marshal(m) // a Message of plain fields always marshals
	return b
}

// ArgvSafe reports whether fastsdcpu's command line takes the text v
// verbatim as the value of a `--flag=VALUE` item (the worker passes every
// value so). fastsdcpu parses its argv with Python's argparse (3.11 in the
// worker image), whose rules for such an item are:
//   - the item is split at its first "=": the option before, the value
//     after, whatever the value holds ("=", "-", spaces, "--x=y", "-f");
//   - the value then goes through _get_values, which removes an argument
//     string equal to "--" (meant as the end-of-options marker) also from an
//     option's own explicit value: `--prompt=--` sets prompt to [], and
//     fastsdcpu then fails ("You need to provide a prompt") on every try;
//   - an empty value is kept as "" (the product never sends one);
//   - "@file" expansion applies only to whole items and only when the parser
//     sets fromfile_prefix_chars, which fastsdcpu's does not.
//
// So exactly one text, "--", cannot be passed (checked with Debian's Python
// 3.11 over every case above). A job carrying it is refused at once, by the
// webui with a 400 and by the worker with a dead letter, instead of failing
// MaxFailures times.
func ArgvSafe(v string) bool { return v != "--" }

const argvUnsafeReason = `cannot be exactly "--": fastsdcpu's command line (Python's argparse) drops that value`

func hasControl(s string) bool {
	for _, r := range s {
		if r != ' ' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029') {
			return true
		}
	}
	return false
}

// NewID returns a fresh job id.
func NewID() string { return uuid.NewString() }
