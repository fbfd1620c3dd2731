"""Stand-in for torch, for the worker's CUDA probe only (DEVICE=cuda runs
`python -c "import torch ..."` in the checkout). FAKE_CUDA_DEVICES=N says how
many devices torch sees (default 1; 0: no usable CUDA, as on a node whose
driver libraries are not on LD_LIBRARY_PATH)."""

import os

__version__ = "2.2.2+standin"


def _devices():
    return int(os.environ.get("FAKE_CUDA_DEVICES", "1") or "0")


class version:
    cuda = "12.1"


class cuda:
    @staticmethod
    def is_available():
        return _devices() > 0

    @staticmethod
    def device_count():
        return _devices()
