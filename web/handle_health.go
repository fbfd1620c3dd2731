package web

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"
)

// healthz handles GET /healthz: the process answers. Nothing else is
// checked, so a broker outage never gets the pod restarted.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz handles GET /readyz: 200 when the queue and the store answer and
// the gallery index is filled, else 503 naming what is not ready.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	status := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	names := make([]string, 0, len(s.Ready))
	for name := range s.Ready {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		wg.Go(func() {
			res := "ok"
			if err := s.Ready[name].Ping(ctx); err != nil {
				res = err.Error()
			}
			mu.Lock()
			status[name] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	status["gallery"] = "ok"
	if s.Gallery == nil || !s.Gallery.Ready() {
		status["gallery"] = "still loading the bucket listing"
	}
	code := http.StatusOK
	for _, v := range status {
		if v != "ok" {
			code = http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, status)
}
