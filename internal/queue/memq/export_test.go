package memq

import (
	"slices"

	"github.com/sdkeda/sdkeda/internal/queue"
)

// PublishFailures stores m at the tail with a failure count set as is, as a
// message from another publisher could carry (RabbitMQ's x-sd-failures).
func (q *Queue) PublishFailures(m queue.Message, failures int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ready = append(q.ready, &message{id: m.ID, body: slices.Clone(m.Body), failures: failures})
	q.broadcast()
}
