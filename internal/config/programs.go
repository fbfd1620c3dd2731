package config

import (
	"fmt"
	"strings"
	"time"
)

// WebUI is the configuration of cmd/webui.
type WebUI struct {
	Common
	Clients                      // TRUSTED_PROXIES, ALLOWED_HOSTS, MAX_SSE_STREAMS(_PER_CLIENT)
	ListenAddr     string        // LISTEN_ADDR: 127.0.0.1:3000 in the embedded mode, else :3000
	MaxQueueLength int           // MAX_QUEUE_LENGTH: 503 above it
	RateLimit      int           // RATE_LIMIT: submissions per minute per client; 0 = off
	NSFWWords      []string      // NSFW_WORDS: comma-separated; "-" = none
	ResyncInterval time.Duration // RESYNC_INTERVAL: full relisting of the bucket
	DataDir        string        // DATA_DIR: embedded mode's store and state

	described string
}

// Embedded reports whether the webui runs the embedded queue, store and worker.
func (c WebUI) Embedded() bool { return c.AMQPURL == "" }

// String is the effective configuration, secrets redacted.
func (c WebUI) String() string { return c.described }

// LoadWebUI reads the webui's configuration; the error lists every wrong variable.
func LoadWebUI(getenv func(string) string) (WebUI, error) {
	r := newReader(getenv)
	c := WebUI{
		Common:         r.common(true),
		MaxQueueLength: r.integer("MAX_QUEUE_LENGTH", 500, 1, 10000000),
		RateLimit:      r.integer("RATE_LIMIT", 30, 0, 1000000),
		ResyncInterval: r.duration("RESYNC_INTERVAL", 5*time.Minute, time.Second, 24*time.Hour),
		DataDir:        r.str("DATA_DIR", "./data"),
	}
	c.ListenAddr, c.Clients = r.listenAddr(c.Embedded()), r.clients(c.Embedded())
	c.NSFWWords = words(r.str("NSFW_WORDS", ""), DefaultNSFWWords)
	r.note("NSFW_WORDS", fmt.Sprintf("%d words", len(c.NSFWWords)))
	if c.Embedded() != (c.MinioEndpoint == "") {
		if c.Embedded() {
			r.fail("AMQP_URL", "is unset (embedded mode) but MINIO_ENDPOINT is set: set both for RabbitMQ and MinIO, or neither for the embedded mode")
		} else {
			r.fail("MINIO_ENDPOINT", "is required with AMQP_URL: host:port of MinIO, such as minio:9000")
		}
	}
	c.described = r.describe()
	return c, r.err()
}

// Worker is the configuration of cmd/worker.
type Worker struct {
	Common
	Generator                      // GENERATOR, FASTSDCPU_DIR, PYTHON, DEVICE, ...
	ExitAfterOneTask bool          // EXIT_AFTER_ONE_TASK
	MaxJobsPerPod    int           // MAX_JOBS_PER_POD: one-shot mode takes up to this many jobs that wait
	EmptyQueueWait   time.Duration // EMPTY_QUEUE_WAIT: one-shot mode exits 0 after it
	ShutdownGrace    time.Duration // SHUTDOWN_GRACE: a running job may finish this long after SIGTERM
	MetricsAddr      string        // METRICS_ADDR; "off" disables the port
	WorkerName       string        // WORKER_NAME: defaults to the hostname

	described string
}

// String is the effective configuration, secrets redacted.
func (c Worker) String() string { return c.described }

// LoadWorker reads the worker's configuration; the error lists every wrong
// variable. GENERATOR defaults to fastsdcpu: a worker never falls back to
// the placeholder on its own.
func LoadWorker(getenv func(string) string) (Worker, error) {
	r := newReader(getenv)
	common := r.common(false)
	c := r.worker(GeneratorCLI)
	c.Common = common
	c.described = r.describe()
	return c, r.err()
}

// DefaultNSFWWords is the server-side stop list, matched as whole words
// without regard to case. It holds the old page's list (which matched
// substrings, so its plural and -ing forms are spelled out here) plus a few
// common additions.
var DefaultNSFWWords = []string{
	// the old page's words
	"boob", "boobs", "tits", "vagina", "vaginas", "penis", "penises", "dick", "dicks",
	"cock", "cocks", "trump", "naked", "nude", "nudes", "fuck", "fucking", "fucked",
	"coitus", "sex", "sexy", "shit", "blood", "bloody", "murder", "murdered", "dead",
	// additions
	"nsfw", "porn", "topless", "nipple", "nipples", "genital", "genitals", "erotic",
	"hentai", "xxx", "breasts", "lingerie", "underwear", "gore", "corpse",
}

// words parses a comma-separated list: empty gives def, "-" gives none.
func words(v string, def []string) []string {
	if v == "" {
		return def
	}
	if v == "-" {
		return nil
	}
	var out []string
	for _, w := range strings.Split(v, ",") {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
			out = append(out, w)
		}
	}
	return out
}
