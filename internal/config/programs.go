package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// WebUI is the configuration of cmd/webui.
type WebUI struct {
	Common
	ListenAddr     string        // LISTEN_ADDR
	MaxQueueLength int           // MAX_QUEUE_LENGTH: 503 above it
	RateLimit      int           // RATE_LIMIT: submissions per minute per client; 0 = off
	NSFWWords      []string      // NSFW_WORDS: comma-separated; "-" = none
	ResyncInterval time.Duration // RESYNC_INTERVAL: full relisting of the bucket
	DataDir        string        // DATA_DIR: embedded mode's store and state
	// Embedded mode only: the in-process worker's generator.
	Generator    string // GENERATOR
	FastSDCPUDir string // FASTSDCPU_DIR

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
		ListenAddr:     r.addr("LISTEN_ADDR", ":3000"),
		MaxQueueLength: r.integer("MAX_QUEUE_LENGTH", 500, 1, 10000000),
		RateLimit:      r.integer("RATE_LIMIT", 30, 0, 1000000),
		ResyncInterval: r.duration("RESYNC_INTERVAL", 5*time.Minute, time.Second, 24*time.Hour),
		DataDir:        r.str("DATA_DIR", "./data"),
		Generator:      r.str("GENERATOR", ""),
		FastSDCPUDir:   r.str("FASTSDCPU_DIR", ""),
	}
	c.NSFWWords = words(r.str("NSFW_WORDS", ""), DefaultNSFWWords)
	r.note("NSFW_WORDS", fmt.Sprintf("%d words", len(c.NSFWWords)))
	if c.Embedded() != (c.MinioEndpoint == "") {
		if c.Embedded() {
			r.fail("AMQP_URL", "is unset (embedded mode) but MINIO_ENDPOINT is set: set both for RabbitMQ and MinIO, or neither for the embedded mode")
		} else {
			r.fail("MINIO_ENDPOINT", "is required with AMQP_URL: host:port of MinIO, such as minio:9000")
		}
	}
	if c.Generator != "" && c.Generator != "fastsdcpu" && c.Generator != "placeholder" {
		r.fail("GENERATOR", "want fastsdcpu or placeholder, got %q", c.Generator)
	}
	c.described = r.describe()
	return c, r.err()
}

// Worker is the configuration of cmd/worker.
type Worker struct {
	Common
	ExitAfterOneTask bool          // EXIT_AFTER_ONE_TASK
	Generator        string        // GENERATOR: fastsdcpu or placeholder
	FastSDCPUDir     string        // FASTSDCPU_DIR
	Python           string        // PYTHON
	Device           string        // DEVICE, passed to fastsdcpu unchanged
	UseSafetyChecker bool          // USE_SAFETY_CHECKER
	LCMModelID       string        // LCM_MODEL_ID: empty = fastsdcpu's default
	JobTimeout       time.Duration // JOB_TIMEOUT
	EmptyQueueWait   time.Duration // EMPTY_QUEUE_WAIT: one-shot mode exits 0 after it
	ShutdownGrace    time.Duration // SHUTDOWN_GRACE: a running job may finish this long after SIGTERM
	MetricsAddr      string        // METRICS_ADDR; "off" disables the port
	WorkerName       string        // WORKER_NAME: defaults to the hostname

	described string
}

// String is the effective configuration, secrets redacted.
func (c Worker) String() string { return c.described }

// LoadWorker reads the worker's configuration; the error lists every wrong variable.
func LoadWorker(getenv func(string) string) (Worker, error) {
	r := newReader(getenv)
	host, _ := os.Hostname()
	c := Worker{
		Common:           r.common(false),
		ExitAfterOneTask: r.boolean("EXIT_AFTER_ONE_TASK", true),
		Generator:        r.str("GENERATOR", "fastsdcpu"),
		FastSDCPUDir:     r.str("FASTSDCPU_DIR", "/app"),
		Python:           r.str("PYTHON", "python3"),
		Device:           r.str("DEVICE", "cpu"),
		UseSafetyChecker: r.boolean("USE_SAFETY_CHECKER", true),
		LCMModelID:       r.str("LCM_MODEL_ID", ""),
		JobTimeout:       r.duration("JOB_TIMEOUT", 10*time.Minute, time.Second, 24*time.Hour),
		EmptyQueueWait:   r.duration("EMPTY_QUEUE_WAIT", 30*time.Second, 0, time.Hour),
		ShutdownGrace:    r.duration("SHUTDOWN_GRACE", 10*time.Minute, 0, 24*time.Hour),
		MetricsAddr:      r.str("METRICS_ADDR", ":8080"),
		WorkerName:       r.str("WORKER_NAME", host),
	}
	if c.Generator != "fastsdcpu" && c.Generator != "placeholder" {
		r.fail("GENERATOR", "want fastsdcpu or placeholder, got %q", c.Generator)
	}
	if c.MetricsAddr != "off" {
		r.checkAddr("METRICS_ADDR", c.MetricsAddr)
	}
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
