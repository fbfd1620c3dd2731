#!/usr/bin/env bash
# Runs the real parts without a cluster: RabbitMQ and MinIO on loopback (from
# the installed packages, data under .cache/services), one worker in loop mode
# and the webui on http://localhost:3000. Ctrl-C stops everything.
#   RABBIT_PORT (5673)  MINIO_PORT (9100)  WORKERS (1)  GENERATOR (placeholder)
set -euo pipefail
cd "$(dirname "$0")/.."

RABBIT_PORT="${RABBIT_PORT:-5673}"
MINIO_PORT="${MINIO_PORT:-9100}"
WORKERS="${WORKERS:-1}"
DIR="$PWD/.cache/services"
mkdir -p "$DIR/rabbitmq/mnesia" "$DIR/minio" bin
GOBIN="$(go env GOPATH)/bin"
MINIO_BIN="$(command -v minio || echo "$GOBIN/minio")"
RABBIT_BIN=/usr/lib/rabbitmq/bin/rabbitmq-server
[ -x "$RABBIT_BIN" ] && [ -x "$MINIO_BIN" ] || { echo "run-services: run 'make deps' first" >&2; exit 1; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

wait_port() { # name port
  for _ in $(seq 1 600); do (echo >"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0; sleep 0.1; done
  echo "run-services: $1 did not start on port $2 (logs in $DIR)" >&2; exit 1
}

printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$RABBIT_PORT" >"$DIR/rabbitmq/rabbitmq.conf"
echo '[].' >"$DIR/rabbitmq/enabled_plugins"
setsid env RABBITMQ_NODENAME="sdkeda-dev@localhost" RABBITMQ_NODE_PORT="$RABBIT_PORT" \
  RABBITMQ_DIST_PORT="$((RABBIT_PORT + 20000))" RABBITMQ_MNESIA_BASE="$DIR/rabbitmq/mnesia" \
  RABBITMQ_LOG_BASE="$DIR/rabbitmq/log" RABBITMQ_CONFIG_FILE="$DIR/rabbitmq/rabbitmq" \
  RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/rabbitmq/enabled_plugins" ERL_CRASH_DUMP="$DIR/rabbitmq/erl_crash.dump" \
  "$RABBIT_BIN" >"$DIR/rabbitmq.log" 2>&1 &
pids+=($!)
setsid env MINIO_ROOT_USER=sdkeda MINIO_ROOT_PASSWORD=sdkeda-dev-secret MINIO_BROWSER=off \
  "$MINIO_BIN" server --quiet --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$((MINIO_PORT + 1))" \
  "$DIR/minio" >"$DIR/minio.log" 2>&1 &
pids+=($!)
wait_port rabbitmq "$RABBIT_PORT"
wait_port minio "$MINIO_PORT"

CGO_ENABLED=0 go build -o bin/webui ./cmd/webui
CGO_ENABLED=0 go build -o bin/worker ./cmd/worker
export AMQP_URL="amqp://guest:guest@127.0.0.1:$RABBIT_PORT/"
export MINIO_ENDPOINT="127.0.0.1:$MINIO_PORT" MINIO_ACCESS_KEY=sdkeda MINIO_SECRET_KEY=sdkeda-dev-secret
export LOG_FORMAT="${LOG_FORMAT:-text}"
for i in $(seq 1 "$WORKERS"); do
  setsid env EXIT_AFTER_ONE_TASK=0 GENERATOR="${GENERATOR:-placeholder}" WORKER_NAME="worker-$i" \
    METRICS_ADDR="127.0.0.1:$((8080 + i))" bin/worker &
  pids+=($!)
done
echo "run-services: RabbitMQ on 127.0.0.1:$RABBIT_PORT, MinIO on 127.0.0.1:$MINIO_PORT, $WORKERS worker(s); open http://localhost:3000"
# Loopback only and localhost's name only, as `make run`: a page elsewhere
# cannot reach this webui through DNS rebinding (README: ALLOWED_HOSTS).
setsid env LISTEN_ADDR="${LISTEN_ADDR:-127.0.0.1:3000}" ALLOWED_HOSTS="${ALLOWED_HOSTS:-localhost}" bin/webui &
pids+=($!)
wait -n
