"""The only module of this stand-in tree that fastsdcpu does not have.

Every other module under src/ has the name, classes and signatures of
fastsdcpu's own at the pinned commit (tweaks/fastsdcpu.commit), so that the
worker's CLI generator (src/app.py) and its warm driver
(tweaks/fastsdcpu_driver.py) run here unchanged, under Debian's Python 3 with
no third-party package. What fastsdcpu takes from pydantic, PIL and torch is
imitated here, just enough for those modules.

The "model" (environment, read when used, so one process sees changes):
  FAKE_LOAD_MS=N            a pipeline build sleeps N ms (fastsdcpu loads the weights)
  FAKE_DELAY_MS=N           each image takes N ms
  FAKE_SD_DELAY_MS=N        a generate call sleeps N ms before anything else
  FAKE_SD_LOAD_LOG=PATH     a pipeline build appends {"model","pid"} as one JSON line
  FAKE_SD_PIDFILE=PATH      a pipeline build or a generate call writes the pid of its process there
  FAKE_SD_LOAD_GATE=PATH    a pipeline build waits until PATH exists (the test opens the gate)
  FAKE_SD_GATE=PATH         a generate call writes its pid to PATH.waiting, then waits until PATH exists
  FAKE_SD_CHILD_PIDFILE=PATH  a generate call starts a long-sleeping child, pid there
  FAKE_SD_FAIL=always       generate raises (a traceback; the CLI exits 1)
  FAKE_SD_FAIL=prompt:TEXT  the same, when the prompt contains TEXT
  FAKE_SD_FAIL=once:PATH    the same, unless PATH exists (then created)
  FAKE_SD_FAIL=crash:TEXT   the process kills itself (SIGKILL) when the prompt contains TEXT
  FAKE_SD_FAIL=hang:TEXT    generate never returns when the prompt contains TEXT
  FAKE_SD_FAIL=load         a pipeline build raises (weights missing)
  FAKE_SD_FAIL=partial      the image saver writes the images but no JSON
"""

import copy
import hashlib
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
import zlib


def env_ms(name):
    return int(os.environ.get(name, "0") or "0") / 1000.0


def fail_mode():
    return os.environ.get("FAKE_SD_FAIL", "")


def append_json_line(env_name, record):
    path = os.environ.get(env_name)
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")


class BaseModel:
    """What fastsdcpu uses of pydantic's BaseModel: fields from class
    annotations with defaults (copied per instance), model_dump with
    exclude, model_copy, model_validate and equality by value."""

    def __init__(self, **values):
        for name in self._fields():
            if name in values:
                value = values[name]
            else:
                value = copy.deepcopy(getattr(type(self), name, None))
            object.__setattr__(self, name, value)

    @classmethod
    def _fields(cls):
        names = []
        for klass in reversed(cls.__mro__):
            for name in getattr(klass, "__annotations__", {}):
                if not name.startswith("_") and name not in names:
                    names.append(name)
        return names

    def model_dump(self, exclude=None):
        out = {}
        for name in self._fields():
            rule = None
            if isinstance(exclude, dict):
                rule = exclude.get(name)
            elif exclude is not None and name in exclude:
                rule = True
            if rule is True:
                continue
            out[name] = _dump(getattr(self, name), rule if isinstance(rule, dict) else None)
        return out

    def model_copy(self, deep=False):
        return copy.deepcopy(self) if deep else copy.copy(self)

    @classmethod
    def model_validate(cls, values):
        return cls(**{k: v for k, v in values.items() if k in cls._fields()})

    def __eq__(self, other):
        return type(self) is type(other) and self.model_dump() == other.model_dump()


def _dump(value, exclude):
    if isinstance(value, BaseModel):
        return value.model_dump(exclude)
    if isinstance(value, list):
        return [_dump(v, exclude) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, None) for k, v in value.items() if not (exclude and exclude.get(k) is True)}
    return value


class Image:
    """A picture the pipeline made; save writes it as a PNG, as PIL does."""

    def __init__(self, width, height, rgb):
        self.width, self.height, self.rgb = width, height, rgb

    def save(self, path):
        with open(path, "wb") as f:
            f.write(png(self.width, self.height, self.rgb))


def png(width, height, rgb):
    """A PNG of one colour with darker diagonal bands: two palette entries
    at one bit per pixel, so that writing it costs the stand-in next to
    nothing (the model's time is FAKE_DELAY_MS)."""
    dark = bytes(c // 2 for c in rgb)
    row_bytes = (width + 7) // 8
    rows = [b"\x00" + (b"\x00" if (y // 32) % 2 == 0 else b"\xff") * row_bytes for y in range(height)]
    raw = zlib.compress(b"".join(rows), 1)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 3, 0, 0, 0)  # 1 bit, palette
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", dark + bytes(rgb))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


class Pipeline:
    """A loaded "model": building one costs FAKE_LOAD_MS."""

    def __init__(self, model_id, kind="text_to_image"):
        self.model_id = model_id
        self.kind = kind
        self.safety_checker = "checker"
        self.scheduler = None

    @staticmethod
    def build(model_id):
        write_pid()
        if fail_mode() == "load":
            raise OSError("fake: no weights for %s (FAKE_SD_FAIL=load)" % model_id)
        time.sleep(env_ms("FAKE_LOAD_MS"))
        wait_for_gate("FAKE_SD_LOAD_GATE")
        append_json_line("FAKE_SD_LOAD_LOG", {"model": model_id, "pid": os.getpid()})
        return Pipeline(model_id)

    def __call__(self, prompt, negative_prompt, num_inference_steps, guidance_scale, width, height,
                 num_images_per_prompt, **kwargs):
        begin_generation(prompt)
        seed = manual_seed.value if manual_seed.value is not None else random.getrandbits(32)
        manual_seed.value = None
        images = []
        for i in range(num_images_per_prompt):
            time.sleep(env_ms("FAKE_DELAY_MS"))
            digest = hashlib.sha256(("%s\x00%s\x00%d\x00%d" % (prompt, negative_prompt, seed, i)).encode()).digest()
            images.append(Image(width, height, (digest[0], digest[1], digest[2])))
        return PipelineOutput(images)

    def get_active_adapters(self):
        return []

    def __repr__(self):
        return "StandInPipeline(%s)" % self.model_id


class PipelineOutput:
    def __init__(self, images):
        self.images = images


class _Seed:
    value = None


manual_seed = _Seed()


def torch_manual_seed(seed):
    """torch.manual_seed: the next call of a pipeline draws from seed."""
    manual_seed.value = seed


def write_pid(path=None):
    """Writes the pid to path (FAKE_SD_PIDFILE by default) at once: a test
    that reads it meanwhile finds the old pid or the new one, never none."""
    path = path or os.environ.get("FAKE_SD_PIDFILE")
    if path:
        tmp = "%s.%d.tmp" % (path, os.getpid())
        with open(tmp, "w") as f:
            f.write(str(os.getpid()))
        os.replace(tmp, path)


def wait_for_gate(env_name):
    """Waits until the file named by env_name exists: the test opens the
    gate once it has seen what it waits for, so that no step depends on how
    fast the machine is. FAKE_SD_GATE says it waits (PATH.waiting)."""
    path = os.environ.get(env_name)
    if not path:
        return
    if env_name == "FAKE_SD_GATE":
        write_pid(path + ".waiting")
    while not os.path.exists(path):
        time.sleep(0.01)


def begin_generation(prompt):
    """The test switches that act when a picture is asked for."""
    write_pid()
    child_pidfile = os.environ.get("FAKE_SD_CHILD_PIDFILE")
    if child_pidfile:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        with open(child_pidfile, "w") as f:
            f.write(str(child.pid))
    time.sleep(env_ms("FAKE_SD_DELAY_MS"))
    wait_for_gate("FAKE_SD_GATE")
    mode = fail_mode()
    if mode == "always":
        raise RuntimeError("fake generator failure (FAKE_SD_FAIL=always)")
    if mode.startswith("prompt:") and mode[len("prompt:"):] in prompt:
        raise RuntimeError("fake generator failure for this prompt")
    if mode.startswith("once:"):
        marker = mode[len("once:"):]
        if not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("fake generator failure, once")
    if mode.startswith("crash:") and mode[len("crash:"):] in prompt:
        sys.stderr.write("fake: the process dies now (FAKE_SD_FAIL=crash)\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if mode.startswith("hang:") and mode[len("hang:"):] in prompt:
        while True:
            time.sleep(60)
