// Package s3store is the production store.Store on MinIO or any S3 API
// (minio-go). Changes by anyone are watched with MinIO's bucket notification
// stream (ListenBucketNotification), re-opened with backoff when it breaks.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sdkeda/sdkeda/internal/retry"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Config locates the bucket.
type Config struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
	Secure    bool
	// Transport carries the requests other than the notification stream;
	// nil is minio-go's default. Tests count LIST calls through it.
	Transport http.RoundTripper
}

// Store is the S3 implementation of store.Store.
type Store struct {
	c      *minio.Client
	listen *minio.Client // uncompressed: a gzip stream holds events back
	bucket string
	log    *slog.Logger
}

var _ store.Store = (*Store)(nil)

// Open connects and makes sure the bucket exists, retrying with backoff while
// ctx allows (MinIO may start after us in a cluster).
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    cfg.Secure,
		Transport: cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	tr, err := minio.DefaultTransport(cfg.Secure)
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	tr.DisableCompression = true
	listen, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    cfg.Secure,
		Transport: identityEncoding{tr},
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	s := &Store{c: c, listen: listen, bucket: cfg.Bucket, log: log}
	var last error
	err = retry.Do(ctx, retry.Connect, func() error {
		err := s.ensureBucket(ctx)
		if err != nil && permanent(err) {
			return backoff.Permanent(err)
		}
		last = err
		return err
	}, func(err error, wait time.Duration) {
		log.Warn("minio unreachable, retrying", "err", err, "retry_in", wait.Round(time.Millisecond))
	})
	switch {
	case err == nil:
		return s, nil
	case ctx.Err() != nil && last != nil:
		return nil, fmt.Errorf("s3store: %w (last error: %v)", ctx.Err(), last)
	}
	return nil, err
}

func (s *Store) ensureBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3store: bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		code := minio.ToErrorResponse(err).Code
		if code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			return nil
		}
		return fmt.Errorf("s3store: create bucket %s: %w", s.bucket, err)
	}
	s.log.Info("created bucket", "bucket", s.bucket)
	return nil
}

// identityEncoding asks for an uncompressed response. minio-go sets
// Accept-Encoding: gzip on every request, and a gzip-compressed notification
// stream holds events in the compressor until the stream ends.
// Accept-Encoding is not part of the request signature.
type identityEncoding struct{ rt http.RoundTripper }

func (t identityEncoding) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Encoding", "identity")
	return t.rt.RoundTrip(r)
}

func permanent(err error) bool {
	switch minio.ToErrorResponse(errors.Unwrap(err)).Code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidBucketName":
		return true
	}
	return false
}

// Put stores r under key.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	_, err := s.c.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("s3store: put %s: %w", key, err)
	}
	return nil
}

// Get opens key. The object is stat'ed first so a missing key is an error
// here, not at the first Read.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, store.Object{}, s.wrap("get", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, store.Object{}, s.wrap("get", key, err)
	}
	return obj, object(info), nil
}

// Stat describes key.
func (s *Store) Stat(ctx context.Context, key string) (store.Object, error) {
	info, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return store.Object{}, s.wrap("stat", key, err)
	}
	return object(info), nil
}

// List returns every object under prefix, in key order.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	var out []store.Object
	for info := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, fmt.Errorf("s3store: list %q: %w", prefix, info.Err)
		}
		out = append(out, object(info))
	}
	return out, nil
}

// Delete removes key; a missing key is not an error (S3 semantics).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.wrap("delete", key, err)
	}
	return nil
}

// Ping checks that the bucket answers.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3store: ping: %w", err)
	}
	if !ok {
		return fmt.Errorf("s3store: bucket %s does not exist", s.bucket)
	}
	return nil
}

func (s *Store) wrap(op, key string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NoSuchObject":
		return fmt.Errorf("s3store: %s %s: %w", op, key, store.ErrNotFound)
	}
	return fmt.Errorf("s3store: %s %s: %w", op, key, err)
}

func object(info minio.ObjectInfo) store.Object {
	return store.Object{Key: info.Key, Size: info.Size, ETag: info.ETag,
		Modified: info.LastModified, ContentType: info.ContentType}
}

// Watch streams changes by anyone through MinIO's bucket notification API.
// If the stream breaks it is re-opened with backoff; changes in the gap are
// lost, and so may be those made in the first moments after Watch returns,
// before the server registered the listener: readers resync with List.
//
// Note: the MinIO build pinned for the tests (DEVELOPMENT.GOGET of
// 2026-02-12) does not flush the notification stream, so events arrive in
// 4 KiB batches (about four events). Release builds flush each event. The
// gallery's periodic resync covers the delay either way.
func (s *Store) Watch(ctx context.Context) (<-chan store.Change, error) {
	if err := s.Ping(ctx); err != nil {
		return nil, fmt.Errorf("s3store: watch: %w", err)
	}
	out := make(chan store.Change, 256)
	go s.watch(ctx, out)
	return out, nil
}

// watch follows the notification stream until ctx ends, re-opening it with
// policy retry.Reopen whenever it ends.
func (s *Store) watch(ctx context.Context, out chan<- store.Change) {
	defer close(out)
	retry.Forever(ctx, retry.Reopen, func() bool { return s.listenOnce(ctx, out) }, nil)
}

// listenOnce forwards one notification stream's changes until it ends, and
// reports whether it delivered any.
func (s *Store) listenOnce(ctx context.Context, out chan<- store.Change) (delivered bool) {
	events := []string{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
	for info := range s.listen.ListenBucketNotification(ctx, s.bucket, "", "", events) {
		if info.Err != nil {
			if ctx.Err() == nil {
				s.log.Warn("s3store: notification stream broke", "err", info.Err)
			}
			break
		}
		delivered = true
		for _, r := range info.Records {
			key, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				key = r.S3.Object.Key
			}
			ch := store.Change{Op: store.Put, Object: store.Object{Key: key, Size: r.S3.Object.Size,
				ETag: r.S3.Object.ETag, ContentType: r.S3.Object.ContentType}}
			if t, err := time.Parse(time.RFC3339Nano, r.EventTime); err == nil {
				ch.Object.Modified = t
			}
			if strings.HasPrefix(r.EventName, "s3:ObjectRemoved") {
				ch = store.Change{Op: store.Removed, Object: store.Object{Key: key}}
			}
			select {
			case out <- ch:
			case <-ctx.Done():
				return delivered
			}
		}
	}
	return delivered
}
