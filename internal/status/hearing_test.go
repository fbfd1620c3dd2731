package status

import (
	"context"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// fakeQueue publishes and subscribes nothing; it stands for a queue that
// takes the tracker's probes.
type fakeQueue struct{}

func (fakeQueue) SubscribeStatus(context.Context) (<-chan job.Event, error) { return nil, nil }
func (fakeQueue) Len(context.Context) (int, error)                          { return 0, nil }
func (fakeQueue) PublishStatus(context.Context, job.Event) error            { return nil }

// A tracker that hears nothing at all (its subscription is cut, not even its
// own probe comes back) takes nobody for lost: the workers may be fine. Once
// events flow again, a worker gets 3 heartbeats from then on.
func TestNobodyIsLostWhileTheTrackerHearsNothing(t *testing.T) {
	t.Parallel()
	f := newLostFixture(t, fakeQueue{}, Options{})
	probe := func() { f.tr.event(job.Event{Kind: job.KindProbe, At: f.now}) }
	f.queued(id1, id2)
	f.takes("w1", id1, 1, 0)
	f.takes("w2", id2, 1, 0)
	for range 3 { // w2 heard on time, w1 not: a dead worker among live ones
		f.after(15 * time.Second)
		probe()
		f.worker("w2", job.WorkerBusy, id2, 1, 0)
	}
	f.after(time.Second)
	f.tr.expireWorkers()
	f.want("w1 silent, others heard", id1, job.Queued, job.ReasonWorkerLost, 1)

	for range 40 { // 10 minutes of deafness
		f.after(15 * time.Second)
		f.tr.expireWorkers()
	}
	f.want("deaf", id2, job.Started, "", 1)
	probe()
	f.after(30 * time.Second) // the backlog's heartbeats may come a moment after the first event
	probe()
	f.tr.expireWorkers()
	f.want("heard again, 30 s", id2, job.Started, "", 1)
	f.after(15 * time.Second)
	probe()
	f.after(time.Second)
	f.tr.expireWorkers()
	f.want("heard again, 46 s without w2", id2, job.Queued, job.ReasonWorkerLost, 1)
}
