package status

import (
	"slices"
	"sync"
)

// typicalOf is how many recent done jobs Typical looks at.
const typicalOf = 50

// recent keeps the durations of the last done jobs, for estimates.
type recent struct {
	mu   sync.Mutex
	ring []map[string]float64
	next int
}

func (r *recent) add(d map[string]float64) {
	if len(d) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ring) < typicalOf {
		r.ring = append(r.ring, d)
		return
	}
	r.ring[r.next] = d
	r.next = (r.next + 1) % typicalOf
}

// medians is the median of each phase over the recent jobs that report it.
func (r *recent) medians() map[string]float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	by := map[string][]float64{}
	for _, d := range r.ring {
		for k, v := range d {
			by[k] = append(by[k], v)
		}
	}
	out := make(map[string]float64, len(by))
	for k, vs := range by {
		slices.Sort(vs)
		n := len(vs)
		if n%2 == 1 {
			out[k] = vs[n/2]
		} else {
			out[k] = (vs[n/2-1] + vs[n/2]) / 2
		}
	}
	return out
}
