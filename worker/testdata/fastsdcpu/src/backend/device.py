# Stand-in for fastsdcpu's backend/device.py (no torch, no OpenVINO).
from constants import DEVICE


def is_openvino_device() -> bool:
    d = DEVICE.lower()
    return d == "cpu" or d[0] == "g" or d[0] == "n"


def get_device_name() -> str:
    return "stand-in " + DEVICE
