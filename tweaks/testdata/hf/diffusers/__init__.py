"""Stand-in for diffusers in the tests of prefetch_models.py: the one call the
script makes, logged like huggingface_hub's stand-in (FAKE_HF_LOG)."""

from huggingface_hub import _log, _repos


class DiffusionPipeline:
    @classmethod
    def download(cls, pretrained_model_name, **kwargs):
        if "model_index.json" not in _repos().get(pretrained_model_name, []):
            raise OSError(f"{pretrained_model_name} does not appear to have a file named model_index.json.")
        # diffusers leaves out the folders of components passed as keyword arguments.
        _log(call="DiffusionPipeline.download", repo_id=pretrained_model_name, passed=sorted(kwargs))
        return f"/cache/{pretrained_model_name}"
