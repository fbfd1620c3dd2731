// Package fsstore is the store.Store of the embedded mode: a directory
// (./data/images) with the bucket's layout, keys mapped to paths ("thumbs/"
// is a subdirectory). It keeps the promises of the MinIO store, checked by the
// same contract suite (package store/storetest):
//
//   - Writes are atomic: a temporary file in the same directory, renamed over
//     the key when complete, so a reader never sees half a PNG. Temporary
//     files are hidden (their names start with a dot) from List and Watch.
//   - Watch reports changes made by anyone, this process or `cp` and `rm` in
//     a shell, through fsnotify.
package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

// ErrBadKey is returned by Put and Delete for a key that cannot name a file
// under the directory: empty, absolute, with "..", a backslash, an empty
// segment or a segment starting with a dot (those are hidden).
var ErrBadKey = errors.New("fsstore: invalid key")

// tempPrefix starts the names of files being written.
const tempPrefix = ".tmp-"

// Store is a directory holding the bucket's objects.
type Store struct {
	dir string
}

var _ store.Store = (*Store)(nil)

// Open uses dir as the store, creating it if needed, and removes the
// temporary files that a crash during a write left behind.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	s := &Store{dir: abs}
	s.removeStaleTemps(time.Hour)
	return s, nil
}

// Dir is the absolute directory of the store.
func (s *Store) Dir() string { return s.dir }

// Path is the file of key, or ErrBadKey.
func (s *Store) Path(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

func validKey(key string) bool {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\\x00") || strings.Contains(key, "..") {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}

// Put writes r to a temporary file beside the key's file, syncs it, and
// renames it over the key: readers see the old object or the new one, whole.
// The content type is not stored: it follows from the extension.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	p, err := s.Path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, err)
	}
	tmp := f.Name()
	err = func() error {
		n, err := io.Copy(f, ctxReader{ctx, r})
		if err != nil {
			return err
		}
		if size >= 0 && n != size {
			return fmt.Errorf("read %d bytes, want %d", n, size)
		}
		if err := f.Chmod(0o644); err != nil {
			return err
		}
		return f.Sync()
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fsstore: put %s: %w", key, err)
	}
	return nil
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get opens key. The Object describes the opened file itself, so it matches
// the content even if the key is overwritten meanwhile.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	p, err := s.Path(key)
	if err != nil {
		return nil, store.Object{}, fmt.Errorf("fsstore: get: %w (%w)", store.ErrNotFound, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, store.Object{}, s.wrap("get", key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, store.Object{}, s.wrap("get", key, err)
	}
	return f, object(key, fi), nil
}

// Stat describes key.
func (s *Store) Stat(ctx context.Context, key string) (store.Object, error) {
	p, err := s.Path(key)
	if err != nil {
		return store.Object{}, fmt.Errorf("fsstore: stat: %w (%w)", store.ErrNotFound, err)
	}
	fi, err := os.Stat(p)
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return store.Object{}, s.wrap("stat", key, err)
	}
	return object(key, fi), nil
}

// List walks the directory (from the deepest directory the prefix names)
// and returns the visible files whose key starts with prefix, in key order.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	root := s.dir
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if !validKey(prefix[:i]) {
			return nil, nil // no key can start with it
		}
		root = filepath.Join(s.dir, filepath.FromSlash(prefix[:i]))
	}
	var out []store.Object
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking, or no such prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil // temporary or foreign hidden file
		}
		if !d.Type().IsRegular() {
			return nil
		}
		key := s.key(p)
		if !strings.HasPrefix(key, prefix) || !validKey(key) {
			return nil // a name Get would refuse (such as "a..b.png") is not listed either
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed since the directory was read
		}
		out = append(out, object(key, fi))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fsstore: list %q: %w", prefix, err)
	}
	// A walk visits "thumbs/" before "thumbs-1.png"; keys sort otherwise.
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.Path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsstore: delete %s: %w", key, err)
	}
	return nil
}

// Ping checks that the directory is still there.
func (s *Store) Ping(ctx context.Context) error {
	fi, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("fsstore: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("fsstore: %s is not a directory", s.dir)
	}
	return nil
}

// key is the key of a path under the directory.
func (s *Store) key(p string) string {
	rel, err := filepath.Rel(s.dir, p)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

func (s *Store) wrap(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsstore: %s %s: %w", op, key, store.ErrNotFound)
	}
	return fmt.Errorf("fsstore: %s %s: %w", op, key, err)
}

func object(key string, fi fs.FileInfo) store.Object {
	return store.Object{
		Key:         key,
		Size:        fi.Size(),
		ETag:        etag(fi),
		Modified:    fi.ModTime(),
		ContentType: contentType(key),
	}
}

// contentType follows the extension, as MinIO does for `mc cp`.
func contentType(key string) string {
	switch ext := strings.ToLower(path.Ext(key)); ext {
	case ".png":
		return store.TypePNG
	case ".json":
		return store.TypeJSON
	case ".jpg", ".jpeg":
		return store.TypeJPEG
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
	}
	return "application/octet-stream"
}

// removeStaleTemps removes temporary files older than age, left by a crash.
func (s *Store) removeStaleTemps(age time.Duration) {
	_ = filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		if fi, err := d.Info(); err == nil && time.Since(fi.ModTime()) > age {
			os.Remove(p)
		}
		return nil
	})
}
