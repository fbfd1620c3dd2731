// Package stacktest is the one whole-stack test harness of the product: the
// real RabbitMQ and MinIO (from internal/testenv) with a queue and a bucket
// of the test's own, the environment both programs read, the programs built
// once per test binary and run as processes (their output in a log, killed
// with the test binary), the stand-in fastsdcpu, and the waits, JSON
// fetches and log tails that the web, cmd, worker and e2e tests share.
//
// A test that needs the programs in process (web.Run, worker.Run) takes the
// same environment through Getenv.
package stacktest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

// Services are the RabbitMQ and MinIO a test runs against, and its own queue
// and bucket on them.
type Services struct {
	Rabbit *testenv.Rabbit
	MinIO  *testenv.Minio
	Queue  string
	Bucket string
}

// Shared is the test binary's shared RabbitMQ and MinIO (started once; the
// package's TestMain calls testenv.Main) with a queue and a bucket of the
// test's own.
func Shared(t testing.TB) *Services {
	t.Helper()
	return &Services{Rabbit: testenv.RabbitMQ(t), MinIO: testenv.MinIO(t),
		Queue: testenv.UniqueName("tasks"), Bucket: testenv.UniqueName("images")}
}

// Own starts a RabbitMQ and a MinIO for this test alone, stopped when it
// ends: for tests that restart or stop them, or that measure. The queue
// and bucket have the programs' default names.
func Own(t testing.TB) *Services {
	t.Helper()
	return &Services{Rabbit: testenv.StartRabbitMQ(t), MinIO: testenv.StartMinIO(t),
		Queue: "tasks", Bucket: "images"}
}

// Env is the environment both programs read to run on s (docs/design.md
// §2.4), as NAME=value; extra entries come last, so they win.
func (s *Services) Env(extra ...string) []string {
	env := []string{
		"AMQP_URL=" + s.Rabbit.URL,
		"QUEUE_NAME=" + s.Queue,
		"MINIO_ENDPOINT=" + s.MinIO.Endpoint,
		"MINIO_ACCESS_KEY=" + s.MinIO.AccessKey,
		"MINIO_SECRET_KEY=" + s.MinIO.SecretKey,
		"MINIO_BUCKET=" + s.Bucket,
		"MINIO_SECURE=false",
	}
	return append(env, extra...)
}

// Getenv turns NAME=value entries into a getenv for a program's Run; a
// later entry wins, a missing name is "".
func Getenv(env []string) func(string) string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// Listen is a LISTEN_ADDR on a free loopback port, and the base URL a
// client reaches it at.
func Listen(t testing.TB) (env, base string) {
	t.Helper()
	port := testenv.FreePort(t)
	return fmt.Sprintf("LISTEN_ADDR=127.0.0.1:%d", port), fmt.Sprintf("http://127.0.0.1:%d", port)
}
