#!/usr/bin/env bash
# Run the webui from source against the RabbitMQ and MinIO of the cluster in
# the current kubectl context (make run-webui-dev). Port-forwards both to
# loopback, reads the credentials from the cluster's Secrets, and stops the
# port-forwards when the webui exits.
#
#   webui-dev.sh [NAMESPACE]      (default stable-diff)
#
# The local ends of the port-forwards, from the environment, so a RabbitMQ or
# MinIO of your own on the usual ports is no conflict:
#   LOCAL_AMQP_PORT   RabbitMQ's AMQP port (default 5672)
#   LOCAL_MINIO_PORT  MinIO's S3 port (default 9000)
# 0 lets kubectl pick a free port; the script reads it from kubectl's
# "Forwarding from" line. A port in use stops the script with kubectl's error.
# The webui itself listens on LISTEN_ADDR (default :3000).
set -euo pipefail

ns="${1:-stable-diff}"
amqp_port="${LOCAL_AMQP_PORT:-5672}"
minio_port="${LOCAL_MINIO_PORT:-9000}"
listen="${LISTEN_ADDR:-:3000}"
fail() { echo "webui-dev.sh: $*" >&2; exit 1; }
port_ok() { [[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 <= 65535)); }
port_ok "$amqp_port" || fail "LOCAL_AMQP_PORT must be a port number (0: any free port), got \"$amqp_port\""
port_ok "$minio_port" || fail "LOCAL_MINIO_PORT must be a port number (0: any free port), got \"$minio_port\""
kubectl_() { kubectl -n "$ns" "$@"; }
secret() { kubectl_ get secret "$1" -o "jsonpath={.data.$2}" | base64 -d; }

user="$(secret rabbitmq-cluster-default-user username)"
pass="$(secret rabbitmq-cluster-default-user password)"
minio_user="$(secret minio rootUser)"
minio_pass="$(secret minio rootPassword)"

pids=()
out="$(mktemp -d)"
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$out"' EXIT

# forward SERVICE LOCAL REMOTE VAR: starts a port-forward (LOCAL 0: any free
# port) and sets VAR to its local port once kubectl listens on it; stops the
# script if kubectl ends first (port in use, no such Service, ...).
forward() {
  local svc=$1 lport=$((10#$2)) remote=$3 var=$4 log="$out/$1" i line
  [ "$lport" != 0 ] || lport=""
  # kubectl itself in the background (not a function's subshell), so the
  # trap's kill reaches it.
  kubectl -n "$ns" port-forward "svc/$svc" "$lport:$remote" >"$log" & pids+=($!)
  for ((i = 0; i < 300; i++)); do
    line="$(grep -m1 -o 'Forwarding from 127\.0\.0\.1:[0-9]* ->' "$log" || true)"
    if [ -n "$line" ]; then
      line="${line% ->}"
      printf -v "$var" '%s' "${line##*:}"
      return
    fi
    kill -0 "${pids[-1]}" 2>/dev/null ||
      fail "kubectl port-forward svc/$svc ${lport:-(any)}:$remote ended (its error is above): if the local port is in use, set $var to another port, or 0 for any free one"
    sleep 0.1
  done
  fail "kubectl port-forward svc/$svc ${lport:-(any)}:$remote is not listening after 30s"
}
forward rabbitmq-cluster "$amqp_port" 5672 LOCAL_AMQP_PORT
forward minio "$minio_port" 9000 LOCAL_MINIO_PORT

# The shared settings come from the same ConfigMap as in the cluster.
# shellcheck disable=SC2016 # a go-template, not shell
while IFS='=' read -r k v; do export "$k=$v"; done < <(
  kubectl_ get configmap stable-diffusion -o go-template='{{range $k, $v := .data}}{{$k}}={{$v}}{{"\n"}}{{end}}')

export AMQP_URL="amqp://$user:$pass@localhost:$LOCAL_AMQP_PORT/"
export MINIO_ENDPOINT="localhost:$LOCAL_MINIO_PORT"
export MINIO_ACCESS_KEY="$minio_user"
export MINIO_SECRET_KEY="$minio_pass"
export LISTEN_ADDR="$listen"
export LOG_FORMAT=text
echo "webui on http://localhost:${listen##*:} (RabbitMQ on localhost:$LOCAL_AMQP_PORT, MinIO on localhost:$LOCAL_MINIO_PORT; Ctrl-C stops it and the port-forwards)"
go run ./cmd/webui
