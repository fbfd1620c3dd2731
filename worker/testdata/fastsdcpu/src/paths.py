# Stand-in for fastsdcpu's paths.py: the checkout is the directory above src/.
import os

import constants


def join_paths(first_path: str, second_path: str) -> str:
    return os.path.join(first_path, second_path)


def get_app_path() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get_configs_path() -> str:
    return join_paths(get_app_path(), constants.CONFIG_DIRECTORY)


class FastStableDiffusionPaths:
    @staticmethod
    def get_app_settings_path() -> str:
        return join_paths(get_configs_path(), constants.APP_SETTINGS_FILE)

    @staticmethod
    def get_results_path() -> str:
        return join_paths(get_app_path(), constants.RESULTS_DIRECTORY)

    @staticmethod
    def get_models_config_path(model_config_file: str) -> str:
        return join_paths(get_configs_path(), model_config_file)

    @staticmethod
    def get_lora_models_path() -> str:
        return join_paths(get_app_path(), constants.LORA_DIRECTORY)

    @staticmethod
    def get_controlnet_models_path() -> str:
        return join_paths(get_app_path(), constants.CONTROLNET_DIRECTORY)
