#!/usr/bin/env bash
# Installs what the tests need, once: RabbitMQ and Chromium from Debian's
# packages, MinIO from the Go module proxy at a pinned version. Idempotent:
# each piece is skipped when it is already there.
set -euo pipefail

MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
GOBIN="$(go env GOPATH)/bin"

need_apt=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need_apt+=(rabbitmq-server)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "install-deps: apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts the packaged RabbitMQ service where it can; the tests run
  # their own nodes, so stop the system one if it came up.
  (command -v service >/dev/null && $SUDO service rabbitmq-server stop >/dev/null 2>&1) || true
fi

if [ ! -x "$GOBIN/minio" ] && ! command -v minio >/dev/null 2>&1; then
  echo "install-deps: go install github.com/minio/minio@$MINIO_VERSION (a few minutes the first time)"
  go install "github.com/minio/minio@$MINIO_VERSION"
fi
echo "install-deps: rabbitmq-server, chromium and minio are present"
