package worker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
)

// fakeDelivery records how it was settled.
type fakeDelivery struct {
	id       string
	body     []byte
	failures int
	returns  int
	deadAt   int // Retry reports dead when failures+1 reaches it; 0 = never

	mu      sync.Mutex
	settles []string // "ack", "requeue", "retry", "dead"
	reason  string
	done    chan struct{}
}

func newDelivery(id, body string) *fakeDelivery {
	return &fakeDelivery{id: id, body: []byte(body), done: make(chan struct{})}
}

func (d *fakeDelivery) ID() string    { return d.id }
func (d *fakeDelivery) Body() []byte  { return d.body }
func (d *fakeDelivery) Failures() int { return d.failures }
func (d *fakeDelivery) Returns() int  { return d.returns }

func (d *fakeDelivery) settle(ctx context.Context, kind, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ctx.Err() != nil {
		kind += " (context done: " + ctx.Err().Error() + ")" // the real queue would fail
	}
	d.settles = append(d.settles, kind)
	if len(d.settles) > 1 {
		return queue.ErrSettled
	}
	d.reason = reason
	close(d.done)
	return nil
}

func (d *fakeDelivery) Ack(ctx context.Context) error     { return d.settle(ctx, "ack", "") }
func (d *fakeDelivery) Requeue(ctx context.Context) error { return d.settle(ctx, "requeue", "") }
func (d *fakeDelivery) Stamp(ctx context.Context, id string) error {
	return d.settle(ctx, "stamp", id)
}
func (d *fakeDelivery) Dead(ctx context.Context, reason string) error {
	return d.settle(ctx, "dead", reason)
}
func (d *fakeDelivery) Retry(ctx context.Context, reason string) (bool, error) {
	dead := d.deadAt > 0 && d.failures+1 >= d.deadAt
	kind := "retry"
	if dead {
		kind = "retry-dead"
	}
	return dead, d.settle(ctx, kind, reason)
}

// settled waits for the settle and returns all settles seen.
func (d *fakeDelivery) settled(t *testing.T) (kinds []string, reason string) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatal("delivery never settled")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.settles...), d.reason
}

// fakeConsumer hands out queued deliveries.
type fakeConsumer struct {
	ch      chan queue.Delivery
	mu      sync.Mutex
	stopped bool
	stopCh  chan struct{}
}

func newConsumer(ds ...queue.Delivery) *fakeConsumer {
	c := &fakeConsumer{ch: make(chan queue.Delivery, 100), stopCh: make(chan struct{})}
	for _, d := range ds {
		c.ch <- d
	}
	return c
}

func (c *fakeConsumer) Next(ctx context.Context) (queue.Delivery, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.stopCh:
		return nil, queue.ErrClosed
	case d := <-c.ch:
		return d, nil
	}
}

func (c *fakeConsumer) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped {
		c.stopped = true
		close(c.stopCh)
	}
	return nil
}

func (c *fakeConsumer) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// fakeStore keeps objects in memory; failPuts makes the next n Puts fail.
type fakeStore struct {
	mu       sync.Mutex
	objects  map[string][]byte
	order    []string
	failPuts int
	failAll  bool // Puts fail
	failStat bool // Stats fail (the cancel check)
}

func newStore() *fakeStore { return &fakeStore{objects: map[string][]byte{}} }

func (s *fakeStore) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAll || s.failPuts > 0 {
		s.failPuts--
		return errors.New("connection refused")
	}
	s.objects[key] = b
	s.order = append(s.order, key)
	return nil
}

func (s *fakeStore) Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[key]
	if !ok {
		return nil, store.Object{}, store.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), store.Object{Key: key, Size: int64(len(b))}, nil
}

func (s *fakeStore) Stat(ctx context.Context, key string) (store.Object, error) {
	s.mu.Lock()
	down := s.failStat
	s.mu.Unlock()
	if down {
		return store.Object{}, errors.New("connection refused")
	}
	_, o, err := s.Get(ctx, key)
	return o, err
}

func (s *fakeStore) List(ctx context.Context, prefix string) ([]store.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Object
	for k, b := range s.objects {
		out = append(out, store.Object{Key: k, Size: int64(len(b))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *fakeStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, key)
	return nil
}

func (s *fakeStore) Watch(ctx context.Context) (<-chan store.Change, error) {
	return nil, errors.New("not implemented")
}
func (s *fakeStore) Ping(ctx context.Context) error { return nil }

func (s *fakeStore) putOrder() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// fakeStatus records events.
type fakeStatus struct {
	mu     sync.Mutex
	events []job.Event
}

func (s *fakeStatus) PublishStatus(ctx context.Context, e job.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	return nil
}

// states are the states of the job events, in order (worker events left out).
func (s *fakeStatus) states() []job.State {
	var out []job.State
	for _, e := range s.jobEvents() {
		out = append(out, e.State)
	}
	return out
}

// phases are the phases of the running events, in order.
func (s *fakeStatus) phases() []job.Phase {
	var out []job.Phase
	for _, e := range s.jobEvents() {
		if e.State == job.Started {
			out = append(out, e.Phase)
		}
	}
	return out
}

func (s *fakeStatus) jobEvents() []job.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []job.Event
	for _, e := range s.events {
		if !e.IsWorker() {
			out = append(out, e)
		}
	}
	return out
}

// last is the last job event.
func (s *fakeStatus) last() job.Event {
	es := s.jobEvents()
	if len(es) == 0 {
		return job.Event{}
	}
	return es[len(es)-1]
}

// genFunc is a Generator made of a function.
type genFunc func(ctx context.Context, m job.Message, dir string) (Result, error)

func (f genFunc) Name() string { return "test" }
func (f genFunc) Generate(ctx context.Context, m job.Message, dir string) (Result, error) {
	return f(ctx, m, dir)
}

// fixture is a worker on fakes.
type fixture struct {
	t      *testing.T
	cfg    config.Worker
	store  *fakeStore
	status *fakeStatus
	cons   *fakeConsumer
	gen    Generator
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return &fixture{
		t: t,
		cfg: config.Worker{
			WorkerName:     "test-worker",
			Generator:      config.Generator{JobTimeout: time.Minute},
			EmptyQueueWait: time.Minute,
			ShutdownGrace:  time.Minute,
		},
		store:  newStore(),
		status: &fakeStatus{},
		cons:   newConsumer(),
		gen:    Placeholder{},
	}
}

func (f *fixture) worker() *Worker {
	w := New(f.cfg, Deps{
		Consume:   func(context.Context) (queue.Consumer, error) { return f.cons, nil },
		Status:    f.status,
		Store:     f.store,
		Generator: f.gen,
		Log:       testLogger(f.t),
	})
	w.uploadFloor = 2 * time.Second
	return w
}

// runOne processes d with a fresh worker and waits for the events.
func (f *fixture) runOne(d *fakeDelivery) {
	f.t.Helper()
	w := f.worker()
	ev := newEvents(f.status, w.log)
	w.process(context.Background(), d, ev, &lifecycle{ev: ev})
	ev.close(10 * time.Second)
}

// wantRequeuedStoreUnreachable runs one job on a store that stays down past
// the job's budget: the job goes back to the queue (not run, not lost, no
// failure counted) and its card says why.
func (f *fixture) wantRequeuedStoreUnreachable() {
	f.t.Helper()
	d := newDelivery(jobID, `{"prompt":"x"}`)
	f.runOne(d)
	if kinds, _ := d.settled(f.t); !slices.Equal(kinds, []string{"requeue"}) {
		f.t.Fatalf("settles: %v", kinds)
	}
	if e := f.status.last(); e.State != job.Queued || !strings.Contains(e.Reason, "store unreachable") {
		f.t.Errorf("event: %+v", e)
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}
