# Stand-in for fastsdcpu's backend/controlnet.py: the CLI's call with no
# custom settings disables ControlNet.
import logging


def controlnet_settings_from_dict(lcm_diffusion_setting, dictionary) -> None:
    if lcm_diffusion_setting is None or dictionary is None:
        logging.error("Invalid arguments!")
        return
    if not dictionary.get("controlnet"):
        logging.warning("ControlNet settings not found, ControlNet will be disabled")
        lcm_diffusion_setting.controlnet = None
        return
    raise NotImplementedError("stand-in: ControlNet settings are not imitated")
