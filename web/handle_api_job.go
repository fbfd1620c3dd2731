package web

import (
	"math"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

// apiJob is the body of GET /api/jobs/{id}.
type apiJob struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Position  int        `json:"position,omitempty"` // about where it is in line (queued, retrying)
	StartedAt *time.Time `json:"started_at,omitempty"`
	Elapsed   *float64   `json:"elapsed,omitempty"` // seconds: so far (running) or in all (done, failed)
	Images    []string   `json:"images,omitempty"`  // URLs (done)
	Reason    string     `json:"reason,omitempty"`  // why it failed, is retried or was given back, in a few words
	// ReasonKind is the same for programs: out_of_memory, timed_out,
	// bad_input, generator_error, ...
	ReasonKind string `json:"reason_kind,omitempty"`
	// Phase is what a running job does now: loading_model, generating,
	// uploading.
	Phase     string             `json:"phase,omitempty"`
	Seed      *int64             `json:"seed,omitempty"`      // the seed the generator was given
	Durations map[string]float64 `json:"durations,omitempty"` // done: seconds per phase
}

// showJob handles GET /api/jobs/{id}.
func (s *server) showJob(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if _, err := uuid.Parse(id); err != nil {
		writeError(w, http.StatusNotFound, "no such job", nil)
		return
	}
	j, ok := s.Jobs.Get(r.Context(), id)
	if !ok {
		writeError(w, http.StatusNotFound, "no such job (this webui forgets finished jobs after an hour)", nil)
		return
	}
	out := apiJob{ID: j.ID, Status: string(j.State), Position: j.Position, Reason: j.Reason, ReasonKind: string(j.ReasonKind),
		Phase: string(j.Phase), Seed: j.Seed, Durations: j.Durations}
	if !j.StartedAt.IsZero() {
		at := j.StartedAt.UTC()
		out.StartedAt = &at
		secs := math.Round(elapsed(j, s.Now()).Seconds()*10) / 10
		out.Elapsed = &secs
	}
	for _, k := range j.Images {
		out.Images = append(out.Images, imageURL(k))
	}
	writeJSON(w, http.StatusOK, out)
}

// cancelJSON handles POST /api/jobs/{id}/cancel: a job that waits will not
// run (the cancel marker, see cancel). 200 with the job, 404 unknown, 409 no
// longer waiting, 503 the store did not take the marker. Knowing the id is
// what allows it, as for GET /api/jobs/{id}: ids are random and a waiting
// job's id is known only to whoever submitted it.
func (s *server) cancelJSON(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		writeError(w, http.StatusNotFound, "no such job", nil)
		return
	}
	if code, problem := s.cancel(r.Context(), id); problem != "" {
		writeError(w, code, problem, nil)
		return
	}
	s.showJob(w, r)
}
