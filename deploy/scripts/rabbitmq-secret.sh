#!/usr/bin/env bash
# Derives the Secret stablediff-rabbitmq (make deploy-rabbitmq) from what the
# RabbitMQ cluster operator made for the RabbitmqCluster rabbitmq-cluster:
#   host       the AMQP URL (the programs' AMQP_URL, KEDA's ScaledJob)
#   http-host  the management API URL (KEDA's ScaledObject)
# The user, password, host and AMQP port come from the operator's Secret
# rabbitmq-cluster-default-user (keys username, password, host, port). That
# Secret has no management port: it comes from the port named "management"
# of the operator's Service rabbitmq-cluster, where the operator's own
# client finds it. The operator makes the credentials once, so running this
# again changes nothing unless they moved. (deploy/rabbitmq has no TLS: the
# URLs are amqp:// and http://.)
#
#   rabbitmq-secret.sh NAMESPACE       KUBECTL from the environment (kubectl)
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 NAMESPACE" >&2; exit 2; }
ns=$1
kubectl=${KUBECTL:-kubectl}
fail() { echo "rabbitmq-secret.sh: $*" >&2; exit 1; }

field() { $kubectl get secret rabbitmq-cluster-default-user -n "$ns" -o "jsonpath={.data.$1}" | base64 -d; }
user=$(field username)
pass=$(field password)
host=$(field host)
port=$(field port)
mport=$($kubectl get service rabbitmq-cluster -n "$ns" -o 'jsonpath={.spec.ports[?(@.name=="management")].port}')

[ -n "$user" ] && [ -n "$pass" ] && [ -n "$host" ] ||
	fail "Secret rabbitmq-cluster-default-user in $ns lacks username, password or host"
[[ $port =~ ^[0-9]+$ ]] || fail "Secret rabbitmq-cluster-default-user in $ns has no AMQP port (key port: '$port')"
[[ $mport =~ ^[0-9]+$ ]] || fail "Service rabbitmq-cluster in $ns has no port named management ('$mport')"

$kubectl create secret generic stablediff-rabbitmq -n "$ns" \
	--from-literal=host="amqp://$user:$pass@$host:$port/" \
	--from-literal=http-host="http://$user:$pass@$host:$mport/" \
	--dry-run=client -o yaml | $kubectl apply -f -
