package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sdkeda/sdkeda/internal/stacktest"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// Names the programs use by default; each stack has servers of its own.
const (
	queueName  = "tasks"
	bucketName = "images"
)

// options shape a stack.
type options struct {
	// Generator is "placeholder" (a few ms, no process), "fastsdcpu" (the
	// stand-in CLI, a Python process per job, sleeping DelayMS per job and
	// ImageMS per image) or "fastsdcpu-warm" (the warm driver on the
	// stand-in, one Python process per worker).
	Generator string
	DelayMS   int
	ImageMS   int
	// MaxQueue is the webui's MAX_QUEUE_LENGTH (0: 100,000, no backpressure).
	MaxQueue int
	// RabbitNodes > 1: a RabbitMQ cluster of that many nodes behind a
	// loopback stand-in for its Service (s.cluster) instead of one node.
	RabbitNodes int
	// Env is more of both programs' environment (NAME=value), after the
	// stack's own.
	Env []string
}

// stack is the whole product on loopback: RabbitMQ, MinIO, one webui and
// any number of workers, each program a real process kept running by a pod.
type stack struct {
	t       testing.TB
	opts    options
	svc     *stacktest.Services
	cluster *testenv.RabbitCluster // with RabbitNodes > 1
	rabbit  *testenv.Rabbit
	minio   *testenv.Minio
	dir     string
	base    string // http://127.0.0.1:PORT of the webui
	webui   *pod
	s3      *minio.Client

	mu      sync.Mutex
	workers []*pod
	made    int // workers started so far, for their names
}

func newStack(t testing.TB, opts options) *stack {
	t.Helper()
	webuiBin, _ := binaries(t)
	if opts.Generator == "" {
		opts.Generator = "placeholder"
	}
	if strings.HasPrefix(opts.Generator, "fastsdcpu") {
		stacktest.Python(t)
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = 100000
	}
	s := &stack{t: t, opts: opts, dir: t.TempDir()}
	if opts.RabbitNodes > 1 {
		s.cluster = testenv.StartRabbitCluster(t, opts.RabbitNodes)
		s.svc = &stacktest.Services{Rabbit: s.cluster.Front(), MinIO: testenv.StartMinIO(t), Queue: queueName, Bucket: bucketName}
	} else {
		s.svc = stacktest.Own(t)
	}
	s.rabbit, s.minio = s.svc.Rabbit, s.svc.MinIO
	var err error
	s.s3, err = minio.New(s.minio.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(s.minio.AccessKey, s.minio.SecretKey, "")})
	if err != nil {
		t.Fatalf("minio client: %v", err)
	}
	listen, base := stacktest.Listen(t)
	s.base = base
	env := append(s.common(),
		listen,
		"RATE_LIMIT=0", // one client sends everything here
		"MAX_QUEUE_LENGTH="+strconv.Itoa(opts.MaxQueue),
	)
	s.webui = runPod(t, "webui", webuiBin, env, filepath.Join(s.dir, "webui.log"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- webui log (tail):\n%s", s.webui.tail(30))
		}
	})
	s.waitReady(90 * time.Second)
	return s
}

// common is the environment of both programs (docs/design.md §2.4).
func (s *stack) common() []string {
	return s.svc.Env(append([]string{"LOG_FORMAT=json", "LOG_LEVEL=info"}, s.opts.Env...)...)
}

// waitReady waits until the webui's /readyz says the queue and the store
// are reachable.
func (s *stack) waitReady(within time.Duration) {
	s.t.Helper()
	if !waitUntil(within, func() bool { return stacktest.GetJSON(s.base+"/readyz", nil) == http.StatusOK }) {
		s.t.Fatalf("webui not ready within %s; log:\n%s", within, s.webui.tail(30))
	}
}

// waitUntil polls cond until it holds or within passes; it reports which.
func waitUntil(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// addWorkers starts n more workers in loop mode, each with a fake
// fastsdcpu checkout of its own.
func (s *stack) addWorkers(n int) {
	s.t.Helper()
	_, workerBin := binaries(s.t)
	for range n {
		s.mu.Lock()
		s.made++
		name := fmt.Sprintf("w%02d", s.made)
		s.mu.Unlock()
		p := runPod(s.t, name, workerBin, s.workerEnv(name), filepath.Join(s.dir, name+".log"))
		s.t.Cleanup(func() {
			if s.t.Failed() {
				s.t.Logf("--- %s log (tail):\n%s", name, p.tail(15))
			}
		})
		s.mu.Lock()
		s.workers = append(s.workers, p)
		s.mu.Unlock()
	}
}

// workerEnv is the environment of a worker in loop mode named name, with a
// fake fastsdcpu checkout of its own (kept across its restarts).
func (s *stack) workerEnv(name string) []string {
	dir := filepath.Join(s.dir, name)
	if _, err := os.Stat(dir); err != nil {
		stacktest.FakeFastSDCPU(s.t, dir)
	}
	env := append(s.common(),
		"WORKER_NAME="+name,
		"GENERATOR="+s.opts.Generator,
		"FASTSDCPU_DIR="+dir,
		"FAKE_SD_DELAY_MS="+strconv.Itoa(s.opts.DelayMS),
		"FAKE_DELAY_MS="+strconv.Itoa(s.opts.ImageMS),
		"DEVICE=cpu",
		"EXIT_AFTER_ONE_TASK=0", // a Deployment's loop
		"JOB_TIMEOUT=2m",
		"SHUTDOWN_GRACE=10s",
		"METRICS_ADDR=off",
	)
	if strings.HasPrefix(s.opts.Generator, "fastsdcpu") {
		env = append(env, "PYTHON="+stacktest.Python(s.t))
	}
	return env
}

// stopWorkers stops every worker gracefully (a job in progress finishes).
func (s *stack) stopWorkers() {
	s.mu.Lock()
	ws := s.workers
	s.workers = nil
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { w.stop(30 * time.Second) })
	}
	wg.Wait()
}

// pods returns the running workers.
func (s *stack) pods() []*pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*pod(nil), s.workers...)
}

// ctx is a context for one call to the services.
func ctx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
