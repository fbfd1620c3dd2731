#!/usr/bin/env bash
# Applies, prints or writes a kustomization of deploy/ with what the make
# command line chose: the images (REGISTRY, TAG, GPU), the pull secret
# (IMAGE_PULL_SECRET) and the optional components (HA, GKE). The committed
# kustomizations name ghcr.io/sdkeda/...:latest; this wraps one of them in a
# temporary kustomization under deploy/ that sets the images and adds the
# rest, so the cluster runs exactly the images `make build-image` tagged.
#
#   overlay.sh apply DIR    kubectl apply -k the wrapped deploy/DIR
#   overlay.sh build DIR    print the manifests (kubectl kustomize)
#   overlay.sh write DIR    write the wrapper, print its directory (for the
#                           tests; the caller removes it)
#
# From the environment (deploy.mk exports them): WEBUI_IMAGE, WORKER_IMAGE
# (repositories), TAG, WORKER_TAG, IMAGE_PULL_SECRET (a Secret's name, or
# empty), COMPONENTS (names under deploy/components, space-separated), KUBECTL.
set -euo pipefail

usage() { echo "usage: $0 apply|build|write DIR (a directory under deploy/)" >&2; exit 2; }
[ $# -eq 2 ] || usage
verb=$1 dir=${2%/}
case "$verb" in apply | build | write) ;; *) usage ;; esac

here=$(cd "$(dirname "$0")/.." && pwd) # deploy/
[ -f "$here/$dir/kustomization.yaml" ] || { echo "overlay.sh: deploy/$dir has no kustomization.yaml" >&2; exit 2; }

fail() { echo "overlay.sh: $*" >&2; exit 2; }
image_re='^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$'
tag_re='^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$'
name_re='^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$'
[[ ${WEBUI_IMAGE:?} =~ $image_re ]] || fail "WEBUI_IMAGE=$WEBUI_IMAGE is not an image repository (registry/name, no tag)"
[[ ${WORKER_IMAGE:?} =~ $image_re ]] || fail "WORKER_IMAGE=$WORKER_IMAGE is not an image repository (registry/name, no tag)"
[[ ${TAG:?} =~ $tag_re ]] || fail "TAG=$TAG is not an image tag (letters, digits, . _ -; at most 128)"
[[ ${WORKER_TAG:?} =~ $tag_re ]] || fail "WORKER_TAG=$WORKER_TAG is not an image tag"
secret=${IMAGE_PULL_SECRET:-}
[ -z "$secret" ] || [[ $secret =~ $name_re ]] || fail "IMAGE_PULL_SECRET=$secret is not a Secret name (lowercase letters, digits, - and .)"
for c in ${COMPONENTS:-}; do
	[ -f "$here/components/$c/kustomization.yaml" ] || fail "no component deploy/components/$c"
done

wrap=$(mktemp -d "$here/.overlay.XXXXXX")
if [ "$verb" != write ]; then
	trap 'rm -rf "$wrap"' EXIT
fi
# The wrapper lives one level under deploy/: every path below is ../<path>.
{
	echo "# Written by deploy/scripts/overlay.sh for deploy/$dir; temporary."
	echo "apiVersion: kustomize.config.k8s.io/v1beta1"
	echo "kind: Kustomization"
	echo "resources:"
	echo "  - ../$dir"
	if [ -n "${COMPONENTS:-}" ]; then
		echo "components:"
		for c in $COMPONENTS; do echo "  - ../components/$c"; done
	fi
	echo "images:"
	echo "  - name: ghcr.io/sdkeda/stable-diffusion-webui"
	echo "    newName: \"$WEBUI_IMAGE\""
	echo "    newTag: \"$TAG\""
	echo "  - name: ghcr.io/sdkeda/stable-diffusion-worker"
	echo "    newName: \"$WORKER_IMAGE\""
	echo "    newTag: \"$WORKER_TAG\""
	if [ -n "$secret" ]; then
		# Packages that GitHub Actions pushes to ghcr.io are private until
		# made public: the pods of our images pull with this Secret.
		echo "patches:"
		echo "  - target: {group: apps, kind: Deployment, labelSelector: \"app in (stable-diffusion-webui,stable-diffusion-worker)\"}"
		echo "    patch: |-"
		echo "      - {op: add, path: /spec/template/spec/imagePullSecrets, value: [{name: \"$secret\"}]}"
		echo "  - target: {group: keda.sh, kind: ScaledJob}"
		echo "    patch: |-"
		echo "      - {op: add, path: /spec/jobTargetRef/template/spec/imagePullSecrets, value: [{name: \"$secret\"}]}"
	fi
} >"$wrap/kustomization.yaml"

kubectl=${KUBECTL:-kubectl}
case "$verb" in
write) echo "$wrap" ;;
build) $kubectl kustomize "$wrap" ;;
apply) $kubectl apply -k "$wrap" ;;
esac
