# Stand-in for fastsdcpu's backend/lcm_text_to_image.py: the same class and
# signatures, and the same rule for when init builds the pipeline again
# (the first call, or other model settings); the pipeline is the fake model.
from typing import Any

from _standin import torch_manual_seed
from backend.device import is_openvino_device
from backend.models.lcmdiffusion_setting import DiffusionTask, LCMDiffusionSetting, LCMLora
from backend.pipelines.lcm import get_image_to_image_pipeline, get_lcm_model_pipeline, load_taesd
from backend.pipelines.lcm_lora import get_lcm_lora_pipeline


class LCMTextToImage:
    def __init__(self, device: str = "cpu") -> None:
        self.pipeline = None
        self.use_openvino = False
        self.device = ""
        self.previous_model_id = None
        self.previous_use_tae_sd = False
        self.previous_use_lcm_lora = False
        self.previous_ov_model_id = ""
        self.previous_safety_checker = False
        self.previous_use_openvino = False
        self.img_to_img_pipeline = None
        self.is_openvino_init = False
        self.previous_lora = None
        self.task_type = DiffusionTask.text_to_image
        self._built_for = None

    def _model_settings(self, s: LCMDiffusionSetting):
        return (s.lcm_model_id, s.use_tiny_auto_encoder, s.lcm_lora.base_model_id, s.lcm_lora.lcm_lora_id,
                s.use_lcm_lora, s.openvino_lcm_model_id, s.use_safety_checker, s.use_openvino)

    def init(self, device: str = "cpu", lcm_diffusion_setting: LCMDiffusionSetting = LCMDiffusionSetting()) -> None:
        self.device = device
        self.use_openvino = lcm_diffusion_setting.use_openvino
        lcm_lora: LCMLora = lcm_diffusion_setting.lcm_lora
        wanted = self._model_settings(lcm_diffusion_setting)
        if self.pipeline is None or self._built_for != wanted or lcm_diffusion_setting.rebuild_pipeline:
            self.pipeline = None
            self.img_to_img_pipeline = None
            if lcm_diffusion_setting.use_lcm_lora:
                print(f"***** Init LCM-LoRA pipeline - {lcm_lora.base_model_id} *****")
                self.pipeline = get_lcm_lora_pipeline(lcm_lora.base_model_id, lcm_lora.lcm_lora_id,
                                                      lcm_diffusion_setting.use_offline_model)
            else:
                print(f"***** Init LCM Model pipeline - {lcm_diffusion_setting.lcm_model_id} *****")
                self.pipeline = get_lcm_model_pipeline(lcm_diffusion_setting.lcm_model_id,
                                                       lcm_diffusion_setting.use_offline_model, {})
            self.img_to_img_pipeline = get_image_to_image_pipeline(self.pipeline)
            if lcm_diffusion_setting.use_tiny_auto_encoder:
                load_taesd(self.pipeline, lcm_diffusion_setting.use_offline_model)
            self._built_for = wanted
            self.previous_model_id = lcm_diffusion_setting.lcm_model_id
            self.previous_safety_checker = lcm_diffusion_setting.use_safety_checker
            self.previous_lora = lcm_diffusion_setting.lora.model_copy(deep=True)
            lcm_diffusion_setting.rebuild_pipeline = False
            print(f"Pipeline : {self.pipeline}")
            print(f"Active adapters : {self.pipeline.get_active_adapters()}")

    def generate(self, lcm_diffusion_setting: LCMDiffusionSetting, reshape: bool = False) -> Any:
        if lcm_diffusion_setting.use_seed:
            torch_manual_seed(lcm_diffusion_setting.seed)
        if not lcm_diffusion_setting.use_safety_checker:
            self.pipeline.safety_checker = None
        guidance_scale = lcm_diffusion_setting.guidance_scale
        if not lcm_diffusion_setting.use_lcm_lora and not lcm_diffusion_setting.use_openvino and guidance_scale != 1.0:
            print("Not using LCM-LoRA so setting guidance_scale 1.0")
            guidance_scale = 1.0
        return self.pipeline(
            prompt=lcm_diffusion_setting.prompt,
            negative_prompt=lcm_diffusion_setting.negative_prompt,
            num_inference_steps=lcm_diffusion_setting.inference_steps,
            guidance_scale=guidance_scale,
            width=lcm_diffusion_setting.image_width,
            height=lcm_diffusion_setting.image_height,
            num_images_per_prompt=lcm_diffusion_setting.number_of_images,
        ).images
