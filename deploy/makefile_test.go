package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The root Makefile owns these; deploy.mk must not define them again.
var rootTargets = []string{"help", "run", "build", "generate", "deps", "test", "test-k8s", "test-short", "bench"}

// makeTargets parses a makefile for its explicit rules: "name: ..." lines.
func makeTargets(t testing.TB, path string) []string {
	t.Helper()
	rule := regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:([^=]|$)`)
	var out []string
	for _, line := range strings.Split(readFile(t, path), "\n") {
		if m := rule.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], ".") {
			out = append(out, m[1])
		}
	}
	return out
}

func TestMakeHelpListsEveryTarget(t *testing.T) {
	help := runMake(t, "help")
	listed := map[string]bool{}
	for _, line := range strings.Split(help, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(line, "  ") {
			listed[f[0]] = true
		}
	}
	for _, mk := range []string{filepath.Join(repoRoot(t), "Makefile"), "deploy.mk"} {
		for _, target := range makeTargets(t, mk) {
			if !listed[target] {
				t.Errorf("%s: target %q is missing from `make help`: give it a \"## text\" comment on its rule line", filepath.Base(mk), target)
			}
		}
	}
}

func TestDeployMkLeavesRootTargetsAlone(t *testing.T) {
	mine := map[string]bool{}
	for _, target := range makeTargets(t, "deploy.mk") {
		if mine[target] {
			t.Errorf("deploy.mk defines %q twice", target)
		}
		mine[target] = true
	}
	for _, target := range rootTargets {
		if mine[target] {
			t.Errorf("deploy.mk defines %q, which the root Makefile owns", target)
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(repoRoot(t), "Makefile")), "include deploy/deploy.mk") {
		t.Error("the root Makefile does not include deploy/deploy.mk")
	}
}

// Each case: the make arguments, and lines `make -n` must print, in order.
var makeCases = []struct {
	args []string
	want []string
	not  []string
}{
	{[]string{"build-webui-image"}, []string{"docker build -f Dockerfile.webui -t ghcr.io/sdkeda/stable-diffusion-webui:latest ."}, nil},
	{[]string{"build-worker-image"}, []string{"docker build -f Dockerfile.worker --build-arg VARIANT=cpu -t ghcr.io/sdkeda/stable-diffusion-worker:latest ."}, nil},
	{[]string{"build-worker-image", "GPU=1"}, []string{"--build-arg VARIANT=cuda -t ghcr.io/sdkeda/stable-diffusion-worker:latest-cuda ."}, nil},
	{[]string{"build-image", "TAG=v1.2.3"}, []string{"stable-diffusion-webui:v1.2.3", "stable-diffusion-worker:v1.2.3"}, nil},
	{[]string{"build-multiarch-images"}, []string{
		"docker buildx build --platform=linux/amd64,linux/arm64 -f Dockerfile.webui -t ghcr.io/sdkeda/stable-diffusion-webui:latest --push .",
		"docker buildx build --platform=linux/amd64,linux/arm64 -f Dockerfile.worker --build-arg VARIANT=cpu"}, nil},
	{[]string{"build-worker-image-multiarch", "GPU=1"}, []string{"--platform=linux/amd64 -f Dockerfile.worker --build-arg VARIANT=cuda"}, nil},
	{[]string{"run-example", "PROMPT=cartoon dwarf", "NUM_IMAGES=7"}, []string{"mkdir -p results",
		`docker run --rm --user "$(id -u):$(id -g)"`, `/results:/results" ghcr.io/sdkeda/stable-diffusion-worker:latest generate --prompt "$PROMPT" --count "$NUM_IMAGES" --out /results`}, []string{"--gpus"}},
	{[]string{"run-example", "GPU=1"}, []string{"--gpus all", "stable-diffusion-worker:latest-cuda generate"}, nil},
	{[]string{"run-example", "LOCAL=1"}, []string{"placeholder pictures, not Stable Diffusion", `GENERATOR=placeholder go run ./cmd/worker generate --prompt "$PROMPT" --count "$NUM_IMAGES" --out ./results`}, []string{"docker"}},
	{[]string{"run-example", "LOCAL=1", "GENERATOR=fastsdcpu"}, []string{"GENERATOR=fastsdcpu go run ./cmd/worker generate"}, []string{"placeholder pictures"}},
	{[]string{"deploy-minio"}, []string{
		"kubectl create namespace stable-diff --dry-run=client -o yaml | kubectl apply -f -",
		"kubectl get secret minio -n stable-diff >/dev/null 2>&1 || \\",
		"kubectl create secret generic minio -n stable-diff",
		"--from-literal=rootUser=", "--from-literal=rootPassword=",
		"kubectl apply -k deploy/minio",
		"mc mb --ignore-existing store/images"}, nil},
	{[]string{"deploy-rabbitmq"}, []string{
		"kubectl apply -f https://github.com/rabbitmq/cluster-operator/releases/download/",
		"kubectl apply -k deploy/rabbitmq",
		"--for=condition=AllReplicasReady rabbitmqcluster/rabbitmq-cluster",
		`KUBECTL="kubectl" bash deploy/scripts/rabbitmq-secret.sh stable-diff`}, []string{"5672"}},
	{[]string{"deploy-app"}, []string{`TAG=latest WORKER_TAG=latest IMAGE_PULL_SECRET= COMPONENTS="" KUBECTL="kubectl" bash deploy/scripts/overlay.sh apply base`, "deployment/stable-diffusion-webui"}, nil},
	{[]string{"deploy-app", "HA=1", "GKE=1"}, []string{`COMPONENTS="ha gke"`, "overlay.sh apply base"}, nil},
	{[]string{"deploy"}, []string{"kubectl apply -k deploy/minio\n", "deployment/minio", "kubectl apply -k deploy/rabbitmq\n", "overlay.sh apply base"}, []string{"overlays", "-ha"}},
	{[]string{"deploy", "HA=1"}, []string{"kubectl apply -k deploy/minio-ha\n", "rollout status -n stable-diff statefulset/minio", "svc/minio",
		"kubectl apply -k deploy/rabbitmq-ha\n", `COMPONENTS="ha"`, "overlay.sh apply base"}, nil},
	{[]string{"deploy-scaledjob"}, []string{
		"kubectl delete -n stable-diff --ignore-not-found scaledobject.keda.sh/stable-diff-app",
		"bash deploy/scripts/overlay.sh apply overlays/scaledjob\n"}, []string{"delete -n stable-diff --ignore-not-found scaledjob"}},
	{[]string{"deploy-scaledjob", "GPU=1"}, []string{"WORKER_TAG=latest-cuda", "overlay.sh apply overlays/scaledjob-gpu\n"}, nil},
	{[]string{"deploy-scaledobject"}, []string{
		"kubectl delete -n stable-diff --ignore-not-found scaledjob.keda.sh/stable-diff-job",
		"overlay.sh apply overlays/scaledobject\n"}, []string{"scaledobject.keda.sh/stable-diff-app"}},
	{[]string{"deploy-scaledobject", "GPU=1", "REGISTRY=registry.example.com/x", "TAG=v3", "IMAGE_PULL_SECRET=ghcr"}, []string{
		"WEBUI_IMAGE=registry.example.com/x/stable-diffusion-webui WORKER_IMAGE=registry.example.com/x/stable-diffusion-worker TAG=v3 WORKER_TAG=v3-cuda IMAGE_PULL_SECRET=ghcr ",
		"overlay.sh apply overlays/scaledobject-gpu\n"}, nil},
	{[]string{"deploy-scaledobject", "GPU=0"}, []string{"overlay.sh apply overlays/scaledobject\n"}, nil},
	{[]string{"cluster"}, []string{`k3d cluster create stable-diff -p "8081:80@loadbalancer"`}, nil},
	{[]string{"import"}, []string{"k3d image import ghcr.io/sdkeda/stable-diffusion-webui:latest ghcr.io/sdkeda/stable-diffusion-worker:latest -c stable-diff"}, nil},
	{[]string{"import", "TAG=dev", "GPU=1"}, []string{"k3d image import ghcr.io/sdkeda/stable-diffusion-webui:dev ghcr.io/sdkeda/stable-diffusion-worker:dev-cuda -c stable-diff"}, nil},
	{[]string{"deploy-from-scratch"}, []string{"k3d cluster create", "k3d image import", "helm upgrade --install keda kedacore/keda", "kubectl apply -k deploy/minio", "overlay.sh apply base"}, nil},
	{[]string{"deploy-keda"}, []string{"helm upgrade --install keda kedacore/keda --namespace keda --create-namespace --version"}, nil},
	{[]string{"deploy-cert-manager", "HOST=sd.example.com"}, []string{
		"kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/v",
		"kubectl apply -k deploy/cert-manager",
		"cert-manager.io/issuer=letsencrypt-staging", `"hosts":["sd.example.com"]`}, nil},
	{[]string{"undeploy"}, []string{"rabbitmqcluster.rabbitmq.com/rabbitmq-cluster", "kubectl delete namespace stable-diff --ignore-not-found"}, nil},
	{[]string{"set-retention", "RETENTION_DAYS=3"}, []string{"kubectl exec -n stable-diff svc/minio -c minio", "mc ilm rule add --expire-days 3 store/images"}, nil},
	{[]string{"list-images"}, []string{"mc ls store/images"}, nil},
	{[]string{"delete-images", "OLDER_THAN=2h"}, []string{"mc rm --recursive --force --older-than 2h store/images"}, nil},
	{[]string{"manifests", "MODE=scaledobject", "GPU=1", "HA=1"}, []string{`COMPONENTS="ha"`, "bash deploy/scripts/overlay.sh build overlays/scaledobject-gpu"}, nil},
	{[]string{"run-webui-dev"}, []string{"bash deploy/scripts/webui-dev.sh stable-diff"}, nil},
}

func TestMakeDryRunPrintsTheCommands(t *testing.T) {
	for _, c := range makeCases {
		t.Run(strings.Join(c.args, "_"), func(t *testing.T) {
			out := runMake(t, append([]string{"-n"}, c.args...)...) + "\n"
			pos := 0
			for _, want := range c.want {
				i := strings.Index(out[pos:], want)
				if i < 0 {
					t.Errorf("make -n %s: missing (or out of order) %q\noutput:\n%s", strings.Join(c.args, " "), want, out)
					return
				}
				pos += i + len(want)
			}
			for _, bad := range c.not {
				if strings.Contains(out, bad) {
					t.Errorf("make -n %s: prints %q, which it must not\noutput:\n%s", strings.Join(c.args, " "), bad, out)
				}
			}
		})
	}
}

// Every deploy/ path that deploy.mk applies exists and renders.
func TestDeployMkPathsExist(t *testing.T) {
	mk := readFile(t, "deploy.mk")
	for _, m := range regexp.MustCompile(`(?:-k|kustomize) deploy/([A-Za-z0-9/_.$()-]+)`).FindAllStringSubmatch(mk, -1) {
		dir := m[1]
		if strings.Contains(dir, "$(") {
			continue // the overlays with variables are covered by TestMakeDryRunPrintsTheCommands and the render tests
		}
		if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err != nil {
			t.Errorf("deploy.mk applies deploy/%s, which has no kustomization.yaml", dir)
		}
	}
	for _, suffix := range []string{"", "-ha"} {
		for _, dir := range []string{"minio", "rabbitmq"} {
			if _, err := os.Stat(filepath.Join(dir+suffix, "kustomization.yaml")); err != nil {
				t.Errorf("deploy.mk applies deploy/%s%s (HA_SUFFIX), which has no kustomization.yaml", dir, suffix)
			}
		}
	}
	for _, m := range regexp.MustCompile(`bash (deploy/scripts/[A-Za-z0-9_.-]+)`).FindAllStringSubmatch(mk, -1) {
		if _, err := os.Stat(filepath.Join(repoRoot(t), m[1])); err != nil {
			t.Errorf("deploy.mk runs %s, which does not exist", m[1])
		}
	}
}
