// Package status is the job-status domain of the webui: which jobs are
// queued (and about where in line), running, done or failed. It follows the
// status events of the workers and of every webui replica, joins them with
// the gallery index (a done job's entry) and what is known of the dead
// letters, prunes what it no longer needs, and hands typed changes to the
// HTTP layer (package web), which only renders them. docs/design.md holds
// the job states and the event contract; README.md here explains the
// choices.
package status

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Queue is what the tracker needs of the queue: its status events, and how
// many jobs wait (for the fleet table).
type Queue interface {
	queue.StatusSubscriber
	queue.Lengther
}

// Gallery is what the tracker needs of the gallery index (package gallery):
// a done job's entry, its changes, and telling it the objects a done event
// names.
type Gallery interface {
	Get(ctx context.Context, id string) (gallery.Entry, bool, error)
	Subscribe(buf int) (<-chan gallery.Event, func())
	Notify(ctx context.Context, c store.Change)
}

// DeadLetters is what a queue may know of its dead letters: why and when a
// job was dead-lettered. The embedded queue (memq) knows each one; RabbitMQ's
// dead letters can only be read by taking them, so its queue offers none,
// and its status subscription keeps the events instead (package rabbitmq).
type DeadLetters interface {
	DeadReason(id string) (reason string, at time.Time, ok bool)
}

// Options tune the tracker: its memory, how often it looks jobs up and reads
// the queue; zero values take the defaults.
type Options struct {
	MaxJobs  int           // at most this many jobs (10,000)
	Finished time.Duration // finished jobs are forgotten after this (1 h)
	Stale    time.Duration // any job without news is forgotten after this (24 h)
	// Reconcile is how often the jobs not finished are looked up in the
	// gallery and the dead letters, in case their last event was lost
	// (500 ms).
	Reconcile time.Duration
	// Heartbeat is how often a worker repeats its state (WORKER_HEARTBEAT,
	// job.WorkerHeartbeat); one not heard of for 3 is forgotten, and the
	// job it held goes back in line (or fails on its last delivery). The
	// tracker's own probe goes out as often. Tests shorten it; it must be
	// the workers' own.
	Heartbeat time.Duration
	// DeliveryLimit is the queue's (DELIVERY_LIMIT, queue.Options): a job
	// whose worker is lost on its last delivery is failed, since the broker
	// dead-letters it.
	DeliveryLimit int
	// DepthEvery is how often the queue's depth is read for the fleet
	// table (2 s).
	DepthEvery time.Duration
	Now        func() time.Time
	Log        *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxJobs <= 0 {
		o.MaxJobs = 10000
	}
	if o.Finished <= 0 {
		o.Finished = time.Hour
	}
	if o.Stale <= 0 {
		o.Stale = 24 * time.Hour
	}
	if o.Reconcile <= 0 {
		o.Reconcile = 500 * time.Millisecond
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = job.WorkerHeartbeat
	}
	o.DeliveryLimit = queue.Options{DeliveryLimit: o.DeliveryLimit}.Defaults().DeliveryLimit
	if o.DepthEvery <= 0 {
		o.DepthEvery = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Tracker is the status of the jobs. It is safe for concurrent use.
type Tracker struct {
	opts    Options
	q       Queue
	dead    DeadLetters           // nil: the queue knows nothing of its dead letters
	pub     queue.StatusPublisher // for the probes; nil: none
	hear    hearing               // whether the subscription is heard
	gallery Gallery
	table   *table
	fleet   *fleet
	recent  recent
	changes hub
	notify  chan store.Change // done events' objects, for the gallery index

	mu    sync.Mutex
	first *subscription // made by Subscribe, taken by Run
}

// New returns a tracker over the queue's status events and the gallery
// index; when the queue also knows its dead letters (DeadLetters), the
// tracker asks it too, and when it publishes status events
// (queue.StatusPublisher, as both queues do), Run publishes the tracker's
// probes there. Subscribe, then Run, follow the events.
func New(q Queue, g Gallery, o Options) *Tracker {
	o = o.withDefaults()
	t := &Tracker{opts: o, q: q, gallery: g, table: newTable(o), fleet: newFleet(3 * o.Heartbeat),
		notify: make(chan store.Change, 1024)}
	t.dead, _ = q.(DeadLetters)
	t.pub, _ = q.(queue.StatusPublisher)
	return t
}

// Apply records an event (the webui's own queued events, and every event of
// the status exchange) and reports whether the job changed; a change goes to
// the subscribers. A worker's lifecycle event goes to the fleet table.
func (t *Tracker) Apply(e job.Event) (Job, bool) {
	if e.IsWorker() {
		t.workerEvent(e) // the fleet's, and maybe a job's start
		return Job{}, false
	}
	j, changed := t.table.apply(e)
	if changed {
		if e.Reason != "" && j.ReasonKind != "" {
			// The worker's words stay here: cards and the API get the class.
			t.opts.Log.Info("job reason", "job_id", j.ID, "state", string(j.State), "reason_kind", string(j.ReasonKind), "reason", e.Reason)
		}
		t.changes.publish(Change{Kind: JobChanged, Job: j})
	}
	return j, changed
}

// Get returns the job, with its place in line when it waits. Whenever the
// tracker holds no terminal state for it, the gallery (done) and the dead
// letters (failed) are asked too, so that a lost event never leaves a card
// stuck: what they tell is recorded, and goes to the subscribers, for a job
// the tracker holds; a job it does not hold is answered from them alone.
func (t *Tracker) Get(ctx context.Context, id string) (Job, bool) {
	j, ok := t.table.get(id)
	if ok && j.Terminal() && !j.gaveUp {
		return j, true
	}
	e, found := t.lookup(ctx, id)
	switch {
	case found && ok:
		j, _ = t.Apply(e)
		return j, true
	case found:
		j, _ = newTable(t.opts).apply(e) // answered, not kept: anyone may ask for any id
		return j, true
	}
	return j, ok
}

// Changes streams the tracker's changes from now on. Sending never blocks
// the tracker: a subscriber that lets its buffer of buf changes fill gets a
// Lost change and loses the changes after it until it has read it. cancel
// ends the subscription and closes the channel.
func (t *Tracker) Changes(buf int) (changes <-chan Change, cancel func()) {
	return t.changes.subscribe(buf)
}

// Fleet is the workers by state and the queue's depth, as known now.
func (t *Tracker) Fleet() Fleet { return t.fleet.snapshot() }

// Typical is the median seconds of each phase (the job.Duration* keys) over
// the last 50 done jobs that reported them: the base of an estimate.
func (t *Tracker) Typical() map[string]float64 { return t.recent.medians() }

// Len is the number of jobs held.
func (t *Tracker) Len() int { return t.table.len() }

// Prune forgets finished jobs older than Finished and jobs without news for
// Stale; Run calls it every minute.
func (t *Tracker) Prune() { t.table.prune() }
