package embedded

import (
	"fmt"
	"net"
	"strings"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// banner tells a person, in a few lines at start, what runs, where the
// images are, and how to move to the real services.
func banner(cfg config.WebUI, o queue.Options, imagesDir, generator, why string) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("Embedded mode (AMQP_URL is unset): queue, store and worker all run in this process.")
	line("  web UI     %s", webURL(cfg.ListenAddr))
	line("  queue      in memory: %q, delivery limit %d, %d failures before dead-lettering; jobs still queued are forgotten at exit",
		o.Name, o.DeliveryLimit, o.MaxFailures)
	line("  images     %s (the bucket's layout: copy files in or delete them and the gallery follows)", imagesDir)
	line("  generator  %s (%s)", generator, why)
	line("To use RabbitMQ and MinIO instead: set AMQP_URL, MINIO_ENDPOINT, MINIO_ACCESS_KEY and MINIO_SECRET_KEY")
	line("(and MINIO_BUCKET, MINIO_SECURE if needed) and run cmd/worker beside the webui,")
	line("or run `make run-services` to start both services on loopback with the programs against them.")
	return b.String()
}

// webURL is the address a person opens for LISTEN_ADDR.
func webURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
