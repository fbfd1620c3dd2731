# Stand-in for fastsdcpu's app_settings.py. fastsdcpu keeps configs/settings.yaml
# in YAML; the stand-in writes the same dump as JSON (a subset of YAML), so
# that a test can see whether and when it is saved.
import json
from copy import deepcopy
from os import makedirs, path

from constants import LCM_LORA_MODELS_FILE, LCM_MODELS_FILE, OPENVINO_LCM_MODELS_FILE, SD_MODELS_FILE
from models.settings import Settings
from paths import FastStableDiffusionPaths
from utils import get_models_from_text_file


class AppSettings:
    def __init__(self):
        self.config_path = FastStableDiffusionPaths().get_app_settings_path()
        models = lambda name: get_models_from_text_file(FastStableDiffusionPaths().get_models_config_path(name))
        self._stable_diffsuion_models = models(SD_MODELS_FILE)
        self._lcm_lora_models = models(LCM_LORA_MODELS_FILE)
        self._openvino_lcm_models = models(OPENVINO_LCM_MODELS_FILE)
        self._lcm_models = models(LCM_MODELS_FILE)
        self._config = None

    @property
    def settings(self):
        return self._config

    @property
    def stable_diffsuion_models(self):
        return self._stable_diffsuion_models

    @property
    def openvino_lcm_models(self):
        return self._openvino_lcm_models

    @property
    def lcm_models(self):
        return self._lcm_models

    @property
    def lcm_lora_models(self):
        return self._lcm_lora_models

    def load(self, skip_file=False):
        # The stand-in always starts from the defaults; the file is written only.
        self._config = Settings()
        if not skip_file and not path.exists(path.dirname(self.config_path)):
            makedirs(path.dirname(self.config_path))

    def save(self):
        try:
            with open(self.config_path, "w") as file:
                tmp_cfg = deepcopy(self._config)
                tmp_cfg.lcm_diffusion_setting.init_image = None
                json.dump(tmp_cfg.model_dump(exclude=["init_image"]), file, default=str)
        except Exception as ex:
            print(f"Error in saving settings : {ex}")
