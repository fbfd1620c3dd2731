// Package deploy holds no code: its tests check the deployment of the
// product. Every kustomization, and every app overlay as deploy.mk applies it
// through scripts/overlay.sh (images from REGISTRY/TAG, pull secret, the HA
// and GKE components), renders and decodes strictly into the Kubernetes, KEDA
// and GKE API types; the HA parts (RabbitMQ on three nodes, distributed MinIO,
// the webui on two) and the GKE BackendConfig hold what they claim; no app
// overlay owns the namespace or the data; both Dockerfiles parse and pass
// BuildKit's lint rules; the worker image's Python lock (../tweaks/lock) is
// consistent; the model prefetch is tested against stand-ins; the Makefile
// targets print the expected commands; and names (queue, secrets, environment
// variables, images, ports, memory, node pool size) agree across the
// manifests, deploy.mk, the Dockerfiles, the workflow, the READMEs and the
// programs' configuration (../internal/config).
//
// TestKubernetes goes further: a real kube-apiserver, kube-controller-manager
// and KEDA operator on loopback (package controlplane) take every manifest
// set server-side, and KEDA scales the overlays' ScaledJob and ScaledObject
// from the real RabbitMQ. It runs under `make test`, `make test-k8s` and
// CI=true; a plain `go test` skips it (minutes; a first build of the control
// plane more).
//
// It is a module of its own so that these heavy dependencies stay out of
// the product's go.mod. Run with: cd deploy && go test ./...
package deploy
