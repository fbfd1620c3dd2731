# Stand-in for fastsdcpu's backend/pipelines/lcm.py: building a pipeline is
# the fake model's load (FAKE_LOAD_MS).
from typing import Any

from _standin import Pipeline
from constants import LCM_DEFAULT_MODEL


def load_taesd(pipeline: Any, use_local_model: bool = False, torch_data_type: Any = None):
    pipeline.vae = "taesd"


def get_lcm_model_pipeline(model_id: str = LCM_DEFAULT_MODEL, use_local_model: bool = False, pipeline_args={}):
    return Pipeline.build(model_id)


def get_image_to_image_pipeline(pipeline: Any) -> Any:
    return Pipeline(pipeline.model_id, kind="image_to_image")
