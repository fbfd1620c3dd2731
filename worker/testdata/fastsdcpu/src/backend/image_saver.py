# Stand-in for fastsdcpu's backend/image_saver.py: <uuid4>-<i>.png for each
# image, then <uuid4>.json, the dump of the settings (the same exclusions).
import json
from os import mkdir, path
from typing import Any
from uuid import uuid4

from _standin import fail_mode
from backend.models.lcmdiffusion_setting import LCMDiffusionSetting
from utils import get_image_file_extension


def get_exclude_keys():
    return {
        "init_image": True,
        "generated_images": True,
        "lora": {"models_dir": True, "path": True},
        "dirs": True,
        "controlnet": {"adapter_path": True},
    }


class ImageSaver:
    @staticmethod
    def save_images(
        output_path: str,
        images: Any,
        folder_name: str = "",
        format: str = "PNG",
        lcm_diffusion_setting: LCMDiffusionSetting = None,
    ) -> None:
        gen_id = uuid4()
        out_path = path.join(output_path, folder_name) if folder_name else output_path
        for index, image in enumerate(images):
            if not path.exists(output_path):
                mkdir(output_path)
            if not path.exists(out_path):
                mkdir(out_path)
            image.save(path.join(out_path, f"{gen_id}-{index+1}{get_image_file_extension(format)}"))
        if lcm_diffusion_setting and fail_mode() != "partial":
            with open(path.join(out_path, f"{gen_id}.json"), "w") as json_file:
                json.dump(lcm_diffusion_setting.model_dump(exclude=get_exclude_keys()), json_file, indent=4)
