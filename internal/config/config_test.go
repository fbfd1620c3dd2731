package config

import (
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestWebUIDefaultsAreEmbedded(t *testing.T) {
	t.Parallel()
	c, err := LoadWebUI(env())
	if err != nil {
		t.Fatal(err)
	}
	if !c.Embedded() || c.ListenAddr != "127.0.0.1:3000" || c.QueueName != "tasks" || c.MinioBucket != "images" ||
		c.Limits != job.DefaultLimits || c.DeliveryLimit != 10 || c.MaxFailures != 3 || c.WorkerHeartbeat != 15*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
}

// Both programs read the job limits with the same code: what the webui
// accepts, a worker accepts.
func TestBothProgramsReadTheSameLimits(t *testing.T) {
	t.Parallel()
	limits := []string{"MAX_PROMPT_LENGTH", "20", "MAX_IMAGES", "8", "MAX_IMAGE_SIZE", "1536", "MAX_STEPS", "8"}
	w, err := LoadWebUI(env(limits...))
	if err != nil {
		t.Fatal(err)
	}
	k, err := LoadWorker(env(append(limits, "AMQP_URL", "amqp://u:p@rabbitmq:5672/", "MINIO_ENDPOINT", "minio:9000",
		"MINIO_ACCESS_KEY", "a", "MINIO_SECRET_KEY", "s")...))
	if err != nil {
		t.Fatal(err)
	}
	want := job.Limits{MaxPromptLength: 20, MaxCount: 8, MaxSide: 1536, MaxSteps: 8}
	if w.Limits != want || k.Limits != want {
		t.Fatalf("webui %+v, worker %+v, want %+v", w.Limits, k.Limits, want)
	}
	for _, s := range []string{"MAX_PROMPT_LENGTH=20", "MAX_IMAGES=8", "MAX_IMAGE_SIZE=1536", "MAX_STEPS=8"} {
		if !strings.Contains(w.String(), s) || !strings.Contains(k.String(), s) {
			t.Errorf("effective configuration lacks %s", s)
		}
	}
	_, err = LoadWorker(env("MAX_IMAGE_SIZE", "1001", "MAX_IMAGES", "17", "MAX_STEPS", "0"))
	for _, name := range []string{"MAX_IMAGE_SIZE", "MAX_IMAGES", "MAX_STEPS"} {
		if err == nil || !strings.Contains(err.Error(), name+":") {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func TestWorkerDefaultsMatchDesign(t *testing.T) {
	t.Parallel()
	c, err := LoadWorker(env("AMQP_URL", "amqp://u:p@rabbitmq:5672/", "MINIO_ENDPOINT", "minio:9000",
		"MINIO_ACCESS_KEY", "a", "MINIO_SECRET_KEY", "s"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExitAfterOneTask || c.Generator.Name != GeneratorCLI || c.FastSDCPUDir != "/app" || c.Device != "cpu" ||
		!c.UseSafetyChecker || c.EmptyQueueWait != 30*time.Second || c.MetricsAddr != ":8080" || c.MaxJobsPerPod != 1 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEveryErrorNamesItsVariable(t *testing.T) {
	t.Parallel()
	_, err := LoadWorker(env(
		"AMQP_URL", "http://rabbit",
		"MINIO_ENDPOINT", "http://minio:9000",
		"MINIO_BUCKET", "Bad_Bucket",
		"EXIT_AFTER_ONE_TASK", "maybe",
		"JOB_TIMEOUT", "forever",
		"DELIVERY_LIMIT", "0",
		"GENERATOR", "dalle",
		"LOG_LEVEL", "loud",
		"METRICS_ADDR", "8080",
		"MAX_JOBS_PER_POD", "0",
		"WORKER_HEARTBEAT", "10ms",
	))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"AMQP_URL", "MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_BUCKET",
		"EXIT_AFTER_ONE_TASK", "JOB_TIMEOUT", "DELIVERY_LIMIT", "GENERATOR", "LOG_LEVEL", "METRICS_ADDR", "MAX_JOBS_PER_POD", "WORKER_HEARTBEAT"} {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestWorkerNeedsTheServices(t *testing.T) {
	t.Parallel()
	_, err := LoadWorker(env())
	if err == nil || !strings.Contains(err.Error(), "AMQP_URL: is required") || !strings.Contains(err.Error(), "MINIO_ENDPOINT: is required") {
		t.Fatalf("got %v", err)
	}
}

func TestHalfConfiguredWebUIIsAnError(t *testing.T) {
	t.Parallel()
	if _, err := LoadWebUI(env("AMQP_URL", "amqp://rabbitmq/")); err == nil || !strings.Contains(err.Error(), "MINIO_ENDPOINT") {
		t.Fatalf("AMQP_URL alone: %v", err)
	}
	if _, err := LoadWebUI(env("MINIO_ENDPOINT", "minio:9000", "MINIO_ACCESS_KEY", "a", "MINIO_SECRET_KEY", "b")); err == nil || !strings.Contains(err.Error(), "AMQP_URL") {
		t.Fatalf("MINIO_ENDPOINT alone: %v", err)
	}
}

func TestStringRedactsSecrets(t *testing.T) {
	t.Parallel()
	c, err := LoadWebUI(env("AMQP_URL", "amqp://user:hunter2@rabbitmq:5672/", "MINIO_ENDPOINT", "minio:9000",
		"MINIO_ACCESS_KEY", "admin", "MINIO_SECRET_KEY", "s3cr3t-value"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if strings.Contains(s, "hunter2") || strings.Contains(s, "s3cr3t-value") {
		t.Fatalf("secret printed:\n%s", s)
	}
	if !strings.Contains(s, "QUEUE_NAME=tasks\n") || !strings.Contains(s, "RESYNC_INTERVAL=5m0s\n") {
		t.Errorf("defaults missing from the effective config:\n%s", s)
	}
	if !strings.Contains(s, "MINIO_ENDPOINT=minio:9000") || !strings.Contains(s, "AMQP_URL=amqp://user:xxxxx@rabbitmq:5672/") {
		t.Fatalf("effective config:\n%s", s)
	}
}

func TestDurationsAcceptSeconds(t *testing.T) {
	t.Parallel()
	c, err := LoadWorker(env("AMQP_URL", "amqp://r/", "MINIO_ENDPOINT", "m:9000", "MINIO_ACCESS_KEY", "a",
		"MINIO_SECRET_KEY", "s", "JOB_TIMEOUT", "90", "SHUTDOWN_GRACE", "2m"))
	if err != nil || c.JobTimeout != 90*time.Second || c.ShutdownGrace != 2*time.Minute {
		t.Fatalf("%v %v %v", c.JobTimeout, c.ShutdownGrace, err)
	}
}

func TestNSFWWords(t *testing.T) {
	t.Parallel()
	c, _ := LoadWebUI(env("NSFW_WORDS", " Foo, bar ,,"))
	if strings.Join(c.NSFWWords, "|") != "foo|bar" {
		t.Fatalf("got %q", c.NSFWWords)
	}
	c, _ = LoadWebUI(env("NSFW_WORDS", "-"))
	if len(c.NSFWWords) != 0 {
		t.Fatalf("'-' should turn the list off: %q", c.NSFWWords)
	}
	c, _ = LoadWebUI(env())
	if len(c.NSFWWords) == 0 {
		t.Fatal("no default list")
	}
}
