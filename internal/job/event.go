package job

import (
	"encoding/json"
	"time"
)

// State is where a job is in its life.
type State string

// The states of a job. The worker publishes Started, Retrying, Done and
// Failed; the webui itself records Queued when it publishes.
const (
	Queued   State = "queued"
	Started  State = "running"
	Retrying State = "retrying" // failed once, back in the queue
	Done     State = "done"
	Failed   State = "failed" // dead-lettered: it will not run again
)

// Event is a status change of one job, published by the worker to the status
// exchange and forwarded by the webui to browsers.
type Event struct {
	ID      string    `json:"id"`
	State   State     `json:"state"`
	Group   string    `json:"group,omitempty"`
	Prompt  string    `json:"prompt,omitempty"`
	Count   int       `json:"count,omitempty"`
	Objects []string  `json:"objects,omitempty"` // Done: the object names, images then metadata
	Reason  string    `json:"reason,omitempty"`  // Failed, Retrying: why
	Worker  string    `json:"worker,omitempty"`
	Attempt int       `json:"attempt,omitempty"` // 1 for the first run
	At      time.Time `json:"at"`
}

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
