package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/rabbitmq"
	"github.com/sdkeda/sdkeda/internal/stacktest"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/store/s3store"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// itest is one integration test's world (stacktest): its own queue on the
// shared RabbitMQ, its own bucket on a MinIO, a stand-in fastsdcpu checkout,
// and clients of its own to look at both.
type itest struct {
	t        testing.TB
	svc      *stacktest.Services
	rabbit   string
	opts     queue.Options
	checkout string
	argv     string // the fake CLI's argv log
	q        *rabbitmq.Queue
	st       *s3store.Store
}

// newITest makes the world on the shared servers, or on the MinIO m when it
// is not nil (a test that stops it).
func newITest(t testing.TB, m *testenv.Minio, opts queue.Options) *itest {
	t.Helper()
	svc := stacktest.Shared(t)
	if m != nil {
		svc.MinIO = m
	}
	opts.Name = svc.Queue
	it := &itest{t: t, svc: svc, rabbit: svc.Rabbit.URL, opts: opts.Defaults(), checkout: stacktest.FakeFastSDCPU(t, "")}
	it.argv = filepath.Join(t.TempDir(), "argv.jsonl")
	ctx := ctxT(t, 60*time.Second)
	var err error
	// Opening the queue declares the topology, so publishing works before
	// any worker started.
	if it.q, err = rabbitmq.Open(ctx, it.rabbit, it.opts, testLogger(t)); err != nil {
		t.Fatalf("open queue: %v", err)
	}
	t.Cleanup(func() { it.q.Close() })
	mio := svc.MinIO
	if it.st, err = s3store.Open(ctx, s3store.Config{Endpoint: mio.Endpoint, AccessKey: mio.AccessKey,
		SecretKey: mio.SecretKey, Bucket: svc.Bucket}, testLogger(t)); err != nil {
		t.Fatalf("open store: %v", err)
	}
	return it
}

// env is the worker's environment; extra NAME=value pairs come last and win.
func (it *itest) env(extra ...string) []string {
	env := it.svc.Env(
		fmt.Sprintf("DELIVERY_LIMIT=%d", it.opts.DeliveryLimit),
		fmt.Sprintf("MAX_FAILURES=%d", it.opts.MaxFailures))
	env = append(env, stacktest.FakeEnv(it.t, it.checkout)...)
	env = append(env,
		"EXIT_AFTER_ONE_TASK=0",
		"JOB_TIMEOUT=2m",
		"SHUTDOWN_GRACE=1m",
		"EMPTY_QUEUE_WAIT=30s",
		"METRICS_ADDR=off",
		"LOG_LEVEL=debug",
		"FAKE_SD_ARGV_LOG="+it.argv,
	)
	return append(env, extra...)
}

func (it *itest) start(name string, extra ...string) *proc {
	it.t.Helper()
	return startProc(it.t, name, it.env(extra...))
}

// publish sends a job with its id as message-id, as the webui does.
func (it *itest) publish(m job.Message) {
	it.t.Helper()
	if err := it.q.Publish(ctxT(it.t, 15*time.Second), queue.Message{ID: m.ID, Body: m.Encode()}); err != nil {
		it.t.Fatalf("publish: %v", err)
	}
}

// publishPlain sends a body the way the old webui did: a plain AMQP client,
// no message-id.
func (it *itest) publishPlain(body string) {
	it.t.Helper()
	ch := testenv.AMQPChannel(it.t, it.rabbit)
	defer ch.Close()
	if err := ch.PublishWithContext(ctxT(it.t, 10*time.Second), "", it.opts.Name,
		false, // mandatory
		false, // immediate
		amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: []byte(body)}); err != nil {
		it.t.Fatal(err)
	}
}

// objects lists the bucket by key.
func (it *itest) objects() map[string]store.Object {
	it.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	objs, err := it.st.List(ctx, "")
	if err != nil {
		it.t.Fatalf("list: %v", err)
	}
	out := map[string]store.Object{}
	for _, o := range objs {
		out[o.Key] = o
	}
	return out
}

// metadata reads the JSON of job id.
func (it *itest) metadata(id string) map[string]any {
	it.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, _, err := it.st.Get(ctx, store.MetadataKey(id))
	if err != nil {
		it.t.Fatalf("get metadata of %s: %v", id, err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil {
		it.t.Fatalf("metadata of %s: %v", id, err)
	}
	return meta
}

// waitEntries waits until n complete entries (metadata JSONs) are stored
// and returns their ids.
func (it *itest) waitEntries(n int) []string {
	it.t.Helper()
	var ids []string
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		objs, err := it.st.List(ctx, "") // errors are retried: MinIO may be down on purpose
		cancel()
		ids = ids[:0]
		for _, o := range objs {
			if kind, id, _ := store.ParseKey(o.Key); kind == store.Metadata {
				ids = append(ids, id)
			}
		}
		if err == nil && len(ids) >= n {
			return ids
		}
		time.Sleep(50 * time.Millisecond)
	}
	it.t.Fatalf("want %d complete entries, have %d", n, len(ids))
	return nil
}

// waitLen polls a queue length until it equals want.
func (it *itest) waitLen(what string, count func(context.Context) (int, error), want int) {
	it.t.Helper()
	var n int
	var err error
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, err = count(ctx)
		cancel()
		if err == nil && n == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	it.t.Fatalf("%s: want %d, have %d (err %v)", what, want, n, err)
}

// runs is how many times the fake CLI started.
func (it *itest) runs() []argvLine { return readArgv(it.t, it.argv) }

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
