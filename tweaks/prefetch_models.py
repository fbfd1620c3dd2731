"""Download, at image build time, every model file the worker's fastsdcpu runs load.

Called by Dockerfile.worker with HF_HOME set to the image's model cache. The
image then sets HF_HUB_OFFLINE=1, so a pod never downloads anything: a model
that was not fetched here fails at once instead of pulling gigabytes per pod.

Usage: python prefetch_models.py LCM_MODEL_ID [LCM_MODEL_ID ...]

For each LCM model it fetches the files that diffusers' from_pretrained reads
(the same call fastsdcpu makes, without loading the weights), and the tiny
autoencoder (TAESD or TAESDXL) that fastsdcpu's --use_tiny_auto_encoder swaps in.
"""

import sys

from diffusers import DiffusionPipeline
from huggingface_hub import snapshot_download

# fastsdcpu's constants.TAESD_MODEL / TAESDXL_MODEL.
TAESD = "madebyollin/taesd"
TAESDXL = "madebyollin/taesdxl"
# fastsdcpu's LCM models whose pipeline is SDXL-based (they use TAESDXL).
SDXL_MARKERS = ("sdxl", "xl-", "ssd-1b", "hyper-sd-sdxl")


def main(model_ids):
    if not model_ids:
        sys.exit("usage: prefetch_models.py LCM_MODEL_ID [LCM_MODEL_ID ...]")
    tiny = set()
    for model_id in model_ids:
        print(f"prefetch: {model_id}", flush=True)
        DiffusionPipeline.download(model_id)
        is_xl = any(m in model_id.lower() for m in SDXL_MARKERS)
        tiny.add(TAESDXL if is_xl else TAESD)
    for model_id in sorted(tiny):
        print(f"prefetch: {model_id}", flush=True)
        snapshot_download(model_id, allow_patterns=["*.json", "*.safetensors"])


if __name__ == "__main__":
    main(sys.argv[1:])
