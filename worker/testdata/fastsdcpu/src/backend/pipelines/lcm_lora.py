# Stand-in for fastsdcpu's backend/pipelines/lcm_lora.py.
from _standin import Pipeline


def get_lcm_lora_pipeline(base_model_id: str, lcm_lora_id: str, use_local_model: bool, torch_data_type=None,
                          pipeline_args={}):
    return Pipeline.build(base_model_id + "+" + lcm_lora_id)
