package web

import (
	"encoding/json"
	"net/http"

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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string, fields []job.FieldError) {
	writeJSON(w, status, apiError{Error: msg, Fields: fields})
}

func jobRefs(jobs []status.Job) []apiJobRef {
	out := make([]apiJobRef, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, apiJobRef{ID: j.ID, StatusURL: "/api/jobs/" + j.ID})
	}
	return out
}
