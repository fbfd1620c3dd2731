package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/memq"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/worker"
)

type fixture struct {
	t     *testing.T
	cfg   config.WebUI
	parts *Parts
	ctx   context.Context
}

// setup starts the embedded parts on a directory of the test's own, with
// env as the environment; they stop when the test ends.
func setup(t *testing.T, env map[string]string, opts ...Option) *fixture {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if env["DATA_DIR"] == "" {
		env["DATA_DIR"] = t.TempDir()
	}
	cfg, err := config.LoadWebUI(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	parts, err := Start(ctx, cfg, testLogger(), append([]Option{WithGetenv(func(k string) string { return env[k] })}, opts...)...)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := parts.Wait(); err != nil {
			t.Errorf("wait: %v", err)
		}
		parts.Queue.Close()
	})
	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(tcancel)
	return &fixture{t: t, cfg: cfg, parts: parts, ctx: tctx}
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func (f *fixture) publish(id, prompt string, count int) {
	f.t.Helper()
	body, _ := json.Marshal(job.Message{ID: id, Prompt: prompt, Count: count})
	if err := f.parts.Queue.Publish(f.ctx, queue.Message{ID: id, Body: body}); err != nil {
		f.t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the test's deadline passes.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	for !cond() {
		select {
		case <-f.ctx.Done():
			f.t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// metadata waits for the metadata JSON of id (the worker writes it last).
func (f *fixture) metadata(id string) map[string]any {
	f.t.Helper()
	f.waitFor(id+".json", func() bool {
		for _, d := range f.parts.Queue.(*memq.Queue).DeadLetters() {
			if d.Message.ID == id {
				f.t.Fatalf("job %s dead-lettered: %s", id, d.Reason)
			}
		}
		_, err := f.parts.Store.Stat(f.ctx, store.MetadataKey(id))
		return err == nil
	})
	rc, _, err := f.parts.Store.Get(f.ctx, store.MetadataKey(id))
	if err != nil {
		f.t.Fatal(err)
	}
	defer rc.Close()
	var meta map[string]any
	if err := json.NewDecoder(rc).Decode(&meta); err != nil {
		f.t.Fatal(err)
	}
	return meta
}

func TestPlaceholderJobEndToEnd(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	if f.parts.Generator != "placeholder" {
		t.Errorf("generator: %q", f.parts.Generator)
	}
	for _, want := range []string{"placeholder", filepath.Join(f.cfg.DataDir, "images"), "AMQP_URL", "MINIO_ENDPOINT",
		"make run-services", "http://127.0.0.1:3000"} { // LISTEN_ADDR defaults to loopback in the embedded mode
		if !strings.Contains(f.parts.Banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, f.parts.Banner)
		}
	}
	events, err := f.parts.Queue.SubscribeStatus(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := job.NewID()
	f.publish(id, "green dog", 2)
	meta := f.metadata(id)
	if meta[worker.FieldGenerator] != "placeholder" || meta[worker.FieldJobID] != id {
		t.Errorf("metadata: generator %v, job id %v", meta[worker.FieldGenerator], meta[worker.FieldJobID])
	}
	for n := 1; n <= 2; n++ {
		rc, o, err := f.parts.Store.Get(f.ctx, store.ImageKey(id, n))
		if err != nil {
			t.Fatalf("image %d: %v", n, err)
		}
		head := make([]byte, 8)
		io.ReadFull(rc, head)
		rc.Close()
		if o.ContentType != store.TypePNG || string(head) != "\x89PNG\r\n\x1a\n" {
			t.Errorf("image %d: type %s, head %q", n, o.ContentType, head)
		}
	}
	done := false
	for e := range events {
		if done = e.ID == id && e.State == job.Done; done {
			break
		}
	}
	if !done {
		t.Error("no done event")
	}
	f.waitFor("an empty queue", func() bool { n, _ := f.parts.Queue.Len(f.ctx); return n == 0 })
}

// panicky panics on the prompt "boom" and draws a placeholder otherwise.
type panicky struct {
	worker.Placeholder
	booms atomic.Int32
}

func (p *panicky) Generate(ctx context.Context, m job.Message, dir string) (worker.Result, error) {
	if m.Prompt == "boom" {
		p.booms.Add(1)
		panic("generator exploded")
	}
	return p.Placeholder.Generate(ctx, m, dir)
}

// A job whose generator panics is retried, then dead-lettered at
// MAX_FAILURES with the panic as its reason; the jobs after it are done.
func TestWorkerPanicLosesNothing(t *testing.T) {
	t.Parallel()
	gen := &panicky{}
	f := setup(t, map[string]string{"MAX_FAILURES": "2"}, WithGenerator(gen))
	q := f.parts.Queue.(*memq.Queue)
	boom, ok1, ok2 := job.NewID(), job.NewID(), job.NewID()
	f.publish(boom, "boom", 1)
	f.publish(ok1, "fine", 1)
	f.publish(ok2, "fine too", 1)
	f.metadata(ok1)
	f.metadata(ok2)
	f.waitFor("the dead letter", func() bool { return len(q.DeadLetters()) == 1 })
	dead := q.DeadLetters()[0]
	if dead.Message.ID != boom || !strings.Contains(dead.Reason, "generator exploded") || dead.Failures != 2 {
		t.Errorf("dead letter: %+v", dead)
	}
	if n := gen.booms.Load(); n != 2 {
		t.Errorf("the panicking job ran %d times, want 2 (MAX_FAILURES)", n)
	}
	if n, _ := q.Len(f.ctx); n != 0 {
		t.Errorf("ready: %d", n)
	}
	if _, err := f.parts.Store.Stat(f.ctx, store.MetadataKey(boom)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed job has an entry: %v", err)
	}
}

// `make run` with FASTSDCPU_DIR: the embedded worker takes the warm
// generator (the model stays loaded between jobs), through the one chooser
// of the worker package; GENERATOR picks another, and asking for fastsdcpu
// without a checkout is an error, never a silent placeholder.
func TestGeneratorChoice(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed (the stand-in fastsdcpu needs it)")
	}
	checkout := t.TempDir()
	if err := os.CopyFS(checkout, os.DirFS(filepath.Join("..", "..", "worker", "testdata", "fastsdcpu"))); err != nil {
		t.Fatal(err)
	}
	f := setup(t, map[string]string{"FASTSDCPU_DIR": checkout, "PYTHON": python})
	if f.parts.Generator != "fastsdcpu-warm" || !strings.Contains(f.parts.Banner, "fastsdcpu-warm (in "+checkout) {
		t.Errorf("with a checkout: generator %q, banner:\n%s", f.parts.Generator, f.parts.Banner)
	}
	id := job.NewID()
	f.publish(id, "a lighthouse", 1)
	if meta := f.metadata(id); meta[worker.FieldGenerator] != "fastsdcpu-warm" || meta["lcm_model_id"] != "stabilityai/sd-turbo" {
		t.Errorf("metadata: %v", meta)
	}

	f = setup(t, map[string]string{"FASTSDCPU_DIR": checkout, "PYTHON": python, "GENERATOR": "fastsdcpu"})
	if f.parts.Generator != "fastsdcpu" {
		t.Errorf("GENERATOR=fastsdcpu: %q", f.parts.Generator)
	}
	cfg, err := config.LoadWebUI(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	getenv := func(k string) string {
		return map[string]string{"GENERATOR": "fastsdcpu-warm", "FASTSDCPU_DIR": t.TempDir()}[k]
	}
	if _, err := Start(context.Background(), cfg, testLogger(), WithGetenv(getenv)); err == nil ||
		!strings.Contains(err.Error(), "not a fastsdcpu checkout") {
		t.Errorf("warm asked without a checkout: %v", err)
	}
}

// A worker that crashes outside a job (a panic that escapes Run) is
// restarted, and the delivery it held goes back to the queue, as when a
// worker pod dies.
func TestSupervisorReturnsTheDeliveryOfACrashedWorker(t *testing.T) {
	t.Parallel()
	q := memq.New(queue.Options{})
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q.Publish(ctx, queue.Message{ID: "a", Body: []byte(`{"prompt":"a"}`)})
	s := &supervisor{q: q, log: testLogger()}
	runs := 0
	err := s.run(ctx, func(ctx context.Context) error {
		runs++
		c, err := s.consume(ctx)
		if err != nil {
			return err
		}
		d, err := c.Next(ctx)
		if err != nil {
			return err
		}
		if runs == 1 {
			panic("worker bug")
		}
		if d.ID() != "a" || d.Returns() != 1 {
			t.Errorf("after the crash: message %q with %d returns, want a with 1", d.ID(), d.Returns())
		}
		if err := d.Ack(ctx); err != nil {
			t.Error(err)
		}
		cancel() // the program stops
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("run: %v after %d runs", err, runs)
	}
	if n, _ := q.Len(context.Background()); n != 0 {
		t.Errorf("ready: %d", n)
	}
}

func TestWebURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		":3000": "http://localhost:3000", "0.0.0.0:80": "http://localhost:80",
		"127.0.0.1:3000": "http://127.0.0.1:3000", "[::1]:3000": "http://[::1]:3000",
	} {
		if got := webURL(addr); got != want {
			t.Errorf("%s: got %s, want %s", addr, got, want)
		}
	}
}
