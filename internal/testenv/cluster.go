package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RabbitCluster is a RabbitMQ cluster on this machine, as deploy/rabbitmq-ha
// runs one in Kubernetes: n nodes, each with its own node name, ports and
// data directory, sharing one Erlang cookie, joined with rabbitmqctl
// join_cluster, and quorum queues replicated on n nodes
// (quorum_cluster_size). URL reaches whichever node is up, as the cluster's
// Kubernetes Service does.
type RabbitCluster struct {
	Nodes []*Rabbit
	URL   string // amqp://guest:guest@127.0.0.1:PORT/ of the Service

	ctl  string
	home string
	svc  *Service
}

const rabbitCtl = "/usr/lib/rabbitmq/bin/rabbitmqctl"

// StartRabbitCluster starts a cluster of n nodes that belongs to this test;
// it is removed when the test ends.
func StartRabbitCluster(t testing.TB, n int) *RabbitCluster {
	t.Helper()
	Short(t)
	ctl := lookBin(rabbitCtl)
	if lookBin(rabbitBin) == "" || ctl == "" {
		Unavailable(t, "rabbitmq-server and rabbitmqctl are not installed (apt-get install rabbitmq-server)")
	}
	home := t.TempDir()
	// The nodes and rabbitmqctl find each other's cookie in $HOME.
	if err := os.WriteFile(filepath.Join(home, ".erlang.cookie"), []byte(UniqueName("cookie")), 0o400); err != nil {
		t.Fatal(err)
	}
	c := &RabbitCluster{ctl: ctl, home: home}
	opts := nodeOptions{
		home: home,
		// As the cluster operator configures it: the minority side of a
		// partition stops instead of diverging.
		conf:     "cluster_partition_handling = pause_minority\n",
		advanced: fmt.Sprintf("[{rabbit, [{quorum_cluster_size, %d}]}].\n", n),
	}
	for i := range n {
		r, err := newRabbitNode(opts)
		if err != nil {
			c.cleanup()
			failOrSkip(t, "rabbitmq", fmt.Errorf("cluster node %d: %w", i, err))
		}
		c.Nodes = append(c.Nodes, r)
		if i == 0 {
			continue
		}
		for _, args := range [][]string{{"stop_app"}, {"join_cluster", c.Nodes[0].Node}, {"start_app"}} {
			if out, err := c.Ctl(i, args...); err != nil {
				c.cleanup()
				t.Fatalf("rabbitmqctl -n %s %s: %v\n%s", r.Node, strings.Join(args, " "), err, out)
			}
		}
	}
	t.Cleanup(c.cleanup)
	var backends []string
	for _, r := range c.Nodes {
		backends = append(backends, fmt.Sprintf("127.0.0.1:%d", r.port))
	}
	svc, err := StartService(backends)
	if err != nil {
		t.Fatalf("rabbitmq cluster service: %v", err)
	}
	c.svc = svc
	c.URL = fmt.Sprintf("amqp://guest:guest@%s/", svc.Addr)
	if out, err := c.Ctl(0, "await_online_nodes", fmt.Sprint(n)); err != nil {
		t.Fatalf("the cluster did not reach %d nodes: %v\n%s", n, err, out)
	}
	return c
}

// Front is the cluster as one broker at URL, for code that takes a *Rabbit:
// it cannot be stopped or restarted through it (kill nodes with Kill).
func (c *RabbitCluster) Front() *Rabbit { return &Rabbit{URL: c.URL, external: true} }

// Ctl runs rabbitmqctl against node i (a running node of the cluster).
func (c *RabbitCluster) Ctl(i int, args ...string) (string, error) {
	cmd := exec.Command(c.ctl, append([]string{"-n", c.Nodes[i].Node, "--timeout", "60"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+c.home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Running is the index of a node that runs, or -1.
func (c *RabbitCluster) Running() int {
	for i, r := range c.Nodes {
		r.mu.Lock()
		up := r.p != nil
		r.mu.Unlock()
		if up {
			return i
		}
	}
	return -1
}

// QueueNodes returns the leader and the members of quorum queue name, as
// indexes of c.Nodes, asking a running node.
func (c *RabbitCluster) QueueNodes(name string) (leader int, members []int, err error) {
	i := c.Running()
	if i < 0 {
		return -1, nil, fmt.Errorf("no node runs")
	}
	out, err := c.Ctl(i, "list_queues", "--quiet", "--no-table-headers", "name", "leader", "members")
	if err != nil {
		return -1, nil, fmt.Errorf("list_queues: %w\n%s", err, out)
	}
	index := func(node string) int {
		for j, r := range c.Nodes {
			if r.Node == strings.Trim(node, "[]'\", ") {
				return j
			}
		}
		return -1
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(strings.ReplaceAll(line, ",", " "))
		if len(f) < 3 || f[0] != name {
			continue
		}
		leader = index(f[1])
		for _, m := range f[2:] {
			if j := index(m); j >= 0 {
				members = append(members, j)
			}
		}
		return leader, members, nil
	}
	return -1, nil, fmt.Errorf("queue %s not in list_queues:\n%s", name, out)
}

// Kill ends node i at once (SIGKILL), as a node failure would.
func (c *RabbitCluster) Kill(i int) { c.Nodes[i].Kill() }

// WaitQueueLeader waits until quorum queue name has a leader on a running node.
func (c *RabbitCluster) WaitQueueLeader(name string, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		leader, _, err := c.QueueNodes(name)
		if err == nil && leader >= 0 {
			c.Nodes[leader].mu.Lock()
			up := c.Nodes[leader].p != nil
			c.Nodes[leader].mu.Unlock()
			if up {
				return leader, nil
			}
		}
		last = err
		time.Sleep(500 * time.Millisecond)
	}
	return -1, fmt.Errorf("queue %s has no leader on a running node within %s (last: %v)", name, within, last)
}

func (c *RabbitCluster) cleanup() {
	if c.svc != nil {
		c.svc.Close()
	}
	for _, r := range c.Nodes {
		r.cleanup()
	}
}
