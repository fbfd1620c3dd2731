package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/web/embedded"
)

// openEmbedded starts the in-process queue, store and worker (AMQP_URL
// unset): the whole product in one process, for trying it out.
// The worker's metrics go to reg, the webui's /metrics.
func openEmbedded(ctx context.Context, cfg config.WebUI, log *slog.Logger, getenv func(string) string, stdout io.Writer, reg prometheus.Registerer) (*parts, error) {
	p, err := embedded.Start(ctx, cfg, log, embedded.WithGetenv(getenv), embedded.WithMetrics(reg))
	if err != nil {
		return nil, fmt.Errorf("webui: embedded mode: %w", err)
	}
	fmt.Fprintln(stdout, p.Banner)
	return &parts{queue: p.Queue, store: p.Store, generator: p.Generator, wait: p.Wait, close: func() { _ = p.Queue.Close() }}, nil
}
