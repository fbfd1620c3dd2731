// Package deploy holds no code: its tests check the deployment of the
// product. Every kustomization renders and decodes strictly into the
// Kubernetes and KEDA API types; both Dockerfiles parse and pass BuildKit's
// lint rules; the Makefile targets print the expected commands; and names
// (queue, secrets, environment variables, images, ports) agree across the
// manifests, deploy.mk, the Dockerfiles, the workflow and the programs'
// configuration (../internal/config).
//
// It is a module of its own so that these heavy dependencies stay out of
// the product's go.mod. Run with: cd deploy && go test ./...
package deploy
