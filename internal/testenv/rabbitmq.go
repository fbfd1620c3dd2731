package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Rabbit is a RabbitMQ node for tests.
type Rabbit struct {
	URL  string // amqp://guest:guest@127.0.0.1:PORT/
	Node string // its Erlang node name, for rabbitmqctl -n
	// ManagementURL is http://guest:guest@127.0.0.1:PORT/ on a node started by
	// StartRabbitMQManagement (the HTTP API), else empty.
	ManagementURL string

	mu       sync.Mutex
	p        *proc
	bin      string
	dir      string
	port     int
	mgmt     int // management API port, 0 without the plugin
	env      []string
	external bool
}

const rabbitBin = "/usr/lib/rabbitmq/bin/rabbitmq-server"

// RabbitMQ returns the shared node of this test binary: AMQP_URL when set,
// else one started on first use. Tests use their own queue names on it.
func RabbitMQ(t testing.TB) *Rabbit {
	t.Helper()
	Short(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if err := sharedErr["rabbitmq"]; err != nil {
		failOrSkip(t, "rabbitmq", err)
	}
	if sharedRabbit != nil {
		return sharedRabbit
	}
	if u := os.Getenv("AMQP_URL"); u != "" {
		sharedRabbit = &Rabbit{URL: u, external: true}
		return sharedRabbit
	}
	r, err := newRabbit()
	if err != nil {
		sharedErr["rabbitmq"] = err
		failOrSkip(t, "rabbitmq", err)
	}
	sharedRabbit = r
	sharedStops = append(sharedStops, r.cleanup)
	return r
}

// StartRabbitMQ starts a node that belongs to this test alone, so the test
// may stop and restart it; it is removed when the test ends.
func StartRabbitMQ(t testing.TB) *Rabbit {
	t.Helper()
	return startRabbit(t, nodeOptions{})
}

// StartRabbitMQManagement is StartRabbitMQ with the management plugin on a
// loopback port of its own (ManagementURL): the HTTP API that tools such as
// KEDA's rabbitmq scaler (protocol http) read queue lengths from.
func StartRabbitMQManagement(t testing.TB) *Rabbit {
	t.Helper()
	return startRabbit(t, nodeOptions{management: true})
}

func startRabbit(t testing.TB, o nodeOptions) *Rabbit {
	t.Helper()
	Short(t)
	r, err := newRabbitNode(o)
	if err != nil {
		failOrSkip(t, "rabbitmq", err)
	}
	t.Cleanup(r.cleanup)
	return r
}

func newRabbit() (*Rabbit, error) { return newRabbitNode(nodeOptions{}) }

// nodeOptions are what a node of a cluster needs beyond a lone node.
type nodeOptions struct {
	home     string // HOME: where the shared Erlang cookie is ($HOME/.erlang.cookie)
	conf     string // more rabbitmq.conf lines
	advanced string // advanced.config (Erlang terms)
	// management enables the management plugin (HTTP API) on a loopback port.
	management bool
}

func newRabbitNode(o nodeOptions) (*Rabbit, error) {
	// The Debian wrapper on PATH switches to the rabbitmq user, who cannot
	// write our temp dir: run the real script as ourselves.
	bin := lookBin(rabbitBin)
	if bin == "" {
		bin = lookBin("rabbitmq-server")
	}
	if bin == "" {
		return nil, fmt.Errorf("%w: rabbitmq-server (apt-get install rabbitmq-server)", errNotInstalled)
	}
	dir, err := os.MkdirTemp("", "sdkeda-rabbit-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dist, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("listeners.tcp.default = 127.0.0.1:%d\nloopback_users = none\n"+
		"log.console = true\nlog.console.level = warning\nlog.file = false\n", port) + o.conf
	plugins, mgmt := "[].\n", 0
	if o.management {
		if mgmt, err = freePort(); err != nil {
			return nil, err
		}
		// An explicit ip: the plugin's default listens on every interface.
		conf += fmt.Sprintf("management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = %d\n", mgmt)
		plugins = "[rabbitmq_management].\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "rabbitmq.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "mnesia"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte(plugins), 0o644); err != nil {
		return nil, err
	}
	node := fmt.Sprintf("sdtest-%d-%d@localhost", os.Getpid(), port)
	r := &Rabbit{
		URL:  fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port),
		Node: node,
		bin:  bin, dir: dir, port: port, mgmt: mgmt,
		env: []string{
			"RABBITMQ_NODENAME=" + node,
			fmt.Sprintf("RABBITMQ_NODE_PORT=%d", port),
			fmt.Sprintf("RABBITMQ_DIST_PORT=%d", dist),
			"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
			"RABBITMQ_MNESIA_BASE=" + filepath.Join(dir, "mnesia"),
			"RABBITMQ_LOG_BASE=" + filepath.Join(dir, "log"),
			"RABBITMQ_CONFIG_FILE=" + filepath.Join(dir, "rabbitmq"),
			"RABBITMQ_ENABLED_PLUGINS_FILE=" + filepath.Join(dir, "enabled_plugins"),
			"RABBITMQ_PID_FILE=" + filepath.Join(dir, "pid"),
			"ERL_CRASH_DUMP=" + filepath.Join(dir, "erl_crash.dump"),
		},
	}
	if mgmt != 0 {
		r.ManagementURL = fmt.Sprintf("http://guest:guest@127.0.0.1:%d/", mgmt)
	}
	if o.home != "" {
		r.env = append(r.env, "HOME="+o.home)
	}
	if o.advanced != "" {
		path := filepath.Join(dir, "advanced.config")
		if err := os.WriteFile(path, []byte(o.advanced), 0o644); err != nil {
			return nil, err
		}
		r.env = append(r.env, "RABBITMQ_ADVANCED_CONFIG_FILE="+path)
	}
	if err := r.Start(); err != nil {
		r.cleanup()
		return nil, err
	}
	return r, nil
}

// Start starts the node (again) on the same port and data directory: messages
// persisted before a Stop are there after Start.
func (r *Rabbit) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.external {
		return fmt.Errorf("cannot start an external RabbitMQ (AMQP_URL is set)")
	}
	if r.p != nil {
		return nil
	}
	p, err := startProc("rabbitmq", filepath.Join(r.dir, "server.log"), r.env, r.bin)
	if err != nil {
		return err
	}
	for _, port := range []int{r.port, r.mgmt} {
		if port == 0 {
			continue
		}
		if err := waitTCP(fmt.Sprintf("127.0.0.1:%d", port), 90*time.Second, p.exited); err != nil {
			p.stop(syscall.SIGKILL, time.Second)
			return fmt.Errorf("%w; log:\n%s", err, Tail(p.log, 20))
		}
	}
	r.p = p
	return nil
}

// Stop shuts the node down cleanly (SIGTERM), as an orchestrator would.
func (r *Rabbit) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.stop(syscall.SIGTERM, 60*time.Second)
	r.p = nil
}

// Kill ends the node at once (SIGKILL), as a crash would.
func (r *Rabbit) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.stop(syscall.SIGKILL, 10*time.Second)
	r.p = nil
}

// Restart stops the node cleanly and starts it again.
func (r *Rabbit) Restart(t testing.TB) {
	t.Helper()
	r.Stop()
	if err := r.Start(); err != nil {
		t.Fatalf("restart rabbitmq: %v", err)
	}
}

func (r *Rabbit) cleanup() {
	if r.external {
		return
	}
	r.Stop()
	if r.dir != "" {
		_ = os.RemoveAll(r.dir)
	}
}
