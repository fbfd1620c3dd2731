package job

import "strings"

// ReasonKind classifies why a job failed, is retried or was given back. The
// worker's reasons carry whatever went wrong, the generator's stderr tail
// included (tracebacks, server paths): those stay in logs. What a person or
// an API client is shown is the kind and its Text (issue 12, D9).
type ReasonKind string

// The kinds of reasons.
const (
	ReasonOutOfMemory   ReasonKind = "out_of_memory"
	ReasonTimedOut      ReasonKind = "timed_out"
	ReasonBadInput      ReasonKind = "bad_input"       // refused by the worker: never retried
	ReasonGenerator     ReasonKind = "generator_error" // the generator failed otherwise
	ReasonCancelled     ReasonKind = "cancelled"
	ReasonWorkerStopped ReasonKind = "worker_stopped"    // given back: the worker was shutting down
	ReasonStore         ReasonKind = "store_unavailable" // given back: the image store was unreachable
	ReasonGaveUp        ReasonKind = "delivery_limit"    // the broker gave up: workers died running it
	ReasonWorkerLost    ReasonKind = "worker_lost"       // its worker died running it (no heartbeat, or it started anew): back in the queue
)

// Text is the kind in a few words, for job cards and the API.
func (k ReasonKind) Text() string {
	switch k {
	case ReasonOutOfMemory:
		return "out of memory"
	case ReasonTimedOut:
		return "timed out"
	case ReasonBadInput:
		return "bad input: the worker refused the job"
	case ReasonGenerator:
		return "generator error"
	case ReasonCancelled:
		return "cancelled"
	case ReasonWorkerStopped:
		return "its worker stopped"
	case ReasonStore:
		return "the image store was unreachable"
	case ReasonGaveUp:
		return "gave up: workers stopped while running it, too many times"
	case ReasonWorkerLost:
		return "its worker was lost; back in the queue"
	}
	return ""
}

// reasonPatterns are matched in order against the lower-cased reason: the
// first that matches classifies it. The worker's own words come first (its
// shutdown and timeouts kill the generator too; a job given back on its
// last delivery names the delivery limit before the shutdown), then what
// the generator's stderr says of memory, then the kernel's kill (the OOM
// killer's SIGKILL).
var reasonPatterns = []struct {
	kind ReasonKind
	any  []string
}{
	{ReasonCancelled, []string{"cancelled", "canceled by"}},
	{ReasonGaveUp, []string{"delivery_limit", "delivery limit"}},
	{ReasonWorkerStopped, []string{"stopped by shutdown", "shutting down"}},
	{ReasonStore, []string{"store unreachable"}},
	{ReasonWorkerLost, []string{"worker was lost", "worker lost"}},
	{ReasonBadInput, []string{"malformed job message", "invalid job:"}},
	{ReasonTimedOut, []string{"job_timeout", "job timeout", "timed out", "deadline exceeded"}},
	{ReasonOutOfMemory, []string{"out of memory", "outofmemoryerror", "memoryerror", "cannot allocate memory",
		"bad_alloc", "oom-kill", "oom_kill", "oomkilled", "signal: killed", "exit status 137"}},
}

// ClassifyReason returns the kind of a worker's reason; any other non-empty
// reason is a generator error, and "" has no kind.
func ClassifyReason(reason string) ReasonKind {
	if reason == "" {
		return ""
	}
	r := strings.ToLower(reason)
	for _, p := range reasonPatterns {
		for _, s := range p.any {
			if strings.Contains(r, s) {
				return p.kind
			}
		}
	}
	return ReasonGenerator
}
