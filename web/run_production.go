package web

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/rabbitmq"
	"github.com/sdkeda/sdkeda/internal/store/s3store"
)

// openProduction connects to RabbitMQ (declaring the queue) and MinIO; both
// retry until ctx ends, so the webui may start before them.
func openProduction(ctx context.Context, cfg config.WebUI, log *slog.Logger) (*parts, error) {
	q, err := rabbitmq.Open(ctx, cfg.AMQPURL, queue.Options{
		Name: cfg.QueueName, DeliveryLimit: cfg.DeliveryLimit, MaxFailures: cfg.MaxFailures,
	}, log.With("component", "rabbitmq"))
	if err != nil {
		return nil, fmt.Errorf("webui: RabbitMQ at AMQP_URL: %w", err)
	}
	s, err := s3store.Open(ctx, s3store.Config{
		Endpoint: cfg.MinioEndpoint, AccessKey: cfg.MinioAccessKey, SecretKey: cfg.MinioSecretKey,
		Bucket: cfg.MinioBucket, Secure: cfg.MinioSecure,
	}, log.With("component", "s3store"))
	if err != nil {
		_ = q.Close()
		return nil, fmt.Errorf("webui: MinIO at MINIO_ENDPOINT: %w", err)
	}
	return &parts{queue: q, store: s, close: func() { _ = q.Close() }}, nil
}
