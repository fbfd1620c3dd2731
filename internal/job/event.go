package job

import (
	"encoding/json"
	"time"
)

// State is where a job is in its life.
type State string

// The states of a job. The worker publishes Started, Retrying, Done and
// Failed; the webui itself records Queued when it publishes, and Cancelled
// when a person cancels a job that waits.
const (
	Queued   State = "queued"
	Started  State = "running"
	Retrying State = "retrying" // failed once, back in the queue
	Done     State = "done"
	Failed   State = "failed" // dead-lettered: it will not run again
	// Cancelled: cancelled while it waited. The webui records it when it
	// writes the job's cancel marker (store.CancelKey); the worker that
	// reaches the message finds the marker, acks it without running it and
	// publishes Cancelled too. Its Attempt is the attempt that did not run,
	// so a Started event of that attempt (the worker took the message
	// before the marker was written) outranks it: the cancel came too late.
	Cancelled State = "cancelled"
)

// Phase is what a running job is doing now. Within one attempt the phases
// only move forward: PhaseLoading < PhaseGenerating < PhaseUploading.
type Phase string

// The phases of a running job.
const (
	PhaseLoading    Phase = "loading_model" // the generator is (re)building its pipeline for this job
	PhaseGenerating Phase = "generating"
	PhaseUploading  Phase = "uploading"
)

// Order returns the rank of p within one attempt (1, 2, 3), 0 for an unknown
// phase, so that a consumer can ignore a phase older than the one it holds.
func (p Phase) Order() int {
	switch p {
	case PhaseLoading:
		return 1
	case PhaseGenerating:
		return 2
	case PhaseUploading:
		return 3
	}
	return 0
}

// WorkerState is where a worker process is in its life.
type WorkerState string

// The states of a worker.
const (
	WorkerStarting WorkerState = "starting" // process up, connecting / starting the generator
	WorkerLoading  WorkerState = "loading"  // loading the model (warm generator), not yet ready
	WorkerIdle     WorkerState = "idle"     // ready, waiting for a job
	WorkerBusy     WorkerState = "busy"     // running job ID
	WorkerStopping WorkerState = "stopping" // SIGTERM / one-shot done: takes no more jobs
	WorkerStopped  WorkerState = "stopped"  // last event of a process that exits cleanly
)

// KindWorker marks an event about a worker's lifecycle rather than a job's
// status. Such an event has no State, so consumers that know only job states
// ignore it.
const KindWorker = "worker"

// KindProbe marks a webui's probe of its own status subscription: every
// webui replica publishes one each WorkerHeartbeat and counts any event it
// receives as proof that it still hears the exchange. Only then does a
// silent worker mean a dead one (internal/status). It has no State and no
// ID: every other consumer ignores it.
const KindProbe = "probe"

// WorkerHeartbeat is how often a worker repeats its current state. A consumer
// forgets a worker not heard of for 3 heartbeats: a killed pod sends nothing.
const WorkerHeartbeat = 15 * time.Second

// The keys of Event.Durations, seconds per phase of a done job. The job's
// metadata JSON carries the same figures as "<key>_seconds".
const (
	DurationQueueWait  = "queue_wait"
	DurationModelLoad  = "model_load" // only when the job paid a (re)load
	DurationGeneration = "generation"
	DurationUpload     = "upload"
)

// Event is a status change of one job, or (Kind KindWorker) a lifecycle
// change or heartbeat of one worker, published by the worker to the status
// exchange and forwarded by the webui to browsers (docs/design.md).
type Event struct {
	ID          string      `json:"id"` // the job; for a worker event the job it is busy with, if any
	State       State       `json:"state"`
	Kind        string      `json:"kind,omitempty"`  // "" = a job's status; KindWorker = a worker's lifecycle
	Phase       Phase       `json:"phase,omitempty"` // State Started: what the job is doing now
	Group       string      `json:"group,omitempty"`
	Prompt      string      `json:"prompt,omitempty"`
	Count       int         `json:"count,omitempty"`
	Objects     []string    `json:"objects,omitempty"` // Done: the object names, images then metadata
	Reason      string      `json:"reason,omitempty"`  // Failed, Retrying: why
	Worker      string      `json:"worker,omitempty"`
	WorkerState WorkerState `json:"worker_state,omitempty"` // Kind KindWorker
	Generator   string      `json:"generator,omitempty"`    // Kind KindWorker: fastsdcpu, fastsdcpu-warm, placeholder
	Attempt     int         `json:"attempt,omitempty"`      // 1 for the first run; a busy worker's event: its job's
	// Returns is the broker's count of the returns of the message being run
	// (x-delivery-count: killed workers, requeues since it was last
	// published), on a worker's job events and its busy lifecycle events. A
	// delivery with Returns >= DELIVERY_LIMIT is the last one: if its worker
	// dies, the broker dead-letters the job (queue.LastDelivery).
	Returns   int                `json:"returns,omitempty"`
	Durations map[string]float64 `json:"durations,omitempty"` // State Done: seconds per phase (the Duration* keys)
	Seed      *int64             `json:"seed,omitempty"`      // State Queued/Started/Done: the seed the generator is given
	// The job's other settings, on the webui's Queued event, so that every
	// replica can show the job and make it again (reuse, retry).
	NegativePrompt string    `json:"negative_prompt,omitempty"`
	Width          int       `json:"width,omitempty"`
	Height         int       `json:"height,omitempty"`
	Steps          int       `json:"steps,omitempty"`
	GuidanceScale  *float64  `json:"guidance_scale,omitempty"`
	At             time.Time `json:"at"`
}

// IsWorker reports whether e is a worker's lifecycle event.
func (e Event) IsWorker() bool { return e.Kind == KindWorker }

// IsProbe reports whether e is a webui's probe of its subscription.
func (e Event) IsProbe() bool { return e.Kind == KindProbe }

// Encode returns the JSON body of e.
func (e Event) Encode() []byte {
	b, _ := json.Marshal(e)
	return b
}

// DecodeEvent parses an event body.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	err := json.Unmarshal(b, &e)
	return e, err
}
