package fsstore

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/sdkeda/sdkeda/internal/store"
)

// quiet is how long a file must see no write before its Put is reported.
// fsnotify cannot report "closed after writing" portably, so a file is taken
// as complete once its writes pause: this store's own atomic renames are a
// single event, a `cp` from a shell a burst of writes. A write after a longer
// pause only causes a second Put, with the final size.
const quiet = 100 * time.Millisecond

// Watch reports changes under the directory, whoever makes them, until ctx
// ends. It watches the directory and every subdirectory, adding new ones as
// they appear. Events lost to an inotify overflow are not reported: callers
// resync with List, as the store.Store contract asks.
func (s *Store) Watch(ctx context.Context) (<-chan store.Change, error) {
	w, err := fsnotify.NewBufferedWatcher(256)
	if err != nil {
		return nil, fmt.Errorf("fsstore: watch: %w", err)
	}
	wt := &watch{s: s, w: w, dirs: map[string]bool{}, pending: map[string]time.Time{},
		out: make(chan store.Change, 64)}
	// Watches are in place before Watch returns: every later change is seen.
	if err := wt.addTree(s.dir, false); err != nil {
		w.Close()
		return nil, fmt.Errorf("fsstore: watch: %w", err)
	}
	go wt.run(ctx)
	return wt.out, nil
}

// watch is the state of one Watch, owned by its goroutine.
type watch struct {
	s       *Store
	w       *fsnotify.Watcher
	dirs    map[string]bool      // directories by path: true while watched, false once removed
	pending map[string]time.Time // key -> when to report its Put
	out     chan store.Change
}

func (wt *watch) run(ctx context.Context) {
	defer close(wt.out)
	defer wt.w.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case ev, ok := <-wt.w.Events:
			if !ok {
				return
			}
			if !wt.handle(ctx, ev) {
				return
			}
		case <-wt.w.Errors:
			// An overflow or a watch that failed: notifications are lost,
			// which the contract allows (consumers resync with List).
		case <-timer.C:
			if !wt.flush(ctx, time.Now()) {
				return
			}
		}
		// Re-arm for the earliest pending Put.
		if next, ok := wt.earliest(); ok {
			timer.Reset(time.Until(next))
		} else {
			timer.Stop()
		}
	}
}

// handle applies one event; false means ctx ended while sending.
func (wt *watch) handle(ctx context.Context, ev fsnotify.Event) bool {
	key := wt.s.key(ev.Name)
	if key == "" || key == "." || !validKey(key) {
		return true // the root itself, a temporary or hidden file
	}
	switch {
	case ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write):
		fi, err := os.Lstat(ev.Name)
		switch {
		case err != nil:
			// Already gone: its Remove event follows.
		case fi.IsDir():
			// A new subdirectory: watch it, and report what was written
			// in it before the watch was added.
			_ = wt.addTree(ev.Name, true)
		case fi.Mode().IsRegular():
			wt.pending[key] = time.Now().Add(quiet)
		}
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		delete(wt.pending, key)
		if _, isDir := wt.dirs[ev.Name]; isDir {
			// A directory removed or moved away (reported twice: by its
			// parent's watch and its own). Its files were reported one by
			// one (rm -r) or will be found by a resync (mv).
			_ = wt.w.Remove(ev.Name)
			wt.dirs[ev.Name] = false
			return true
		}
		return wt.send(ctx, store.Change{Op: store.Removed, Object: store.Object{Key: key}})
	}
	return true
}

// flush reports the Puts whose quiet period is over.
func (wt *watch) flush(ctx context.Context, now time.Time) bool {
	for key, at := range wt.pending {
		if at.After(now) {
			continue
		}
		delete(wt.pending, key)
		o, err := wt.s.Stat(ctx, key)
		if err != nil {
			continue // removed meanwhile: its Removed was or will be sent
		}
		if !wt.send(ctx, store.Change{Op: store.Put, Object: o}) {
			return false
		}
	}
	return true
}

func (wt *watch) earliest() (time.Time, bool) {
	var min time.Time
	for _, at := range wt.pending {
		if min.IsZero() || at.Before(min) {
			min = at
		}
	}
	return min, !min.IsZero()
}

func (wt *watch) send(ctx context.Context, c store.Change) bool {
	select {
	case wt.out <- c:
		return true
	case <-ctx.Done():
		return false
	}
}

// addTree watches dir and its visible subdirectories; with report, the files
// already there are queued as Puts (they were written before the watch).
func (wt *watch) addTree(dir string, report bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if wt.dirs[p] {
				return nil
			}
			if err := wt.w.Add(p); err != nil {
				return err
			}
			wt.dirs[p] = true
			return nil
		}
		if report && d.Type().IsRegular() {
			wt.pending[wt.s.key(p)] = time.Now().Add(quiet)
		}
		return nil
	})
}
