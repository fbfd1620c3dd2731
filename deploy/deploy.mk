# Images and cluster targets; included at the end of the root Makefile, so
# they run from the repository root. Every target has a "## " comment.
#
# GPU=1 switches everything to NVIDIA: the CUDA worker image (tag suffix
# -cuda) and the GPU overlays. Empty (the default), 0, false, no or off: CPU.
# (The old Makefile defaulted to GPU; `GPU="" make ...` still means CPU.)
# HA=1: three RabbitMQ nodes, distributed MinIO, two webui replicas. GKE=1:
# the webui behind GKE's load balancer. The same words turn them off.
#
# The deploy targets run the images REGISTRY/...:TAG (worker: TAG-cuda with
# GPU=1) through deploy/scripts/overlay.sh, which also adds
# IMAGE_PULL_SECRET to the pods of our images when it is set.

REGISTRY      ?= ghcr.io/sdkeda
WEBUI_IMAGE   ?= $(REGISTRY)/stable-diffusion-webui
WORKER_IMAGE  ?= $(REGISTRY)/stable-diffusion-worker
TAG           ?= latest
GPU           ?=
HA            ?=
GKE           ?=
IMAGE_PULL_SECRET ?=
PLATFORMS     ?= linux/amd64,linux/arm64
PROMPT        ?= yellow submarine
NUM_IMAGES    ?= 1
LOCAL         ?=
CLUSTER_NAME  ?= stable-diff
RETENTION_DAYS ?= 7
OLDER_THAN    ?= 2h
MODE          ?= scaledjob
HOST          ?=
ISSUER        ?= letsencrypt-staging
KUBECTL       ?= kubectl
DOCKER        ?= docker
HELM          ?= helm
K3D           ?= k3d
RABBITMQ_OPERATOR_VERSION ?= v2.22.3
# KEDA's chart version is KEDA's own: the manifests are decoded with the Go
# types of this KEDA (deploy/go.mod) and run by this KEDA's operator in the
# API server test (deploy/controlplane/tools/keda). Change the three together.
KEDA_VERSION              ?= 2.20.2
CERT_MANAGER_VERSION      ?= v1.17.2

# Fixed by the manifests (deploy/*/kustomization.yaml): change them together.
NAMESPACE    := stable-diff
MINIO_BUCKET := images

on              = $(filter-out 0 false no off,$(strip $(1)))
GPU_ON         := $(call on,$(GPU))
HA_ON          := $(call on,$(HA))
GKE_ON         := $(call on,$(GKE))
HA_SUFFIX      := $(if $(HA_ON),-ha)
WORKER_VARIANT := $(if $(GPU_ON),cuda,cpu)
WORKER_TAG     := $(TAG)$(if $(GPU_ON),-cuda)
GPU_SUFFIX     := $(if $(GPU_ON),-gpu)
# No CUDA torch wheels for arm64: the CUDA worker is amd64 only.
WORKER_PLATFORMS ?= $(if $(GPU_ON),linux/amd64,$(PLATFORMS))

# Optional kustomize components (deploy/components) the app overlays get.
COMPONENTS     := $(strip $(if $(HA_ON),ha) $(if $(GKE_ON),gke))
# The single MinIO is a Deployment, the distributed one a StatefulSet.
MINIO_WORKLOAD := $(if $(HA_ON),statefulset,deployment)/minio
# A kustomization of deploy/ with the images, pull secret and components above.
OVERLAY = WEBUI_IMAGE=$(WEBUI_IMAGE) WORKER_IMAGE=$(WORKER_IMAGE) TAG=$(TAG) WORKER_TAG=$(WORKER_TAG) \
  IMAGE_PULL_SECRET=$(IMAGE_PULL_SECRET) COMPONENTS="$(COMPONENTS)" KUBECTL="$(KUBECTL)" bash deploy/scripts/overlay.sh

# The prompt reaches the shell through the environment, so quotes and $ in it are safe.
export PROMPT NUM_IMAGES

# LOCAL=1 run-example: GENERATOR from the environment, else fastsdcpu when
# FASTSDCPU_DIR holds a checkout, else the placeholder generator.
LOCAL_GENERATOR = $(or $(GENERATOR),$(if $(and $(FASTSDCPU_DIR),$(wildcard $(FASTSDCPU_DIR)/src/app.py)),fastsdcpu,placeholder))

# 24 random letters and digits, made by the shell when the recipe runs.
RANDOM_STRING := $$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24)

# mc inside a MinIO pod (one server or distributed: the Service picks a pod),
# logged in with the pod's own root credentials.
MC_LOGIN := mc alias set store http://localhost:9000 "$$MINIO_ROOT_USER" "$$MINIO_ROOT_PASSWORD" >/dev/null
MC_EXEC  := $(KUBECTL) exec -n $(NAMESPACE) svc/minio -c minio --

##@ Images

.PHONY: build-image
build-image: build-webui-image build-worker-image ## Build both images (GPU=1: the CUDA worker)

.PHONY: build-webui-image
build-webui-image: ## Build the webui image WEBUI_IMAGE:TAG
	$(DOCKER) build -f Dockerfile.webui -t $(WEBUI_IMAGE):$(TAG) .

.PHONY: build-worker-image
build-worker-image: ## Build the worker image WORKER_IMAGE:TAG (GPU=1: CUDA variant, tag suffix -cuda)
	$(DOCKER) build -f Dockerfile.worker --build-arg VARIANT=$(WORKER_VARIANT) -t $(WORKER_IMAGE):$(WORKER_TAG) .

.PHONY: build-stable-diff-image
build-stable-diff-image: build-worker-image ## Old name of build-worker-image

.PHONY: build-multiarch-images
build-multiarch-images: build-webui-image-multiarch build-worker-image-multiarch ## Build and push both images for PLATFORMS (docker buildx)

.PHONY: build-webui-image-multiarch
build-webui-image-multiarch: ## Build and push the webui image for PLATFORMS (docker buildx)
	$(DOCKER) buildx build --platform=$(PLATFORMS) -f Dockerfile.webui -t $(WEBUI_IMAGE):$(TAG) --push .

.PHONY: build-worker-image-multiarch
build-worker-image-multiarch: ## Build and push the worker image for PLATFORMS (GPU=1: CUDA, amd64 only)
	$(DOCKER) buildx build --platform=$(WORKER_PLATFORMS) -f Dockerfile.worker --build-arg VARIANT=$(WORKER_VARIANT) -t $(WORKER_IMAGE):$(WORKER_TAG) --push .

.PHONY: build-stable-diff-image-multiarch
build-stable-diff-image-multiarch: build-worker-image-multiarch ## Old name of build-worker-image-multiarch

.PHONY: run-example
run-example: ## Generate NUM_IMAGES images of PROMPT into ./results with the worker image (LOCAL=1: go run; placeholder pictures unless FASTSDCPU_DIR is a checkout)
	mkdir -p results
ifneq ($(strip $(LOCAL)),)
ifeq ($(LOCAL_GENERATOR),placeholder)
	@echo "LOCAL=1: no fastsdcpu checkout in FASTSDCPU_DIR, so these are placeholder pictures, not Stable Diffusion;"
	@echo "         for real images use the image (make run-example) or FASTSDCPU_DIR=<checkout> PYTHON=<its venv's python>"
endif
	GENERATOR=$(LOCAL_GENERATOR) $(GO) run ./cmd/worker generate --prompt "$$PROMPT" --count "$$NUM_IMAGES" --out ./results
else
	$(DOCKER) run --rm --user "$$(id -u):$$(id -g)" $(if $(GPU_ON),--gpus all) --volume "$(CURDIR)/results:/results" $(WORKER_IMAGE):$(WORKER_TAG) generate --prompt "$$PROMPT" --count "$$NUM_IMAGES" --out /results
endif
	@echo "Done: the images and their metadata are in ./results"

##@ Cluster: k3d

.PHONY: cluster
cluster: ## Create the k3d cluster CLUSTER_NAME, its ingress (traefik) on http://localhost:8081
	$(K3D) cluster create $(CLUSTER_NAME) -p "8081:80@loadbalancer"

.PHONY: import
import: ## Import the built images into the k3d cluster (no registry needed)
	$(K3D) image import $(WEBUI_IMAGE):$(TAG) $(WORKER_IMAGE):$(WORKER_TAG) -c $(CLUSTER_NAME)

.PHONY: deploy-from-scratch
deploy-from-scratch: cluster import deploy-keda deploy ## k3d cluster, images, KEDA, then deploy (build the images first: make build-image)

##@ Cluster: deploy (current kubectl context, namespace stable-diff)

.PHONY: namespace
namespace: ## Create the namespace stable-diff if it is missing
	$(KUBECTL) create namespace $(NAMESPACE) --dry-run=client -o yaml | $(KUBECTL) apply -f -

.PHONY: deploy-keda
deploy-keda: ## Install KEDA KEDA_VERSION with helm (skip on clusters that have KEDA or Kedify)
	$(HELM) repo add kedacore https://kedacore.github.io/charts --force-update
	$(HELM) upgrade --install keda kedacore/keda --namespace keda --create-namespace --version $(KEDA_VERSION) --wait

.PHONY: deploy-minio
deploy-minio: namespace ## Deploy MinIO with bucket images (HA=1: distributed on 4 nodes); credentials (Secret minio) made once, never replaced
	$(KUBECTL) get secret minio -n $(NAMESPACE) >/dev/null 2>&1 || \
	  $(KUBECTL) create secret generic minio -n $(NAMESPACE) \
	    --from-literal=rootUser="$(RANDOM_STRING)" --from-literal=rootPassword="$(RANDOM_STRING)"
	$(KUBECTL) apply -k deploy/minio$(HA_SUFFIX)
	$(KUBECTL) rollout status -n $(NAMESPACE) $(MINIO_WORKLOAD) --timeout=300s
	$(MC_EXEC) sh -c '$(MC_LOGIN) && mc mb --ignore-existing store/$(MINIO_BUCKET)'

.PHONY: deploy-rabbitmq
deploy-rabbitmq: namespace ## Deploy RabbitMQ (cluster operator; HA=1: 3 nodes); its Secret stablediff-rabbitmq derives from the operator's
	$(KUBECTL) apply -f https://github.com/rabbitmq/cluster-operator/releases/download/$(RABBITMQ_OPERATOR_VERSION)/cluster-operator.yml
	$(KUBECTL) rollout status -n rabbitmq-system deployment/rabbitmq-cluster-operator --timeout=300s
	$(KUBECTL) apply -k deploy/rabbitmq$(HA_SUFFIX)
	$(KUBECTL) wait -n $(NAMESPACE) --for=condition=AllReplicasReady rabbitmqcluster/rabbitmq-cluster --timeout=600s
	@# The operator made the credentials once (Secret rabbitmq-cluster-default-user);
	@# this only re-derives the URLs from them and its ports, so running it again changes nothing.
	KUBECTL="$(KUBECTL)" bash deploy/scripts/rabbitmq-secret.sh $(NAMESPACE)

.PHONY: deploy-app
deploy-app: namespace ## Deploy the webui and the shared settings (deploy/base; HA=1: 2 replicas, GKE=1: GKE load balancer)
	$(OVERLAY) apply base
	$(KUBECTL) rollout status -n $(NAMESPACE) deployment/stable-diffusion-webui --timeout=300s
	@echo "webui: http://localhost:8081 on k3d, else http://$$($(KUBECTL) get ingress -n $(NAMESPACE) stable-diffusion-webui -o jsonpath='{.status.loadBalancer.ingress[0].ip}')/"

.PHONY: deploy
deploy: deploy-minio deploy-rabbitmq deploy-app ## Deploy MinIO, RabbitMQ and the webui; then deploy-scaledjob XOR deploy-scaledobject
	@echo "Done. Continue with: make deploy-scaledjob XOR make deploy-scaledobject (GPU=1 for NVIDIA nodes)"

.PHONY: deploy-scaledjob
deploy-scaledjob: ## Workers as KEDA ScaledJob, one Job per message (removes the ScaledObject; GPU=1 for NVIDIA)
	$(KUBECTL) delete -n $(NAMESPACE) --ignore-not-found scaledobject.keda.sh/stable-diff-app triggerauthentication.keda.sh/stable-diff-rabbitmq-management deployment/stable-diffusion-worker
	$(OVERLAY) apply overlays/scaledjob$(GPU_SUFFIX)

.PHONY: deploy-scaledobject
deploy-scaledobject: ## Workers as a Deployment scaled by a KEDA ScaledObject (removes the ScaledJob; GPU=1 for NVIDIA)
	$(KUBECTL) delete -n $(NAMESPACE) --ignore-not-found scaledjob.keda.sh/stable-diff-job triggerauthentication.keda.sh/stable-diff-rabbitmq-connection
	$(OVERLAY) apply overlays/scaledobject$(GPU_SUFFIX)

.PHONY: manifests
manifests: ## Print the manifests of overlay MODE (scaledjob or scaledobject; GPU, HA, GKE, REGISTRY, TAG as for deploy)
	$(OVERLAY) build overlays/$(MODE)$(GPU_SUFFIX)

.PHONY: deploy-cert-manager
deploy-cert-manager: ## Install cert-manager and Let's Encrypt issuers; HOST=name adds TLS to the webui Ingress (ISSUER=letsencrypt-production)
	$(KUBECTL) apply -f https://github.com/cert-manager/cert-manager/releases/download/$(CERT_MANAGER_VERSION)/cert-manager.yaml
	$(KUBECTL) wait -n cert-manager --for=condition=Available deployment --all --timeout=300s
	$(KUBECTL) apply -k deploy/cert-manager
	$(KUBECTL) annotate ingress -n $(NAMESPACE) stable-diffusion-webui --overwrite cert-manager.io/issuer=$(ISSUER)
	if [ -n "$(HOST)" ]; then \
	  $(KUBECTL) patch ingress -n $(NAMESPACE) stable-diffusion-webui --type=json -p \
	    '[{"op":"add","path":"/spec/rules/0/host","value":"$(HOST)"},{"op":"add","path":"/spec/tls","value":[{"hosts":["$(HOST)"],"secretName":"stable-diffusion-webui-tls"}]}]'; \
	fi

.PHONY: undeploy
undeploy: ## Delete everything in namespace stable-diff, data and credentials included (operators stay)
	-$(KUBECTL) delete -n $(NAMESPACE) --ignore-not-found scaledjob.keda.sh/stable-diff-job scaledobject.keda.sh/stable-diff-app
	-$(KUBECTL) delete -n $(NAMESPACE) --ignore-not-found rabbitmqcluster.rabbitmq.com/rabbitmq-cluster
	-$(KUBECTL) delete namespace $(NAMESPACE) --ignore-not-found

##@ Cluster: images in MinIO

.PHONY: list-images
list-images: ## List the stored images and metadata (mc ls)
	$(MC_EXEC) sh -c '$(MC_LOGIN) && mc ls store/$(MINIO_BUCKET)'

.PHONY: delete-images
delete-images: ## Delete stored objects older than OLDER_THAN (e.g. 2h, 7d; mc rm --older-than)
	$(MC_EXEC) sh -c '$(MC_LOGIN) && mc rm --recursive --force --older-than $(OLDER_THAN) store/$(MINIO_BUCKET)'

.PHONY: set-retention
set-retention: ## Expire stored objects after RETENTION_DAYS days: one MinIO lifecycle rule (mc ilm)
	$(MC_EXEC) sh -c '$(MC_LOGIN) && mc ilm rule rm --all --force store/$(MINIO_BUCKET) >/dev/null 2>&1; mc ilm rule add --expire-days $(RETENTION_DAYS) store/$(MINIO_BUCKET) && mc ilm rule ls store/$(MINIO_BUCKET)'

.PHONY: run-webui-dev
run-webui-dev: ## Run the webui from source against the cluster's RabbitMQ and MinIO (kubectl port-forward)
	bash deploy/scripts/webui-dev.sh $(NAMESPACE)
