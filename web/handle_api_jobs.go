package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"github.com/sdkeda/sdkeda/internal/job"
)

// apiJobRequest is the body of POST /api/jobs. The server chooses the ids,
// the group and the time.
type apiJobRequest struct {
	Prompt         string   `json:"prompt"`
	Count          *int     `json:"count"` // absent: one image; 0 is refused
	Parallel       bool     `json:"parallel"`
	NegativePrompt string   `json:"negative_prompt"`
	Seed           *int64   `json:"seed"`
	Width          int      `json:"width"`
	Height         int      `json:"height"`
	Steps          int      `json:"steps"`
	GuidanceScale  *float64 `json:"guidance_scale"`
}

// submitJSON handles POST /api/jobs: 202 with the job ids, or a JSON error
// (400 invalid, 413 too large, 429 rate limited, 503 queue full or down).
func (s *server) submitJSON(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r) {
		writeError(w, http.StatusTooManyRequests, rateLimitedMessage, nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if tooLarge(err) {
			s.Metrics.submission(outcomeTooLarge)
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d KiB", maxBody>>10), nil)
			return
		}
		writeError(w, http.StatusBadRequest, "the body could not be read", nil)
		return
	}
	req, fieldErr, err := decodeJobRequest(body)
	if err != nil {
		s.Metrics.submission(outcomeInvalid)
		writeError(w, http.StatusBadRequest, err.Error(), fieldErr)
		return
	}
	jobs, serr := s.submit(r.Context(), req)
	if serr != nil {
		writeJSON(w, serr.Status, apiError{Error: serr.Message, Fields: serr.Fields, Jobs: jobRefs(serr.Jobs)})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"jobs": jobRefs(jobs)})
}

// decodeJobRequest parses the JSON body; a field of the wrong type is named.
func decodeJobRequest(body []byte) (request, []job.FieldError, error) {
	var in apiJobRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			fe := []job.FieldError{{Field: te.Field, Reason: fmt.Sprintf("must be %s, not a JSON %s", jsonKind(te.Type.Kind()), te.Value)}}
			return request{}, fe, errors.New("the job is not valid: see the fields")
		}
		return request{}, nil, fmt.Errorf("the body is not a JSON object: %v", err)
	}
	if dec.More() {
		return request{}, nil, errors.New("the body has data after the JSON object")
	}
	count := job.DefaultCount
	if in.Count != nil {
		count = *in.Count
	}
	return request{
		Parallel: in.Parallel,
		Message: job.Message{
			Prompt: in.Prompt, Count: count, NegativePrompt: in.NegativePrompt, Seed: in.Seed,
			Width: in.Width, Height: in.Height, Steps: in.Steps, GuidanceScale: in.GuidanceScale,
		},
	}, nil, nil
}

// jsonKind names what a field of kind k wants, for people.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	}
	return "of another type"
}
