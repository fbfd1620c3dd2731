// Package store is the image store of docs/design.md §2.3: the bucket `images` with
// `<id>-<n>.png` and `<id>.json` per job, derived objects under their own
// prefix. One interface, two implementations: MinIO or any S3 (package
// store/s3store) and a directory (package store/fsstore) for the embedded mode,
// checked by one contract suite (package store/storetest).
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned by Get, Stat and Delete implementations for a
// missing key (Delete of a missing key is not an error).
var ErrNotFound = errors.New("store: object not found")

// Object describes one stored object.
type Object struct {
	Key         string
	Size        int64
	ETag        string // quoted or not, as the backend gives it; compare with SameETag
	Modified    time.Time
	ContentType string
}

// Op is the kind of a change.
type Op int

// The kinds of change a watch reports.
const (
	Put Op = iota + 1
	Removed
)

func (o Op) String() string {
	switch o {
	case Put:
		return "put"
	case Removed:
		return "removed"
	}
	return "unknown"
}

// Change is one object added, overwritten or removed, by anyone.
type Change struct {
	Op     Op
	Object Object // for Removed only Key is set
}

// Store is what the programs need from the bucket.
type Store interface {
	// Put stores r under key; size may be -1 when unknown.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens key for reading; the caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	Stat(ctx context.Context, key string) (Object, error)
	// List returns every object whose key starts with prefix, in key order.
	List(ctx context.Context, prefix string) ([]Object, error)
	Delete(ctx context.Context, key string) error
	// Watch reports changes made by anyone after it returns, until ctx ends
	// (then the channel is closed). Notifications can be lost (a restart of
	// the server); consumers resync with List from time to time.
	Watch(ctx context.Context) (<-chan Change, error)
	// Ping checks that the store is reachable now (readiness).
	Ping(ctx context.Context) error
}

// Content types of the layout.
const (
	TypePNG  = "image/png"
	TypeJSON = "application/json"
	TypeJPEG = "image/jpeg"
)
