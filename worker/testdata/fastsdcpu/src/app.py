"""A stand-in for fastsdcpu's CLI (src/app.py of rupeshs/fastsdcpu at commit
1a54232d) for the worker's tests: Python 3 standard library only, no model.

It parses the same argparse flags (types and defaults) and then goes the
same way as the real CLI for one text-to-image run: the settings from
state.get_settings(), the context for the CLI interface, the settings set
from the flags, context.generate_text_to_image(...). The modules it calls are
the stand-ins beside it (see _standin.py for the fake model and the test
switches), so images and metadata are written as fastsdcpu's image saver
writes them: <uuid>-<i>.png and <uuid>.json in <checkout>/results. Like the
real one it exits 0 when it refuses to work ("Error : You need to provide a
prompt" on stdout, no files).

Switches of the CLI only (environment):
  FAKE_SD_ARGV_LOG=PATH     append {"argv","cwd","device","pid"} as one JSON line
  FAKE_SD_EXIT=N            with FAKE_SD_FAIL=partial: exit N after the images
"""

import argparse
import json
import os
import sys


def build_parser():
    p = argparse.ArgumentParser(description="FAST SD CPU (stand-in)")
    p.add_argument("-s", "--share", action="store_true")
    modes = p.add_mutually_exclusive_group(required=False)
    for short, name in (("-g", "--gui"), ("-w", "--webui"), ("-r", "--realtime"), ("-v", "--version")):
        modes.add_argument(short, name, action="store_true")
    p.add_argument("-b", "--benchmark", action="store_true")
    text = {
        "--lcm_model_id": "stabilityai/sd-turbo",
        "--openvino_lcm_model_id": "rupeshs/sd-turbo-openvino",
        "--prompt": "",
        "--negative_prompt": "",
        "--base_model_id": "Lykon/dreamshaper-8",
        "--lcm_lora_id": "latent-consistency/lcm-lora-sdv1-5",
        "--custom_settings": None,
        "--lora": None,
    }
    for name, default in text.items():
        p.add_argument(name, type=str, default=default)
    ints = {
        "--image_height": 512,
        "--image_width": 512,
        "--inference_steps": 1,
        "--number_of_images": 1,
        "--seed": -1,
        "--batch_count": 1,
    }
    for name, default in ints.items():
        p.add_argument(name, type=int, default=default)
    floats = {"--guidance_scale": 1.0, "--strength": 0.3, "--lora_weight": 0.5}
    for name, default in floats.items():
        p.add_argument(name, type=float, default=default)
    for name in ("--use_openvino", "--use_offline_model", "--use_safety_checker", "--use_lcm_lora",
                 "--img2img", "--sdupscale", "--upscale", "--usejpeg", "--noimagesave"):
        p.add_argument(name, action="store_true")
    p.add_argument("-i", "--interactive", action="store_true")
    p.add_argument("-t", "--use_tiny_auto_encoder", action="store_true")
    p.add_argument("-f", "--file", type=str, default="")
    return p


args = build_parser().parse_args()
log = os.environ.get("FAKE_SD_ARGV_LOG")
if log:
    with open(log, "a") as f:
        f.write(json.dumps({"argv": sys.argv, "cwd": os.getcwd(),
                            "device": os.environ.get("DEVICE"), "pid": os.getpid()}) + "\n")
if args.version:
    print("v1.0.0 beta 30 (stand-in)")
    exit()

from backend.controlnet import controlnet_settings_from_dict  # noqa: E402
from backend.models.lcmdiffusion_setting import DiffusionTask  # noqa: E402
from constants import DEVICE  # noqa: E402
from models.interface_types import InterfaceType  # noqa: E402
from state import get_context, get_settings  # noqa: E402

print(f"Using device : {DEVICE}")
app_settings = get_settings()
app_settings.settings.generated_images.save_image = not args.noimagesave

context = get_context(InterfaceType.CLI)
config = app_settings.settings
if args.use_openvino:
    config.lcm_diffusion_setting.openvino_lcm_model_id = args.openvino_lcm_model_id
else:
    config.lcm_diffusion_setting.lcm_model_id = args.lcm_model_id
s = config.lcm_diffusion_setting
s.prompt = args.prompt
s.negative_prompt = args.negative_prompt
s.image_height = args.image_height
s.image_width = args.image_width
s.guidance_scale = args.guidance_scale
s.number_of_images = args.number_of_images
s.inference_steps = args.inference_steps
s.strength = args.strength
s.seed = args.seed
s.use_openvino = args.use_openvino
s.use_tiny_auto_encoder = args.use_tiny_auto_encoder
s.use_lcm_lora = args.use_lcm_lora
s.lcm_lora.base_model_id = args.base_model_id
s.lcm_lora.lcm_lora_id = args.lcm_lora_id
s.diffusion_task = DiffusionTask.text_to_image.value
s.lora.enabled = False
s.lora.path = args.lora
s.lora.weight = args.lora_weight
s.lora.fuse = True
if s.lora.path:
    s.lora.enabled = True
s.use_seed = args.seed > -1
s.use_offline_model = args.use_offline_model
s.use_safety_checker = args.use_safety_checker
s.controlnet = None
controlnet_settings_from_dict(s, {})

if args.prompt == "" and args.file == "" and args.custom_settings is None and not args.benchmark:
    print("Error : You need to provide a prompt")
    exit()

for i in range(0, args.batch_count):
    context.generate_text_to_image(settings=config, device=DEVICE)
if os.environ.get("FAKE_SD_FAIL") == "partial":
    sys.exit(int(os.environ.get("FAKE_SD_EXIT", "0")))
