package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/status"
)

// apiError is the body of every JSON error.
type apiError struct {
	Error  string           `json:"error"`
	Fields []job.FieldError `json:"fields,omitempty"`
	Jobs   []apiJobRef      `json:"jobs,omitempty"` // queued before the error
}

type apiJobRef struct {
	ID        string `json:"id"`
	StatusURL string `json:"status_url"`
}

// encodeFailed is the answer when a value cannot be encoded.
const encodeFailed = `{"error":"the server could not encode its answer"}`

// writeJSON encodes v before answering: a value that cannot be encoded (a NaN,
// an infinity) is a 500 with a JSON error, never a status with a cut or empty
// body. It returns the encoding error for the caller to log.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(encodeFailed)
		err = fmt.Errorf("json api: encode: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
	return err
}

func writeError(w http.ResponseWriter, code int, msg string, fields []job.FieldError) {
	_ = writeJSON(w, code, apiError{Error: msg, Fields: fields})
}

func jobRefs(jobs []status.Job) []apiJobRef {
	out := make([]apiJobRef, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, apiJobRef{ID: j.ID, StatusURL: "/api/jobs/" + j.ID})
	}
	return out
}
