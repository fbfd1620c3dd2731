# Stand-in for fastsdcpu's backend/models/gen_images.py.
from enum import Enum

from _standin import BaseModel
from paths import FastStableDiffusionPaths


class ImageFormat(str, Enum):
    JPEG = "jpeg"
    PNG = "png"


class GeneratedImages(BaseModel):
    path: str = FastStableDiffusionPaths.get_results_path()
    format: str = ImageFormat.PNG.value.upper()
    save_image: bool = True
