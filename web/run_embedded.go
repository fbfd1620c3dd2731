package web

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/sdkeda/sdkeda/internal/config"
)

// openEmbedded starts the in-process queue, store and worker.
func openEmbedded(ctx context.Context, cfg config.WebUI, log *slog.Logger, stdout io.Writer) (*parts, error) {
	return nil, errors.New("webui: AMQP_URL is unset, which selects the embedded mode, not built yet: set AMQP_URL and MINIO_ENDPOINT")
}
