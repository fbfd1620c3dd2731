package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRabbitNodeLoss is deploy/rabbitmq-ha on loopback: a three-node
// RabbitMQ cluster (testenv.StartRabbitCluster: own node names, ports and
// data directories, quorum_cluster_size 3) behind a stand-in for its
// Kubernetes Service, with the webui and three looping workers (the fake
// fastsdcpu CLI, 400 ms a job) connected through it. While jobs are both
// queued and running, the node that leads the queue `tasks` is killed with
// SIGKILL; submissions go on, each retried as the webui's 503 asks ("try
// again") while the queue elects a new leader. Every accepted job must end
// with exactly one complete entry in the bucket: lost 0, doubled 0. A job
// whose worker lost its connection runs again onto its own keys (a rerun).
func TestRabbitNodeLoss(t *testing.T) {
	s := newStack(t, options{Generator: "fastsdcpu", DelayMS: 400, RabbitNodes: 3})
	c := s.cluster
	leader, members, err := c.QueueNodes(queueName)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 3 {
		t.Fatalf("queue %s has replicas on nodes %v, want all three", queueName, members)
	}
	s.addWorkers(3)

	cl := newClient(s.base, 4)
	want := map[string]spec{}
	submit := func(label string, n int) {
		cx, cancel := ctx(2 * time.Minute)
		defer cancel()
		subs, _ := cl.submitAll(cx, specs(n, 2, label), 4)
		for id, sp := range accepted(subs) {
			want[id] = sp
		}
		if got := len(accepted(subs)); got != n {
			t.Errorf("%s: %d of %d submissions accepted: %v (%s)", label, got, n, statuses(subs), reasons(subs))
		}
	}
	submit("before the node loss", 36)

	// Kill the leader while the queue holds both kinds of job.
	ready, unacked, err := waitBacklog(s, leader, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killing node %d (%s), the leader of %s, with %d jobs queued and %d running", leader, c.Nodes[leader].Node, queueName, ready, unacked)
	c.Kill(leader)

	refused := 0
	for i, sp := range specs(12, 2, "after the node loss") {
		deadline := time.Now().Add(90 * time.Second)
		for {
			cx, cancel := ctx(30 * time.Second)
			sub := cl.submit(cx, sp)
			cancel()
			if sub.ID != "" {
				want[sub.ID] = sp
				break
			}
			refused++
			if time.Now().After(deadline) {
				t.Fatalf("submission %d after the node loss still refused after 90 s: %d %q %v", i, sub.Status, sub.Reason, sub.Err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	t.Logf("after the kill: 12 submissions accepted, %d refusals (503, try again) on the way", refused)
	next, err := c.WaitQueueLeader(queueName, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if next == leader {
		t.Fatalf("the killed node %d still leads %s", leader, queueName)
	}
	if missing := s.waitComplete(want, 3*time.Minute); missing > 0 {
		t.Logf("%d jobs still incomplete after 3 minutes", missing)
	}
	s.stopWorkers()
	tl, _, err := s.audit(want)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new leader: node %d; bucket: %d accepted, %d complete, %d reruns onto their own keys", next, tl.Accepted, tl.Completed, tl.Reruns)
	if tl.Lost != 0 || tl.Doubled != 0 || tl.Unexpected != 0 || tl.Completed != len(want) {
		t.Errorf("after losing a RabbitMQ node: %+v", tl)
	}
}

// waitBacklog waits until queue tasks has jobs both ready (queued) and
// unacknowledged (running), asking a node other than avoid.
func waitBacklog(s *stack, avoid int, within time.Duration) (ready, unacked int, err error) {
	ask := (avoid + 1) % len(s.cluster.Nodes)
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		out, e := s.cluster.Ctl(ask, "list_queues", "--quiet", "--no-table-headers", "name", "messages_ready", "messages_unacknowledged")
		if e != nil {
			err = fmt.Errorf("list_queues: %w\n%s", e, out)
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == queueName {
				ready, _ = strconv.Atoi(f[1])
				unacked, _ = strconv.Atoi(f[2])
			}
		}
		if ready > 0 && unacked > 0 {
			return ready, unacked, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ready, unacked, fmt.Errorf("queue %s never held queued and running jobs at once within %s (ready %d, unacked %d, %v)", queueName, within, ready, unacked, err)
}
