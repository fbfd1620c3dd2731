package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/rabbitmq"
	"github.com/sdkeda/sdkeda/internal/stacktest"
	"github.com/sdkeda/sdkeda/internal/store/s3store"
	"github.com/sdkeda/sdkeda/internal/testenv"
	"github.com/sdkeda/sdkeda/worker"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// stack is the webui on the real RabbitMQ and MinIO, each test with its own
// queue and bucket, served by an httptest server.
type stack struct {
	t      testing.TB
	ctx    context.Context
	url    string
	app    *webui
	cfg    config.WebUI
	env    map[string]string // for the worker
	q      *rabbitmq.Queue
	s      *s3store.Store
	mc     *minio.Client // as `mc` or a worker of the old system
	bucket string
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("WEBUI_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startStack composes the webui's parts on the shared servers (stacktest),
// with a queue and a bucket of the test's own, and serves them with an
// httptest server; change adjusts the configuration first.
func startStack(t testing.TB, change ...func(*config.WebUI)) *stack {
	t.Helper()
	svc := stacktest.Shared(t)
	mio := svc.MinIO
	ctx, cancel := context.WithCancel(context.Background())
	st := &stack{t: t, ctx: ctx, bucket: svc.Bucket}
	st.env = envMap(svc.Env("RATE_LIMIT=0", "LOG_FORMAT=text"))
	cfg, err := config.LoadWebUI(func(k string) string { return st.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// The pinned MinIO build sends notifications in batches: a short resync
	// shows changes by others quickly (as internal/gallery's tests do).
	cfg.ResyncInterval = 500 * time.Millisecond
	for _, c := range change {
		c(&cfg)
	}
	st.cfg = cfg
	log := testLogger(t)
	openCtx, openCancel := context.WithTimeout(ctx, 60*time.Second)
	defer openCancel()
	st.q, err = rabbitmq.Open(openCtx, cfg.AMQPURL, queue.Options{Name: cfg.QueueName}, log)
	if err != nil {
		t.Fatal(err)
	}
	st.s, err = s3store.Open(openCtx, s3store.Config{Endpoint: mio.Endpoint, AccessKey: mio.AccessKey,
		SecretKey: mio.SecretKey, Bucket: st.bucket}, log)
	if err != nil {
		t.Fatal(err)
	}
	st.mc, err = minio.New(mio.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(mio.AccessKey, mio.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	st.app = newWebUI(cfg, log, prometheus.NewRegistry(), st.q, st.s, "")
	if err := st.app.jobs.Subscribe(ctx); err != nil { // before serving, as Run does
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(st.app.handler)
	srv.Config.BaseContext = baseContext(ctx)
	srv.Start()
	st.url = srv.URL
	done := make(chan struct{})
	go func() { defer close(done); _ = st.app.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		st.app.hub.Close()
		srv.Close()
		<-done
		_ = st.q.Close()
	})
	waitFor(t, "the gallery index is ready", st.app.index.Ready)
	return st
}

// startWorker runs a worker in this process, on a connection of its own,
// with gen (the placeholder generator when nil), until stop is called or
// the test ends.
func (st *stack) startWorker(gen worker.Generator) (stop func()) {
	st.t.Helper()
	return startWorker(st.t, st.env, gen, nil)
}

// productionEnv is the webui's (and a worker's) environment on the shared
// RabbitMQ and MinIO (stacktest), with a queue and a bucket of the test's
// own and a LISTEN_ADDR of its own; extra NAME=value entries win.
func productionEnv(t testing.TB, extra ...string) map[string]string {
	t.Helper()
	listen, _ := stacktest.Listen(t)
	return envMap(stacktest.Shared(t).Env(append([]string{listen, "RATE_LIMIT=0", "LOG_FORMAT=json"}, extra...)...))
}

// envMap turns NAME=value entries into a map; a later entry wins.
func envMap(kv []string) map[string]string {
	m := make(map[string]string, len(kv))
	for _, e := range kv {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

// startWorker runs a worker in this process on env's queue and bucket, on
// connections of its own, with gen (the placeholder when nil), logging JSON
// to log (nowhere when nil), until stop is called or the test ends.
func startWorker(t testing.TB, env map[string]string, gen worker.Generator, log io.Writer) (stop func()) {
	t.Helper()
	logger := testLogger(t)
	if log != nil {
		logger = slog.New(slog.NewJSONHandler(log, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, closeQueue := newWorker(t, ctx, env, map[string]string{"EXIT_AFTER_ONE_TASK": "false", "WORKER_NAME": "test-worker"}, gen, logger)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done; closeQueue() }) }
	t.Cleanup(stop)
	return stop
}

// newWorker is a worker on env's RabbitMQ queue and MinIO bucket, on
// connections of its own, with gen (the placeholder when nil); mode's
// entries (EXIT_AFTER_ONE_TASK, WORKER_NAME, ...) win over env's. Close
// the queue after Run returns.
func newWorker(t testing.TB, ctx context.Context, env, mode map[string]string, gen worker.Generator, log *slog.Logger) (*worker.Worker, func()) {
	t.Helper()
	wenv := map[string]string{"GENERATOR": "placeholder", "METRICS_ADDR": "off"}
	for _, m := range []map[string]string{env, mode} {
		for k, v := range m {
			wenv[k] = v
		}
	}
	wenv["GENERATOR"], wenv["METRICS_ADDR"] = "placeholder", "off"
	cfg, err := config.LoadWorker(func(k string) string { return wenv[k] })
	if err != nil {
		t.Fatal(err)
	}
	if gen == nil {
		gen = worker.Placeholder{}
	}
	opts := queue.Options{Name: cfg.QueueName, DeliveryLimit: cfg.DeliveryLimit, MaxFailures: cfg.MaxFailures}
	q, err := rabbitmq.Open(ctx, cfg.AMQPURL, opts, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := s3store.Open(ctx, s3store.Config{Endpoint: cfg.MinioEndpoint, AccessKey: cfg.MinioAccessKey,
		SecretKey: cfg.MinioSecretKey, Bucket: cfg.MinioBucket}, testLogger(t))
	if err != nil {
		_ = q.Close()
		t.Fatal(err)
	}
	w := worker.New(cfg, worker.Deps{Consume: q.Consume, Status: q, Store: s, Generator: gen, Log: log})
	return w, func() { _ = q.Close() }
}

// running is the whole webui (Run) in this process.
type running struct {
	base           string
	stdout, stderr *syncBuffer
	stop           func() // ends Run and checks that it returned nil; also at the test's end
}

// runWebUI runs Run with env until the test ends and waits until it
// answers /healthz, and /readyz too when ready.
func runWebUI(t *testing.T, env map[string]string, ready bool) *running {
	t.Helper()
	r := &running{base: "http://" + env["LISTEN_ADDR"], stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		runErr = Run(ctx, nil, func(k string) string { return env[k] }, r.stdout, r.stderr)
	}()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-exited:
				if runErr != nil {
					t.Errorf("Run: %v", runErr)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not stop within 30s of its context ending")
			}
		})
	}
	t.Cleanup(r.stop)
	paths := []string{"/healthz"}
	if ready {
		paths = append(paths, "/readyz")
	}
	for _, path := range paths {
		stacktest.WaitFor(t, path+" answers", 60*time.Second, func() bool {
			select {
			case <-exited:
				t.Fatalf("Run returned early: %v\n%s", runErr, r.stderr.String())
			default:
			}
			return stacktest.GetJSON(r.base+path, nil) == http.StatusOK
		})
	}
	return r
}

// heldGenerator makes a job's images only once the test lets one job go
// (release): the page can be looked at while jobs run and wait, however
// slow the machine is. A test lets every job go (releaseAll) before its
// worker stops, since a worker stopping finishes the job it runs.
type heldGenerator struct {
	worker.Placeholder
	next chan struct{}
	all  chan struct{}
	once *sync.Once
}

func newHeldGenerator() heldGenerator {
	return heldGenerator{next: make(chan struct{}, 64), all: make(chan struct{}), once: new(sync.Once)}
}

// releaseAll lets every job go, now and from now on.
func (g heldGenerator) releaseAll() { g.once.Do(func() { close(g.all) }) }

// release lets the next n jobs go, one each, in the order the worker runs them.
func (g heldGenerator) release(n int) {
	for range n {
		g.next <- struct{}{}
	}
}

func (g heldGenerator) Generate(ctx context.Context, m job.Message, dir string) (worker.Result, error) {
	select {
	case <-g.next:
	case <-g.all:
	case <-ctx.Done():
		return worker.Result{}, ctx.Err()
	}
	return g.Placeholder.Generate(ctx, m, dir)
}

// slowGenerator lets the browser see a job queued and running.
type slowGenerator struct {
	worker.Placeholder
	delay time.Duration
}

func (g slowGenerator) Generate(ctx context.Context, m job.Message, dir string) (worker.Result, error) {
	select {
	case <-time.After(g.delay):
	case <-ctx.Done():
		return worker.Result{}, ctx.Err()
	}
	return g.Placeholder.Generate(ctx, m, dir)
}
