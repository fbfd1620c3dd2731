package web

import (
	"math"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/status"
	"github.com/sdkeda/sdkeda/web/components"
)

// scene is what a card's words about waiting are made from: the time, the
// workers and the queue (status.Fleet), and the median seconds of each
// phase over the recent jobs (status.Typical).
type scene struct {
	now     time.Time
	fleet   status.Fleet
	typical map[string]float64
}

// sceneSource is what gives a scene: the job status (status.Tracker).
type sceneSource interface {
	Fleet() status.Fleet
	Typical() map[string]float64
}

func sceneOf(src sceneSource, now time.Time) scene {
	return scene{now: now, fleet: src.Fleet(), typical: src.Typical()}
}

// waiting says what a queued or running job waits for or does, from its
// phase and the fleet; "" when nothing is known (workers that send no
// lifecycle events, a worker that tells no phase).
func (sc scene) waiting(j status.Job) string {
	if j.State == job.Started {
		switch j.Phase {
		case job.PhaseLoading:
			return "loading the model"
		case job.PhaseGenerating:
			return "generating"
		case job.PhaseUploading:
			return "uploading"
		}
		return ""
	}
	if !j.Waiting() {
		return ""
	}
	f := sc.fleet
	busy, idle := f.Count(job.WorkerBusy), f.Count(job.WorkerIdle)
	switch {
	case len(f.Workers) == 0:
		return "waiting for a worker to start"
	case f.Count(job.WorkerLoading) > 0 && busy+idle == 0:
		return "a worker is loading the model"
	case f.Count(job.WorkerStarting) > 0 && busy+idle == 0:
		return "a worker is starting"
	case idle > 0 && j.Position <= idle:
		return "a worker is free: starting soon"
	case busy > 0:
		return "waiting for a free worker"
	}
	return "waiting for a worker"
}

// until is when the job should be done (running) or start (waiting), from
// the recent jobs' medians; zero when there is not enough to say.
func (sc scene) until(j status.Job) time.Time {
	t := sc.typical
	gen, gok := t[job.DurationGeneration]
	up := t[job.DurationUpload]
	load, lok := t[job.DurationModelLoad]
	if !gok {
		return time.Time{}
	}
	secs := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	switch {
	case j.State == job.Started:
		since := j.PhaseAt
		if since.IsZero() {
			since = j.StartedAt
		}
		switch j.Phase {
		case job.PhaseLoading:
			if !lok {
				return time.Time{}
			}
			return since.Add(secs(load + gen + up))
		case job.PhaseUploading:
			return since.Add(secs(up))
		}
		return since.Add(secs(gen + up))
	case j.Waiting() && j.Position > 0:
		// The jobs in front share the workers that can run now; a worker
		// still loading adds its load first.
		f := sc.fleet
		workers := f.Count(job.WorkerBusy) + f.Count(job.WorkerIdle)
		extra := 0.0
		if workers == 0 {
			if f.Count(job.WorkerLoading)+f.Count(job.WorkerStarting) == 0 || !lok {
				return time.Time{} // no worker yet: when one starts is the cluster's business
			}
			workers, extra = f.Count(job.WorkerLoading)+f.Count(job.WorkerStarting), load
		}
		// A worker still coming up takes the first job when it is ready;
		// busy workers each finish theirs first (taken as a whole job:
		// rather late than early); idle ones take the first jobs now.
		ahead := float64(j.Position - 1)
		if extra == 0 {
			ahead = float64(max(j.Position-f.Count(job.WorkerIdle), 0))
		}
		rounds := math.Ceil(ahead / float64(workers))
		return sc.now.Add(secs(extra + rounds*(gen+up)))
	}
	return time.Time{}
}

// estimate is until in words at render time; the browser counts it down.
func (sc scene) estimate(j status.Job) (string, time.Time) {
	at := sc.until(j)
	if at.IsZero() {
		return "", at
	}
	return estimateText(j.State == job.Started, at.Sub(sc.now)), at
}

// estimateText matches app.js's countdown.
func estimateText(running bool, left time.Duration) string {
	if left <= time.Second {
		if running {
			return "done any moment"
		}
		return "starts any moment"
	}
	d := components.Duration(left)
	if running {
		return "about " + d + " left"
	}
	return "starts in about " + d
}

// fleetVM is the strip of workers and the queue.
func fleetVM(f status.Fleet) components.FleetVM {
	return components.FleetVM{
		Shown: true, Known: len(f.Workers) > 0,
		Starting: f.Count(job.WorkerStarting), Loading: f.Count(job.WorkerLoading),
		Idle: f.Count(job.WorkerIdle), Busy: f.Count(job.WorkerBusy), Stopping: f.Count(job.WorkerStopping),
		Queue: max(f.Depth, 0), QueueOK: f.Depth >= 0,
	}
}
