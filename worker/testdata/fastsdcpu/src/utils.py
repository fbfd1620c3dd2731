# Stand-in for fastsdcpu's utils.py.
import platform
from typing import List


def show_system_info():
    print(f"Running on {platform.system()} platform (stand-in)")


def get_models_from_text_file(file_path: str) -> List:
    with open(file_path, "r") as file:
        return [line.strip() for line in file if line.strip()]


def get_image_file_extension(image_format: str) -> str:
    if image_format == "JPEG":
        return ".jpg"
    elif image_format == "PNG":
        return ".png"
