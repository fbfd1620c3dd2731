"""Tests of prefetch_models.py, run as the image build runs it (a process,
the model ids as arguments), against stand-ins for diffusers and
huggingface_hub with their names and signatures (testdata/hf): no network.

    cd tweaks && python3 -m unittest -v test_prefetch_models
(deploy/prefetch_test.go runs this under `make test`.)"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINE = ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"]
REPOS = {
    "stabilityai/sd-turbo": PIPELINE,
    "stabilityai/sdxl-turbo": PIPELINE,
    "latent-consistency/lcm-sdxl": ["config.json", "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"],
    "latent-consistency/lcm-ssd-1b": ["config.json", "diffusion_pytorch_model.bin"],
    "stabilityai/stable-diffusion-xl-base-1.0": PIPELINE,
    "segmind/SSD-1B": PIPELINE,
    "someone/unet-only": ["config.json", "diffusion_pytorch_model.safetensors"],
}


def run(*model_ids, repos=REPOS):
    """Run the script; return (exit status, stderr, logged calls)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "calls.jsonl")
        open(log, "w").close()
        env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "testdata", "hf"),
                   FAKE_HF_REPOS=json.dumps(repos), FAKE_HF_LOG=log)
        p = subprocess.run([sys.executable, os.path.join(HERE, "prefetch_models.py"), *model_ids],
                           env=env, capture_output=True, text=True, timeout=60)
        with open(log) as f:
            calls = [json.loads(line) for line in f]
    return p.returncode, p.stderr, calls


class PrefetchTest(unittest.TestCase):
    def test_pipeline_model_and_its_tiny_autoencoder(self):
        code, err, calls = run("stabilityai/sd-turbo")
        self.assertEqual(code, 0, err)
        self.assertEqual(calls, [
            {"call": "DiffusionPipeline.download", "repo_id": "stabilityai/sd-turbo", "passed": []},
            {"call": "snapshot_download", "repo_id": "madebyollin/taesd", "allow_patterns": ["*.json", "*.safetensors"]},
        ])

    def test_unet_only_repo_fetches_its_unet_and_the_base_without_its_unet(self):
        code, err, calls = run("latent-consistency/lcm-sdxl")
        self.assertEqual(code, 0, err)
        self.assertEqual(calls, [
            {"call": "hf_hub_download", "repo_id": "latent-consistency/lcm-sdxl", "filename": "config.json"},
            {"call": "hf_hub_download", "repo_id": "latent-consistency/lcm-sdxl", "filename": "diffusion_pytorch_model.safetensors"},
            {"call": "DiffusionPipeline.download", "repo_id": "stabilityai/stable-diffusion-xl-base-1.0", "passed": ["unet"]},
            {"call": "snapshot_download", "repo_id": "madebyollin/taesdxl", "allow_patterns": ["*.json", "*.safetensors"]},
        ])

    def test_unet_weights_fall_back_to_bin(self):
        code, err, calls = run("latent-consistency/lcm-ssd-1b")
        self.assertEqual(code, 0, err)
        self.assertIn({"call": "hf_hub_download", "repo_id": "latent-consistency/lcm-ssd-1b", "filename": "diffusion_pytorch_model.bin"}, calls)
        self.assertIn({"call": "DiffusionPipeline.download", "repo_id": "segmind/SSD-1B", "passed": ["unet"]}, calls)

    def test_several_ids_share_the_tiny_autoencoders(self):
        code, err, calls = run("stabilityai/sd-turbo", "stabilityai/sdxl-turbo", "latent-consistency/lcm-ssd-1b")
        self.assertEqual(code, 0, err)
        tiny = [c["repo_id"] for c in calls if c["call"] == "snapshot_download"]
        self.assertEqual(tiny, ["madebyollin/taesd", "madebyollin/taesdxl"])

    def test_unknown_unet_only_repo_is_refused_with_one_line(self):
        code, err, calls = run("someone/unet-only")
        self.assertEqual(code, 1)
        self.assertEqual(calls, [], "nothing may be downloaded for a refused id")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn("LCM_MODEL_ID=someone/unet-only: not a diffusers pipeline (no model_index.json)", lines[0])
        self.assertIn("latent-consistency/lcm-sdxl", lines[0])

    def test_known_unet_repo_without_weights_is_refused(self):
        repos = dict(REPOS, **{"latent-consistency/lcm-sdxl": ["config.json", "README.md"]})
        code, err, calls = run("latent-consistency/lcm-sdxl", repos=repos)
        self.assertEqual(code, 1)
        self.assertIn("LCM_MODEL_ID=latent-consistency/lcm-sdxl: fastsdcpu loads it as a UNet", err)
        self.assertEqual(calls, [])

    def test_no_id_is_a_usage_error(self):
        code, err, _ = run()
        self.assertEqual(code, 1)
        self.assertIn("usage: prefetch_models.py LCM_MODEL_ID", err)


if __name__ == "__main__":
    unittest.main()
