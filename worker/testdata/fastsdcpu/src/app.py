"""A stand-in for fastsdcpu's CLI (src/app.py of rupeshs/fastsdcpu at commit
1a54232d) for the worker's tests: Python 3 standard library only, no model.

It keeps the contract the worker relies on (DESIGN section 3):
  * the same argparse flags, types and defaults;
  * output <uuid>-<i>.png (i from 1) and <uuid>.json in <checkout>/results,
    the uuid its own, the JSON written after the images;
  * the JSON keys of a real run (see shared/examples/fastsdcpu-metadata.json);
  * exit status 0, also when it refuses to work ("Error : You need to
    provide a prompt" on stdout, no files), as the real one does.

Switches (environment):
  FAKE_SD_DELAY_MS=N        sleep N ms before writing anything
  FAKE_SD_FAIL=always       traceback on stderr, exit 1
  FAKE_SD_FAIL=prompt:TEXT  the same, when the prompt contains TEXT
  FAKE_SD_FAIL=once:PATH    the same, unless PATH exists (then created)
  FAKE_SD_FAIL=partial      write the images but no JSON, exit FAKE_SD_EXIT (0)
  FAKE_SD_ARGV_LOG=PATH     append {"argv","cwd","device","pid"} as one JSON line
  FAKE_SD_CHILD_PIDFILE=PATH  start a long-sleeping child, write its pid there
"""

import argparse
import hashlib
import json
import os
import struct
import sys
import time
import uuid
import zlib


def build_parser():
    p = argparse.ArgumentParser(description="FAST SD CPU (fake)")
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


def png(width, height, rgb):
    """An RGB PNG of one colour with a darker diagonal band."""
    dark = bytes(c // 2 for c in rgb)
    rows = []
    for y in range(height):
        band = (y // 32) % 2 == 0
        rows.append(b"\x00" + (dark if band else bytes(rgb)) * width)
    raw = zlib.compress(b"".join(rows), 1)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def fail(message):
    sys.stderr.write("Traceback (most recent call last):\n  File \"src/app.py\", line 1, in <module>\n")
    sys.stderr.write("RuntimeError: %s\n" % message)
    sys.exit(1)


def main():
    args = build_parser().parse_args()
    log = os.environ.get("FAKE_SD_ARGV_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"argv": sys.argv, "cwd": os.getcwd(),
                                "device": os.environ.get("DEVICE"), "pid": os.getpid()}) + "\n")
    if args.version:
        print("v1.0.0 beta 30 (fake)")
        return

    pidfile = os.environ.get("FAKE_SD_CHILD_PIDFILE")
    if pidfile:
        import subprocess

        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        with open(pidfile, "w") as f:
            f.write(str(child.pid))

    delay = int(os.environ.get("FAKE_SD_DELAY_MS", "0") or "0")
    if delay > 0:
        time.sleep(delay / 1000.0)

    mode = os.environ.get("FAKE_SD_FAIL", "")
    if mode == "always":
        fail("fake generator failure (FAKE_SD_FAIL=always)")
    if mode.startswith("prompt:") and mode[len("prompt:"):] in args.prompt:
        fail("fake generator failure for this prompt")
    if mode.startswith("once:"):
        marker = mode[len("once:"):]
        if not os.path.exists(marker):
            open(marker, "w").close()
            fail("fake generator failure, once")

    if args.prompt == "":
        print("Error : You need to provide a prompt")
        return

    app_path = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    results = os.path.join(app_path, "results")
    os.makedirs(results, exist_ok=True)
    gen_id = uuid.uuid4()
    digest = hashlib.sha256(args.prompt.encode("utf-8")).digest()
    seeds = []
    for i in range(args.number_of_images):
        rgb = (digest[3 * i % 30], digest[(3 * i + 1) % 30], digest[(3 * i + 2) % 30])
        with open(os.path.join(results, "%s-%d.png" % (gen_id, i + 1)), "wb") as f:
            f.write(png(args.image_width, args.image_height, rgb))
        seeds.append(args.seed + i if args.seed > -1 else int.from_bytes(digest[i:i + 2], "big"))
    if mode == "partial":
        sys.exit(int(os.environ.get("FAKE_SD_EXIT", "0")))

    metadata = {
        "lcm_model_id": args.lcm_model_id,
        "openvino_lcm_model_id": args.openvino_lcm_model_id if args.use_openvino else "rupeshs/sd-turbo-openvino",
        "use_offline_model": args.use_offline_model,
        "use_lcm_lora": args.use_lcm_lora,
        "lcm_lora": {"base_model_id": args.base_model_id, "lcm_lora_id": args.lcm_lora_id},
        "use_tiny_auto_encoder": args.use_tiny_auto_encoder,
        "use_openvino": args.use_openvino,
        "prompt": args.prompt,
        "negative_prompt": args.negative_prompt,
        "strength": args.strength,
        "image_height": args.image_height,
        "image_width": args.image_width,
        "inference_steps": args.inference_steps,
        "guidance_scale": args.guidance_scale,
        "number_of_images": args.number_of_images,
        "seed": args.seed,
        "use_seed": args.seed > -1,
        "use_safety_checker": args.use_safety_checker,
        "diffusion_task": "text_to_image",
        "lora": {"weight": args.lora_weight, "fuse": True, "enabled": args.lora is not None},
        "controlnet": None,
        "rebuild_pipeline": False,
        "image_seeds": seeds,
    }
    with open(os.path.join(results, "%s.json" % gen_id), "w") as f:
        json.dump(metadata, f, indent=4)
    print("Latency : 0.00 seconds")


if __name__ == "__main__":
    main()
