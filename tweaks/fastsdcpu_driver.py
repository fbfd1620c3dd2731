"""sdkeda's warm driver for fastsdcpu: one process loads the model once and
then makes images job after job, for the worker's GENERATOR=fastsdcpu-warm.

It drives fastsdcpu at the pinned commit (tweaks/fastsdcpu.commit) the way
fastsdcpu's own src/app.py does for one CLI run: the settings object from
state.get_settings(), the context for the CLI interface, the settings set as
app.py sets them from its flags, context.generate_text_to_image(...). So the
images and the metadata JSON are what the CLI writes (<uuid>-<i>.png and
<uuid>.json in <checkout>/results), and fastsdcpu's own
LCMTextToImage.init decides when the pipeline must be built again (only
when a job asks for other model settings). Nothing here draws pictures.

Run by the worker as `python -u fastsdcpu_driver.py <checkout> <fd>`, with
cwd the checkout and DEVICE in the environment. The protocol is JSON lines:
requests on stdin, replies on file descriptor <fd> (3), a pipe of its own,
so that whatever fastsdcpu prints goes to stdout and stderr as in a CLI run;
the worker keeps their tails, stderr's as the reason of a failure.

  -> {"op": "load", "args": {...}}        build the pipeline before the first job
  <- {"event": "loaded", "seconds": s, "rebuilt": true}
  -> {"op": "generate", "id": "...", "args": {...}}
  <- {"event": "generating", "rebuilt": b, "load_seconds": s}   the pipeline is ready
  <- {"event": "done", "seconds": s, "load_seconds": s, "rebuilt": b}
  <- {"event": "error", "error": "RuntimeError: ...", "traceback": "..."}   a failed request

"args" are app.py's flags by their argparse names (prompt, number_of_images,
seed, image_width, lcm_model_id, use_safety_checker, ...); a flag left out
has app.py's default. EOF on stdin ends the driver.
"""

import json
import os
import sys
import time
import traceback
import weakref

# app.py's flags that a text-to-image run uses: name -> (type, default), as
# its ArgumentParser declares them.
FLAGS = {
    "lcm_model_id": (str, "stabilityai/sd-turbo"),
    "openvino_lcm_model_id": (str, "rupeshs/sd-turbo-openvino"),
    "prompt": (str, ""),
    "negative_prompt": (str, ""),
    "image_height": (int, 512),
    "image_width": (int, 512),
    "inference_steps": (int, 1),
    "guidance_scale": (float, 1.0),
    "number_of_images": (int, 1),
    "seed": (int, -1),
    "use_openvino": (bool, False),
    "use_offline_model": (bool, False),
    "use_safety_checker": (bool, False),
    "use_lcm_lora": (bool, False),
    "base_model_id": (str, "Lykon/dreamshaper-8"),
    "lcm_lora_id": (str, "latent-consistency/lcm-lora-sdv1-5"),
    "use_tiny_auto_encoder": (bool, False),
    "strength": (float, 0.3),
    "lora": (str, None),
    "lora_weight": (float, 0.5),
}


class Flags:
    """app.py's parsed arguments: every flag typed as argparse types it."""

    def __init__(self, given):
        unknown = sorted(set(given) - set(FLAGS))
        if unknown:
            raise ValueError("unknown flags: " + ", ".join(unknown))
        for name, (kind, default) in FLAGS.items():
            value = given.get(name, default)
            setattr(self, name, value if value is None else kind(value))


def apply(config, args, DiffusionTask, controlnet_settings_from_dict):
    """Set the settings as src/app.py does for a CLI run (same fields, same order)."""
    s = config.lcm_diffusion_setting
    if args.use_openvino:
        s.openvino_lcm_model_id = args.openvino_lcm_model_id
    else:
        s.lcm_model_id = args.lcm_model_id
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
    controlnet_settings_from_dict(s, {})  # app.py's call without --custom_settings


class Driver:
    def __init__(self, reply):
        self.reply = reply
        # Imported as app.py imports them (its UI-only imports left out).
        from backend.controlnet import controlnet_settings_from_dict
        from backend.models.lcmdiffusion_setting import DiffusionTask
        from constants import DEVICE
        from models.interface_types import InterfaceType
        from state import get_context, get_settings

        self.device = DEVICE
        self.task = DiffusionTask
        self.controlnet_settings_from_dict = controlnet_settings_from_dict
        self.app_settings = get_settings()
        self.app_settings.settings.generated_images.save_image = True
        self.context = get_context(InterfaceType.CLI)
        self.last_init = (False, 0.0)
        self.in_job = False
        self._time_init()

    def _time_init(self):
        """Wrap the context's LCMTextToImage.init to learn whether fastsdcpu
        built the pipeline again and how long that took, and to tell the
        worker the moment generation starts. A weak reference tells the old
        pipeline from the new without keeping the old one alive (two models
        in memory at once would not fit a GPU)."""
        ltti = self.context.lcm_text_to_image
        init = ltti.init

        def timed_init(*args, **kwargs):
            same = self._same_as(ltti.pipeline)
            tick = time.perf_counter()
            init(*args, **kwargs)
            seconds = time.perf_counter() - tick
            rebuilt = not same(ltti.pipeline)
            self.last_init = (rebuilt, seconds)
            if self.in_job:
                self.reply({"event": "generating", "rebuilt": rebuilt, "load_seconds": seconds if rebuilt else 0})

        ltti.init = timed_init

    @staticmethod
    def _same_as(pipeline):
        """A test of whether a pipeline is this one, holding no strong reference to it."""
        if pipeline is None:
            return lambda p: False
        try:
            ref = weakref.ref(pipeline)
            return lambda p: ref() is p
        except TypeError:  # not weak-referenceable: compare identities
            ident = id(pipeline)
            return lambda p: id(p) == ident

    def load(self, given):
        """Build the pipeline for these model settings before any job, with
        fastsdcpu's own init, as its first generate call would."""
        config = self.app_settings.settings
        apply(config, Flags(given), self.task, self.controlnet_settings_from_dict)
        config.lcm_diffusion_setting.init_image = None
        tick = time.perf_counter()
        self.context.lcm_text_to_image.init(self.device, config.lcm_diffusion_setting)
        return {"event": "loaded", "seconds": time.perf_counter() - tick, "rebuilt": self.last_init[0]}

    def generate(self, given):
        config = self.app_settings.settings
        apply(config, Flags(given), self.task, self.controlnet_settings_from_dict)
        if not config.lcm_diffusion_setting.prompt:
            raise ValueError("You need to provide a prompt")
        self.last_init = (False, 0.0)
        self.in_job = True
        tick = time.perf_counter()
        # save_config=False: the CLI rewrites configs/settings.yaml on every
        # run, which a worker has no use for (and whose checkout may be
        # read-only); images and metadata are the same either way.
        try:
            images = self.context.generate_text_to_image(settings=config, device=self.device, save_config=False)
        finally:
            self.in_job = False
        if images is None:
            raise RuntimeError("fastsdcpu made no images")
        rebuilt, load = self.last_init
        return {"event": "done", "seconds": time.perf_counter() - tick, "rebuilt": rebuilt,
                "load_seconds": load if rebuilt else 0}


def main():
    checkout = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    fd = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    os.set_inheritable(fd, False)  # nothing fastsdcpu starts may write replies
    proto = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
    sys.path.insert(0, os.path.join(checkout, "src"))

    def reply(msg):
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    try:
        driver = Driver(reply)
    except BaseException as ex:  # an import that fails: the worker shows the traceback
        trace = traceback.format_exc()
        sys.stderr.write(trace)
        sys.stderr.flush()
        reply({"event": "error", "error": "%s: %s" % (type(ex).__name__, ex), "traceback": trace[-2048:]})
        return 1
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "load":
                reply(driver.load(req.get("args") or {}))
            elif op == "generate":
                reply(driver.generate(req.get("args") or {}))
            else:
                raise ValueError("unknown op %r" % op)
        except Exception as ex:
            trace = traceback.format_exc()
            sys.stderr.write(trace)
            sys.stderr.flush()
            reply({"event": "error", "error": "%s: %s" % (type(ex).__name__, ex), "traceback": trace[-2048:]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
