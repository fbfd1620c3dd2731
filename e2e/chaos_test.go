package e2e

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// chaos runs the faults of one fault-suite run on a timeline and keeps a
// log of what it did and when.
type chaos struct {
	s     *stack
	start time.Time

	mu      sync.Mutex
	events  []string
	errs    []error
	kills   int
	rabbit  time.Duration // RabbitMQ down (stop to started again)
	minioOf time.Duration // MinIO down
	wg      sync.WaitGroup
}

// minioDown is how long MinIO stays stopped.
const minioDown = 10 * time.Second

// startChaos starts the faults over span: kill -9 of one or two random
// workers at 2 s and then every 3 s (once only when !long), one RabbitMQ
// restart at 30% of span, MinIO stopped for 10 s at 60%.
func startChaos(s *stack, seed uint64, span time.Duration, long bool) *chaos {
	ch := &chaos{s: s, start: time.Now()}
	ch.wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 1))
		for at := 2 * time.Second; at < span; at += 3 * time.Second {
			ch.sleepUntil(at)
			ch.killRandom(rng, 1+rng.IntN(2))
			if !long {
				return
			}
		}
	})
	ch.wg.Go(func() {
		ch.sleepUntil(span * 3 / 10)
		ch.note("RabbitMQ: stop (SIGTERM)")
		down := time.Now()
		s.rabbit.Stop()
		ch.note("RabbitMQ: stopped; starting again")
		err := s.rabbit.Start()
		ch.mu.Lock()
		ch.rabbit = time.Since(down)
		ch.mu.Unlock()
		ch.result("RabbitMQ: up again", err)
	})
	ch.wg.Go(func() {
		ch.sleepUntil(span * 6 / 10)
		ch.note("MinIO: stop (SIGTERM) for %s", minioDown)
		down := time.Now()
		s.minio.Stop()
		time.Sleep(minioDown)
		err := s.minio.Start()
		ch.mu.Lock()
		ch.minioOf = time.Since(down)
		ch.mu.Unlock()
		ch.result("MinIO: up again", err)
	})
	return ch
}

func (ch *chaos) sleepUntil(at time.Duration) { time.Sleep(time.Until(ch.start.Add(at))) }

// killRandom kills n distinct workers with SIGKILL; their pods restart them.
func (ch *chaos) killRandom(rng *rand.Rand, n int) {
	pods := ch.s.pods()
	rng.Shuffle(len(pods), func(i, j int) { pods[i], pods[j] = pods[j], pods[i] })
	for _, p := range pods[:min(n, len(pods))] {
		killed, err := p.kill9()
		switch {
		case err != nil:
			ch.result("kill -9 "+p.name, err)
		case killed:
			ch.mu.Lock()
			ch.kills++
			ch.mu.Unlock()
			ch.note("kill -9 %s", p.name)
		default:
			ch.note("kill -9 %s: not running (restarting), skipped", p.name)
		}
	}
}

func (ch *chaos) note(format string, args ...any) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.events = append(ch.events, fmt.Sprintf("%6.1f s  %s", time.Since(ch.start).Seconds(), fmt.Sprintf(format, args...)))
}

func (ch *chaos) result(what string, err error) {
	if err != nil {
		ch.mu.Lock()
		ch.errs = append(ch.errs, fmt.Errorf("%s: %w", what, err))
		ch.mu.Unlock()
		ch.note("%s: %v", what, err)
		return
	}
	ch.note("%s", what)
}

// wait waits for the last fault to be over.
func (ch *chaos) wait() {
	ch.wg.Wait()
}
