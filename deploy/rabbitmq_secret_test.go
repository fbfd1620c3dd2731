package deploy

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeKubectl is a kubectl for scripts/rabbitmq-secret.sh: it answers the
// operator's Secret from secret (as base64, the way jsonpath prints .data)
// and the Service's management port, and records what the script applies.
const fakeKubectl = `#!/usr/bin/env bash
set -euo pipefail
d=$FAKE_KUBECTL_DIR
echo "$*" >>"$d/calls"
case "$1 $2" in
"get secret")
	[ "$3 $4 $5" = "rabbitmq-cluster-default-user -n $FAKE_NS" ] || { echo "Error from server (NotFound): secrets \"$3\" not found" >&2; exit 1; }
	key=${7#jsonpath=\{.data.}; key=${key%\}}
	[ ! -f "$d/secret/$key" ] || base64 -w0 <"$d/secret/$key" ;;
"get service")
	[ "$3 $4 $5" = "rabbitmq-cluster -n $FAKE_NS" ] || { echo "Error from server (NotFound)" >&2; exit 1; }
	[ "$7" = 'jsonpath={.spec.ports[?(@.name=="management")].port}' ] || { echo "unexpected $7" >&2; exit 1; }
	cat "$d/management-port" ;;
"create secret")
	[ "$3 $4 $5 $6" = "generic stablediff-rabbitmq -n $FAKE_NS" ] || { echo "unexpected $*" >&2; exit 1; }
	for a in "$@"; do case $a in --from-literal=*) echo "${a#--from-literal=}" ;; esac; done ;;
"apply -f") cat >"$d/applied" ;;
*) echo "fake kubectl: unexpected $*" >&2; exit 1 ;;
esac
`

// deriveRabbitSecret runs scripts/rabbitmq-secret.sh in namespace ns against
// the operator's Secret operator and a Service whose management port is
// mgmtPort, and returns the stablediff-rabbitmq it applies (nil if none) and
// the script's error and standard error.
func deriveRabbitSecret(t testing.TB, ns string, operator map[string]string, mgmtPort string) (map[string]string, string, error) {
	t.Helper()
	d := t.TempDir()
	for name, data := range map[string]string{"kubectl": fakeKubectl, "management-port": mgmtPort} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(d, "secret"), 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range operator {
		if err := os.WriteFile(filepath.Join(d, "secret", k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", filepath.Join("scripts", "rabbitmq-secret.sh"), ns)
	cmd.Env = append(os.Environ(), "KUBECTL="+filepath.Join(d, "kubectl"), "FAKE_KUBECTL_DIR="+d, "FAKE_NS="+ns)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	applied, rerr := os.ReadFile(filepath.Join(d, "applied"))
	if rerr != nil {
		return nil, stderr.String(), err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(applied)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		out[k] = v
	}
	return out, stderr.String(), err
}

// operatorSecret is the Secret rabbitmq-cluster-default-user as the pinned
// operator (RABBITMQ_OPERATOR_VERSION, internal/resource/default_user_secret.go)
// writes it for a RabbitmqCluster without TLS, for host and port.
func operatorSecret(user, pass, host, port string) map[string]string {
	return map[string]string{
		"username": user, "password": pass, "host": host, "port": port,
		"provider": "rabbitmq", "type": "rabbitmq",
		"default_user.conf": "default_user = " + user + "\ndefault_pass = " + pass,
		"connection_string": "amqp://" + user + ":" + pass + "@" + host + ":" + port + "/",
	}
}

// deploy-rabbitmq derives stablediff-rabbitmq from the operator's Secret
// and Service: their ports, not the defaults written into a recipe.
func TestRabbitSecretComesFromTheOperators(t *testing.T) {
	const host = "rabbitmq-cluster.stable-diff.svc"
	user, pass := "default_user_"+base64.RawURLEncoding.EncodeToString([]byte("0123456789ab")), "p4ss-_word"
	for _, c := range []struct{ port, mgmt string }{{"5672", "15672"}, {"35672", "25672"}} {
		got, stderr, err := deriveRabbitSecret(t, namespace, operatorSecret(user, pass, host, c.port), c.mgmt)
		if err != nil {
			t.Fatalf("ports %s/%s: %v\n%s", c.port, c.mgmt, err, stderr)
		}
		want := map[string]string{
			"host":      "amqp://" + user + ":" + pass + "@" + host + ":" + c.port + "/",
			"http-host": "http://" + user + ":" + pass + "@" + host + ":" + c.mgmt + "/",
		}
		if len(got) != 2 || got["host"] != want["host"] || got["http-host"] != want["http-host"] {
			t.Errorf("ports %s/%s: stablediff-rabbitmq %v, want %v", c.port, c.mgmt, got, want)
		}
	}
	// Without a port, or a Service without a management port: a clear
	// error, nothing applied.
	noPort := operatorSecret(user, pass, host, "")
	delete(noPort, "port")
	for _, c := range []struct {
		secret     map[string]string
		mgmt, want string
	}{
		{noPort, "15672", "has no AMQP port"},
		{operatorSecret(user, pass, host, "5672"), "", "has no port named management"},
	} {
		got, stderr, err := deriveRabbitSecret(t, namespace, c.secret, c.mgmt)
		if err == nil || got != nil || !strings.Contains(stderr, c.want) {
			t.Errorf("applied %v, err %v, stderr %q; want a refusal saying %q", got, err, stderr, c.want)
		}
	}
}
