// Package config reads the environment of both programs into typed structs,
// once, with defaults and validation in one place (docs/design.md §2.4). Every error
// names the variable and the form it expects; String prints the effective
// configuration with secrets redacted.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// Common is what both programs read.
type Common struct {
	// Limits bound every job (MAX_PROMPT_LENGTH, MAX_IMAGES, MAX_IMAGE_SIZE,
	// MAX_STEPS): the webui refuses what breaks them, a worker dead-letters
	// it. Set them alike in every program (deploy/ puts them in the shared
	// ConfigMap).
	Limits        job.Limits
	AMQPURL       string // AMQP_URL; empty in the webui means embedded mode
	QueueName     string // QUEUE_NAME
	DeliveryLimit int    // DELIVERY_LIMIT
	MaxFailures   int    // MAX_FAILURES
	// WorkerHeartbeat is how often a worker repeats its state on the status
	// exchange (WORKER_HEARTBEAT); the webui forgets a worker silent for 3
	// of them and gives back the job it held. Equal in every program.
	WorkerHeartbeat time.Duration
	MinioEndpoint   string // MINIO_ENDPOINT
	MinioAccessKey  string // MINIO_ACCESS_KEY
	MinioSecretKey  string // MINIO_SECRET_KEY
	MinioBucket     string // MINIO_BUCKET
	MinioSecure     bool   // MINIO_SECURE
	LogLevel        slog.Level
	LogFormat       string // LOG_FORMAT: json or text
}

// reader collects every error of one parse, so one start shows them all.
type reader struct {
	getenv func(string) string
	errs   []error
	seen   map[string]string // name -> effective value, for String
}

func newReader(getenv func(string) string) *reader {
	if getenv == nil {
		getenv = os.Getenv
	}
	return &reader{getenv: getenv, seen: map[string]string{}}
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) raw(name string) (string, bool) {
	v := strings.TrimSpace(r.getenv(name))
	return v, v != ""
}

// note records the effective value of name (set or default) for String.
func (r *reader) note(name string, v any) {
	r.seen[name] = fmt.Sprint(v)
}

func (r *reader) str(name, def string) string {
	v, ok := r.raw(name)
	if !ok {
		v = def
	}
	r.note(name, v)
	return v
}

func (r *reader) integer(name string, def, min, max int) int {
	n := def
	if v, ok := r.raw(name); ok {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < min || n > max {
			r.fail(name, "want a whole number from %d to %d, got %q", min, max, v)
			n = def
		}
	}
	r.note(name, n)
	return n
}

func (r *reader) boolean(name string, def bool) bool {
	b := def
	if v, ok := r.raw(name); ok {
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			b = true
		case "0", "false", "no", "off":
			b = false
		default:
			r.fail(name, "want true or false (or 1 or 0), got %q", v)
		}
	}
	r.note(name, b)
	return b
}

func (r *reader) duration(name string, def, min, max time.Duration) time.Duration {
	d := def
	if v, ok := r.raw(name); ok {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			// A bare number is seconds, as in Kubernetes manifests.
			if n, err2 := strconv.Atoi(v); err2 == nil {
				d, err = time.Duration(n)*time.Second, nil
			}
		}
		if err != nil || d < min || d > max {
			r.fail(name, "want a duration such as 30s or 10m, from %s to %s, got %q", min, max, v)
			d = def
		}
	}
	r.note(name, d)
	return d
}

func (r *reader) addr(name, def string) string {
	v := r.str(name, def)
	r.checkAddr(name, v)
	return v
}

func (r *reader) checkAddr(name, v string) {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		r.fail(name, "want host:port or :port, such as :3000, got %q", v)
	}
}

func (r *reader) err() error { return errors.Join(r.errs...) }

func (r *reader) common(embeddedOK bool) Common {
	c := Common{
		AMQPURL:         r.str("AMQP_URL", ""),
		QueueName:       r.str("QUEUE_NAME", "tasks"),
		Limits:          r.limits(),
		DeliveryLimit:   r.integer("DELIVERY_LIMIT", queue.DefaultDeliveryLimit, 1, 1000),
		MaxFailures:     r.integer("MAX_FAILURES", queue.DefaultMaxFailures, 1, 100),
		WorkerHeartbeat: r.duration("WORKER_HEARTBEAT", job.WorkerHeartbeat, 100*time.Millisecond, 5*time.Minute),
		MinioEndpoint:   r.str("MINIO_ENDPOINT", ""),
		MinioAccessKey:  r.str("MINIO_ACCESS_KEY", ""),
		MinioSecretKey:  r.str("MINIO_SECRET_KEY", ""),
		MinioBucket:     r.str("MINIO_BUCKET", "images"),
		MinioSecure:     r.boolean("MINIO_SECURE", false),
		LogFormat:       strings.ToLower(r.str("LOG_FORMAT", "json")),
	}
	if c.AMQPURL != "" {
		if u, err := url.Parse(c.AMQPURL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
			r.fail("AMQP_URL", "want amqp://user:password@host:5672/ (or amqps://), got %q", redactURL(c.AMQPURL))
		}
	} else if !embeddedOK {
		r.fail("AMQP_URL", "is required: the RabbitMQ URL, such as amqp://user:password@rabbitmq:5672/")
	}
	if !validQueueName(c.QueueName) {
		r.fail("QUEUE_NAME", "want 1 to 200 letters, digits, '.', '-' or '_', got %q", c.QueueName)
	}
	if c.MinioEndpoint != "" {
		if strings.Contains(c.MinioEndpoint, "://") {
			r.fail("MINIO_ENDPOINT", "want host:port without a scheme (set MINIO_SECURE=true for TLS), got %q", c.MinioEndpoint)
		}
		if c.MinioAccessKey == "" || c.MinioSecretKey == "" {
			r.fail("MINIO_ACCESS_KEY", "MINIO_ACCESS_KEY and MINIO_SECRET_KEY are required with MINIO_ENDPOINT")
		}
	} else if !embeddedOK {
		r.fail("MINIO_ENDPOINT", "is required: host:port of MinIO, such as minio:9000")
	}
	if n := len(c.MinioBucket); n < 3 || n > 63 || strings.ToLower(c.MinioBucket) != c.MinioBucket || strings.ContainsAny(c.MinioBucket, " _/") {
		r.fail("MINIO_BUCKET", "want an S3 bucket name (3 to 63 lowercase letters, digits, '.' or '-'), got %q", c.MinioBucket)
	}
	switch lvl := strings.ToLower(r.str("LOG_LEVEL", "info")); lvl {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		r.fail("LOG_LEVEL", "want debug, info, warn or error, got %q", lvl)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		r.fail("LOG_FORMAT", "want json or text, got %q", c.LogFormat)
	}
	return c
}

// limits reads the job limits; the defaults are the contract's own.
func (r *reader) limits() job.Limits {
	d := job.DefaultLimits
	l := job.Limits{
		MaxPromptLength: r.integer("MAX_PROMPT_LENGTH", d.MaxPromptLength, 10, 100000),
		MaxCount:        r.integer("MAX_IMAGES", d.MaxCount, 1, 16),
		MaxSide:         r.integer("MAX_IMAGE_SIZE", d.MaxSide, job.MinSide, 4096),
		MaxSteps:        r.integer("MAX_STEPS", d.MaxSteps, 1, 1000),
	}
	if l.MaxSide%8 != 0 {
		r.fail("MAX_IMAGE_SIZE", "want a multiple of 8 (pixels), got %d", l.MaxSide)
	}
	return l
}

func validQueueName(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// secret names are redacted by String.
var secret = map[string]bool{"MINIO_SECRET_KEY": true}

// describe prints name=value lines of the effective configuration, defaults
// included, secrets redacted.
func (r *reader) describe() string {
	names := make([]string, 0, len(r.seen))
	for n := range r.seen {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		v := r.seen[n]
		switch {
		case secret[n] && v != "":
			v = "<redacted>"
		case n == "AMQP_URL":
			v = redactURL(v)
		}
		fmt.Fprintf(&b, "%s=%s\n", n, v)
	}
	return b.String()
}

// redactURL hides the password of a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}

// Logger builds the program's logger from the common settings.
func (c Common) Logger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
