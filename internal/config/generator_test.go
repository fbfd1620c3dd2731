package config

import (
	"strings"
	"testing"
)

// The generator's configuration needs no queue and no store: `worker
// generate` and the embedded worker read it (LoadLocalWorker) with nothing
// else set.
func TestGeneratorLoadsWithoutServices(t *testing.T) {
	t.Parallel()
	c, err := LoadLocalWorker(env("GENERATOR", "fastsdcpu-warm", "FASTSDCPU_DIR", "/src/fastsdcpu", "DEVICE", "cuda",
		"USE_SAFETY_CHECKER", "false", "JOB_TIMEOUT", "90"), "")
	if g := c.Generator; err != nil || g.Name != GeneratorWarm || g.FastSDCPUDir != "/src/fastsdcpu" || g.Device != "cuda" ||
		g.UseSafetyChecker || g.JobTimeout.Seconds() != 90 || g.Python != "python3" {
		t.Fatalf("got %+v, %v", c.Generator, err)
	}
	c, err = LoadLocalWorker(env(), "")
	if err != nil || c.Generator.Name != "" {
		t.Fatalf("unset GENERATOR: got %q, %v; want empty (choose)", c.Generator.Name, err)
	}
	if _, err := LoadLocalWorker(env("GENERATOR", "dalle", "JOB_TIMEOUT", "soon"), ""); err == nil ||
		!strings.Contains(err.Error(), "GENERATOR: want fastsdcpu, fastsdcpu-warm or placeholder") ||
		!strings.Contains(err.Error(), "JOB_TIMEOUT:") {
		t.Fatalf("got %v", err)
	}
}

func TestLocalWorkerNeedsNoServices(t *testing.T) {
	t.Parallel()
	c, err := LoadLocalWorker(env("SHUTDOWN_GRACE", "5s"), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Generator.Name != "" || c.ShutdownGrace.Seconds() != 5 || c.AMQPURL != "" {
		t.Fatalf("got %+v", c)
	}
	if strings.Contains(c.String(), "AMQP_URL") {
		t.Errorf("a local worker describes the queue's settings:\n%s", c)
	}
}
