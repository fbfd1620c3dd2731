package worker

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

type phaseKey struct{}

// withPhases hands the generator a way to say that its job moved on to
// another phase (docs/design.md, job phases): the warm driver and the CLI
// tell when the pipeline is built and generation starts.
func withPhases(ctx context.Context, f func(job.Phase)) context.Context {
	return context.WithValue(ctx, phaseKey{}, f)
}

func reportPhase(ctx context.Context, p job.Phase) {
	if f, ok := ctx.Value(phaseKey{}).(func(job.Phase)); ok {
		f(p)
	}
}

// lineWatch passes output through to w and notes when a line starting with
// prefix is first written (fastsdcpu's "Pipeline : " after its init).
type lineWatch struct {
	prefix string
	w      *tail
	seen   func()

	mu   sync.Mutex
	line []byte // the start of the current line, up to len(prefix)
	when time.Time
}

func (l *lineWatch) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	fire := false
	for _, c := range p {
		if !l.when.IsZero() {
			break
		}
		if c == '\n' {
			l.line = l.line[:0]
			continue
		}
		if len(l.line) < len(l.prefix) {
			l.line = append(l.line, c)
			if len(l.line) == len(l.prefix) && bytes.Equal(l.line, []byte(l.prefix)) {
				l.when, fire = now, true
			}
		}
	}
	l.mu.Unlock()
	if fire && l.seen != nil {
		l.seen()
	}
	return l.w.Write(p)
}

// at is when the line was first seen, zero if never.
func (l *lineWatch) at() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.when
}
