package deploy

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webuiDevKubectl is a kubectl for scripts/webui-dev.sh: it answers the
// Secrets (each value "<secret>-<key>") and the shared ConfigMap, and its
// port-forward listens on the local port asked for (none: any free one,
// as kubectl's ":REMOTE") and says so as kubectl does, or fails as kubectl
// does when that port is taken. FAKE_NO_LISTEN: say so without listening.
const webuiDevKubectl = `#!/usr/bin/env bash
set -euo pipefail
d=$FAKE_DIR
echo "$*" >>"$d/calls"
[ "$1 $2" = "-n $FAKE_NS" ] || { echo "fake kubectl: want -n $FAKE_NS first: $*" >&2; exit 1; }
shift 2
case "$1 $2 $3" in
"get secret rabbitmq-cluster-default-user" | "get secret minio")
	key=${5#jsonpath=\{.data.}; key=${key%\}}
	printf %s "$3-$key" | base64 -w0 ;;
"get configmap stable-diffusion") printf 'QUEUE_NAME=tasks\nMINIO_ENDPOINT=minio:9000\nWORKER_HEARTBEAT=15s\n' ;;
port-forward*)
	exec python3 -c '
import os, socket, sys, time
local, remote = sys.argv[1].split(":")
port = int(local or 0)
if not os.environ.get("FAKE_NO_LISTEN"):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError as e:
        print(f"Unable to listen on port {local}: {e}", file=sys.stderr)
        sys.exit(1)
    s.listen()
    port = s.getsockname()[1]
print(f"Forwarding from 127.0.0.1:{port} -> {remote}", flush=True)
parent = os.getppid()
while os.getppid() == parent:
    time.sleep(0.1)
time.sleep(3)  # left behind by the script: linger for the test to see it
' "$3" ;;
*) echo "fake kubectl: unexpected $*" >&2; exit 1 ;;
esac
`

// webuiDevGo stands in for "go run ./cmd/webui": it records the webui's
// environment and whether both forwarded ports accept connections.
const webuiDevGo = `#!/usr/bin/env bash
d=$FAKE_DIR
{
	echo "args=$*"
	env | grep -E '^(AMQP_URL|MINIO_ENDPOINT|MINIO_ACCESS_KEY|MINIO_SECRET_KEY|LISTEN_ADDR|QUEUE_NAME|WORKER_HEARTBEAT)=' | sort
	p=${AMQP_URL##*:}; p=${p%/}
	(: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null && echo amqp-listening
	(: <"/dev/tcp/127.0.0.1/${MINIO_ENDPOINT##*:}") 2>/dev/null && echo minio-listening
} >"$d/webui"
exit 0
`

type webuiDevRun struct {
	calls, webui, stderr string
	err                  error
}

// env returns the value of the webui's variable k ("" if unset).
func (r webuiDevRun) env(k string) string {
	for _, line := range strings.Split(r.webui, "\n") {
		if v, ok := strings.CutPrefix(line, k+"="); ok {
			return v
		}
	}
	return ""
}

func runWebuiDev(t *testing.T, env ...string) webuiDevRun {
	t.Helper()
	d := t.TempDir()
	for name, text := range map[string]string{"kubectl": webuiDevKubectl, "go": webuiDevGo} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("scripts", "webui-dev.sh"), "dev-ns")
	cmd.Env = append(os.Environ(), "PATH="+d+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKE_DIR="+d, "FAKE_NS=dev-ns", "LOCAL_AMQP_PORT=", "LOCAL_MINIO_PORT=", "LISTEN_ADDR=")
	cmd.Env = append(cmd.Env, env...)
	// A port-forward the script leaves running holds its standard error:
	// stop waiting for it (released reports it).
	cmd.WaitDelay = time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	calls, _ := os.ReadFile(filepath.Join(d, "calls"))
	webui, _ := os.ReadFile(filepath.Join(d, "webui"))
	return webuiDevRun{string(calls), string(webui), stderr.String(), err}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// released waits until nothing listens on port: the script stopped its
// port-forward. (The fake's port-forward outlives the script by 3s, then
// ends on its own.)
func released(t *testing.T, port string) {
	t.Helper()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			return
		}
		c.Close()
		if i == 10 {
			t.Errorf("port %s still listens after the script ended: a port-forward was left running", port)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The local ends of the port-forwards are the developer's choice, a local
// RabbitMQ or MinIO on the usual ports no conflict, and the webui is
// pointed at them.
func TestWebuiDevLocalPorts(t *testing.T) {
	const creds = "rabbitmq-cluster-default-user-username:rabbitmq-cluster-default-user-password"
	check := func(t *testing.T, r webuiDevRun, amqp, minio string, listening bool) {
		t.Helper()
		if r.err != nil {
			t.Fatalf("%v\n%s", r.err, r.stderr)
		}
		for _, want := range []string{"port-forward svc/rabbitmq-cluster " + amqp + ":5672", "port-forward svc/minio " + minio + ":9000"} {
			if !strings.Contains(r.calls, "-n dev-ns "+want+"\n") {
				t.Errorf("kubectl was not called with %q; calls:\n%s", want, r.calls)
			}
		}
		if amqp == "" { // kubectl picked them: the webui gets what it printed
			amqp, minio = strings.TrimSuffix(r.env("AMQP_URL")[strings.LastIndex(r.env("AMQP_URL"), ":")+1:], "/"), r.env("MINIO_ENDPOINT")[len("localhost:"):]
			if amqp == "0" || amqp == "" || minio == "0" || amqp == minio {
				t.Errorf("picked ports %q and %q", amqp, minio)
			}
		}
		want := map[string]string{
			"args": "run ./cmd/webui", "AMQP_URL": "amqp://" + creds + "@localhost:" + amqp + "/",
			"MINIO_ENDPOINT": "localhost:" + minio, "MINIO_ACCESS_KEY": "minio-rootUser", "MINIO_SECRET_KEY": "minio-rootPassword",
			"LISTEN_ADDR": ":3000", "QUEUE_NAME": "tasks", "WORKER_HEARTBEAT": "15s",
		}
		for k, v := range want {
			if got := r.env(k); got != v {
				t.Errorf("webui %s=%q, want %q", k, got, v)
			}
		}
		if listening {
			if !strings.Contains(r.webui, "amqp-listening\nminio-listening") {
				t.Errorf("the webui ran without both port-forwards listening:\n%s", r.webui)
			}
			released(t, amqp)
			released(t, minio)
		}
	}
	t.Run("defaults", func(t *testing.T) {
		check(t, runWebuiDev(t, "FAKE_NO_LISTEN=1"), "5672", "9000", false)
	})
	t.Run("chosen", func(t *testing.T) {
		amqp, minio := freePort(t), freePort(t)
		check(t, runWebuiDev(t, "LOCAL_AMQP_PORT="+amqp, "LOCAL_MINIO_PORT="+minio), amqp, minio, true)
	})
	t.Run("any free", func(t *testing.T) {
		check(t, runWebuiDev(t, "LOCAL_AMQP_PORT=0", "LOCAL_MINIO_PORT=0"), "", "", true)
	})
}

// A local port in use, or one that is no port: a clear error naming the
// variable, and no webui.
func TestWebuiDevRefusesABadLocalPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	for _, c := range []struct{ env, want string }{
		{"LOCAL_AMQP_PORT=" + takenPort, "set LOCAL_AMQP_PORT to another port"},
		{"LOCAL_MINIO_PORT=" + takenPort, "set LOCAL_MINIO_PORT to another port"},
		{"LOCAL_AMQP_PORT=amqp", `LOCAL_AMQP_PORT must be a port number (0: any free port), got "amqp"`},
		{"LOCAL_MINIO_PORT=65536", `LOCAL_MINIO_PORT must be a port number (0: any free port), got "65536"`},
	} {
		env := []string{c.env}
		if !strings.HasPrefix(c.env, "LOCAL_AMQP_PORT=") {
			env = append(env, "LOCAL_AMQP_PORT="+freePort(t))
		}
		r := runWebuiDev(t, env...)
		var exit *exec.ExitError
		if !errors.As(r.err, &exit) || !strings.Contains(r.stderr, c.want) || r.webui != "" {
			t.Errorf("%s: err %v, stderr %q, webui ran: %v; want a refusal saying %q", c.env, r.err, r.stderr, r.webui != "", c.want)
		}
	}
}
