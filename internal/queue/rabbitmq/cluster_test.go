package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// A three-node cluster (deploy/rabbitmq-ha on loopback: testenv's nodes with
// their own names, ports and data directories, quorum_cluster_size 3) loses
// the node that leads the work queue while jobs are queued and held by three
// consumers, all connected through a stand-in for the cluster's Service.
// Every job is still done: 0 lost, and never handed out twice as new
// (0 doubled); a job whose consumer's connection died comes back as a
// redelivery. Publishing goes on after the loss: a publish refused during the
// leader election is refused once, and the next one, on a renewed link,
// reaches the new leader.
func TestClusterKeepsJobsWhenANodeDies(t *testing.T) {
	t.Parallel()
	c := testenv.StartRabbitCluster(t, 3)
	f := setupOn(t, c.URL, queue.Options{Name: testenv.UniqueName("tasks")})
	const before, after = 30, 10
	for i := range before {
		f.publish(fmt.Sprintf("before-%02d", i), `{"prompt":"p"}`)
	}
	leader, members, err := c.QueueNodes(f.opts.Name)
	if err != nil || len(members) != 3 {
		t.Fatalf("queue replicas on nodes %v (leader %d), want all three: %v", members, leader, err)
	}

	var mu sync.Mutex
	acked := map[string]int{}  // runs that ended in an ack, by id
	firsts := map[string]int{} // deliveries with Returns() == 0, by id
	redelivered := 0
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for range 3 {
		cons := f.consumer()
		wg.Go(func() {
			for ctx.Err() == nil {
				d, err := cons.Next(ctx)
				if err != nil {
					continue
				}
				mu.Lock()
				if d.Returns() == 0 {
					firsts[d.ID()]++
				} else {
					redelivered++
				}
				mu.Unlock()
				time.Sleep(100 * time.Millisecond) // the job runs
				err = d.Ack(context.Background())
				switch {
				case err == nil:
					mu.Lock()
					acked[d.ID()]++
					mu.Unlock()
				case !errors.Is(err, queue.ErrStale):
					t.Errorf("ack %s: %v", d.ID(), err)
				}
			}
		})
	}
	waitFor(t, 30*time.Second, "a few jobs done", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 5
	})
	c.Kill(leader)

	refused := 0
	for i := range after {
		id := fmt.Sprintf("after-%02d", i)
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := f.q.Publish(ctxT(t, 10*time.Second), queue.Message{ID: id, Body: []byte(`{"prompt":"p"}`)})
			if err == nil {
				break
			}
			refused++
			if time.Now().After(deadline) {
				t.Fatalf("publish %s after the node loss: still refused after 30 s: %v", id, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor(t, 2*time.Minute, "every job done", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) == before+after
	})
	stop()
	wg.Wait()
	next, _, _ := c.QueueNodes(f.opts.Name)
	mu.Lock()
	defer mu.Unlock()
	lost, doubled := 0, 0
	for i := range before + after {
		id := fmt.Sprintf("before-%02d", i)
		if i >= before {
			id = fmt.Sprintf("after-%02d", i-before)
		}
		if acked[id] == 0 {
			lost++
		}
		if firsts[id] > 1 {
			doubled++
		}
	}
	t.Logf("killed node %d (leader), new leader %d; %d jobs, %d redeliveries, %d publishes refused during the election", leader, next, len(acked), redelivered, refused)
	if lost != 0 || doubled != 0 {
		t.Errorf("after losing the leader node: %d jobs lost, %d handed out twice as new", lost, doubled)
	}
	if next == leader || next < 0 {
		t.Errorf("the queue's leader is node %d after node %d was killed", next, leader)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
