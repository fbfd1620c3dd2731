#!/usr/bin/env bash
# Run the webui from source against the RabbitMQ and MinIO of the cluster in
# the current kubectl context (make run-webui-dev). Port-forwards both to
# loopback, reads the credentials from the cluster's Secrets, and stops the
# port-forwards when the webui exits.
set -euo pipefail

ns="${1:-stable-diff}"
kubectl_() { kubectl -n "$ns" "$@"; }
secret() { kubectl_ get secret "$1" -o "jsonpath={.data.$2}" | base64 -d; }

user="$(secret rabbitmq-cluster-default-user username)"
pass="$(secret rabbitmq-cluster-default-user password)"
minio_user="$(secret minio rootUser)"
minio_pass="$(secret minio rootPassword)"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
kubectl_ port-forward svc/rabbitmq-cluster 5672:5672 >/dev/null & pids+=($!)
kubectl_ port-forward svc/minio 9000:9000 >/dev/null & pids+=($!)
sleep 2

# The shared settings come from the same ConfigMap as in the cluster.
while IFS='=' read -r k v; do export "$k=$v"; done < <(
  kubectl_ get configmap stable-diffusion -o go-template='{{range $k, $v := .data}}{{$k}}={{$v}}{{"\n"}}{{end}}')

export AMQP_URL="amqp://$user:$pass@localhost:5672/"
export MINIO_ENDPOINT="localhost:9000"
export MINIO_ACCESS_KEY="$minio_user"
export MINIO_SECRET_KEY="$minio_pass"
export LOG_FORMAT=text
echo "webui on http://localhost:3000 (Ctrl-C stops it and the port-forwards)"
go run ./cmd/webui
