package web

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
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

func startStack(t testing.TB, change ...func(*config.WebUI)) *stack {
	t.Helper()
	rabbit, mio := testenv.RabbitMQ(t), testenv.MinIO(t)
	ctx, cancel := context.WithCancel(context.Background())
	st := &stack{t: t, ctx: ctx, bucket: testenv.UniqueName("webui")}
	st.env = map[string]string{
		"AMQP_URL": rabbit.URL, "QUEUE_NAME": testenv.UniqueName("webui"),
		"MINIO_ENDPOINT": mio.Endpoint, "MINIO_ACCESS_KEY": mio.AccessKey, "MINIO_SECRET_KEY": mio.SecretKey,
		"MINIO_BUCKET": st.bucket, "RATE_LIMIT": "0", "LOG_FORMAT": "text",
	}
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
	st.app = newWebUI(cfg, log, prometheus.NewRegistry(), st.q, st.s)
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
// with gen (the placeholder generator when nil), until the test ends.
func (st *stack) startWorker(gen worker.Generator) {
	st.t.Helper()
	st.t.Cleanup(st.startWorkerUntil(gen))
}

// startWorkerUntil is startWorker; the worker stops when stop is called.
func (st *stack) startWorkerUntil(gen worker.Generator) (stop func()) {
	st.t.Helper()
	env := map[string]string{"GENERATOR": "placeholder", "EXIT_AFTER_ONE_TASK": "false",
		"WORKER_NAME": "test-worker", "METRICS_ADDR": "off"}
	for k, v := range st.env {
		env[k] = v
	}
	wcfg, err := config.LoadWorker(func(k string) string { return env[k] })
	if err != nil {
		st.t.Fatal(err)
	}
	if gen == nil {
		gen = worker.Placeholder{}
	}
	wq, err := rabbitmq.Open(st.ctx, wcfg.AMQPURL, queue.Options{Name: wcfg.QueueName}, testLogger(st.t))
	if err != nil {
		st.t.Fatal(err)
	}
	w := worker.New(wcfg, worker.Deps{Consume: wq.Consume, Status: wq, Store: st.s, Generator: gen, Log: testLogger(st.t)})
	ctx, cancel := context.WithCancel(st.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			st.t.Errorf("worker: %v", err)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done; _ = wq.Close() }) }
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
