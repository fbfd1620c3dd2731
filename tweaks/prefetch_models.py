"""Download, at image build time, every model file the worker's fastsdcpu runs load.

Called by Dockerfile.worker with HF_HOME set to the image's model cache. The
image then sets HF_HUB_OFFLINE=1, so a pod never downloads anything: a model
that was not fetched here fails at once instead of pulling gigabytes per pod.

Usage: python prefetch_models.py LCM_MODEL_ID [LCM_MODEL_ID ...]

What fastsdcpu loads for an LCM model id (src/backend/pipelines/lcm.py,
get_lcm_model_pipeline, at the commit in fastsdcpu.commit):
  - a whole diffusers pipeline (AutoPipelineForText2Image.from_pretrained):
    fetched here with DiffusionPipeline.download, the same file selection
    without loading the weights;
  - for the two UNet-only repositories it knows, the UNet
    (UNet2DConditionModel.from_pretrained) plus a base pipeline whose own UNet
    it replaces (DiffusionPipeline.from_pretrained(base, unet=...)): fetched
    here as the UNet's config and weights plus the base pipeline without its
    unet/ folder, which is exactly what those calls read.
Plus the tiny autoencoder (TAESD or TAESDXL) that --use_tiny_auto_encoder
swaps in. Any other repository without a diffusers pipeline stops the build
with one line that says why.
"""

import sys

from diffusers import DiffusionPipeline
from huggingface_hub import HfApi, hf_hub_download, snapshot_download

# fastsdcpu's constants.TAESD_MODEL / TAESDXL_MODEL.
TAESD = "madebyollin/taesd"
TAESDXL = "madebyollin/taesdxl"
# fastsdcpu's LCM models whose pipeline is SDXL-based (they use TAESDXL).
SDXL_MARKERS = ("sdxl", "xl-", "ssd-1b", "hyper-sd-sdxl")
# fastsdcpu's UNet-only LCM repositories and the base pipeline each is loaded
# into (get_lcm_model_pipeline at the pinned commit).
UNET_ONLY = {
    "latent-consistency/lcm-sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
    "latent-consistency/lcm-ssd-1b": "segmind/SSD-1B",
}
# diffusers' weight names for a model folder, preferred first (safetensors).
UNET_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
PIPELINE_INDEX = "model_index.json"


class PrefetchError(Exception):
    """A model id this image cannot serve; the message says why."""


def fetch_unet(model_id, api):
    """The files UNet2DConditionModel.from_pretrained(model_id) reads."""
    files = set(api.list_repo_files(model_id))
    weights = next((w for w in UNET_WEIGHTS if w in files), None)
    if "config.json" not in files or weights is None:
        raise PrefetchError(
            f"LCM_MODEL_ID={model_id}: fastsdcpu loads it as a UNet, but the repository has "
            f"no config.json with {' or '.join(UNET_WEIGHTS)}"
        )
    hf_hub_download(model_id, "config.json")
    hf_hub_download(model_id, weights)


def fetch_model(model_id, api):
    """Fetch what fastsdcpu loads for model_id."""
    base = UNET_ONLY.get(model_id)
    if base is not None:
        print(f"prefetch: {model_id} (UNet) into base pipeline {base}", flush=True)
        fetch_unet(model_id, api)
        # unet=None: the base's own unet/ folder is left out, as
        # from_pretrained(base, unet=...) leaves it out.
        DiffusionPipeline.download(base, unet=None)
        return
    if PIPELINE_INDEX not in set(api.list_repo_files(model_id)):
        raise PrefetchError(
            f"LCM_MODEL_ID={model_id}: not a diffusers pipeline (no {PIPELINE_INDEX}), and not one of "
            f"the UNet-only repositories fastsdcpu pairs with a base model ({', '.join(sorted(UNET_ONLY))}); "
            "fastsdcpu's torch path could not load it"
        )
    print(f"prefetch: {model_id}", flush=True)
    DiffusionPipeline.download(model_id)


def tiny_autoencoder(model_id):
    is_xl = any(m in model_id.lower() for m in SDXL_MARKERS)
    return TAESDXL if is_xl else TAESD


def main(model_ids, api=None):
    if not model_ids:
        raise PrefetchError("usage: prefetch_models.py LCM_MODEL_ID [LCM_MODEL_ID ...]")
    api = api or HfApi()
    tiny = set()
    for model_id in model_ids:
        fetch_model(model_id, api)
        tiny.add(tiny_autoencoder(model_id))
    for model_id in sorted(tiny):
        print(f"prefetch: {model_id}", flush=True)
        snapshot_download(model_id, allow_patterns=["*.json", "*.safetensors"])


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except PrefetchError as e:
        sys.exit(f"prefetch_models.py: {e}")
