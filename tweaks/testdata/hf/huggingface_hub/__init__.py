"""Stand-in for huggingface_hub in the tests of prefetch_models.py: the same
names and signatures the script uses, no network. The repositories are the
JSON object in FAKE_HF_REPOS (id -> list of file names); every download is
appended to the file FAKE_HF_LOG as one JSON line."""

import json
import os


def _repos():
    return json.loads(os.environ.get("FAKE_HF_REPOS", "{}"))


def _log(**entry):
    with open(os.environ["FAKE_HF_LOG"], "a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


class HfApi:
    def list_repo_files(self, repo_id, *, repo_type=None, revision=None, token=None):
        repos = _repos()
        if repo_id not in repos:
            raise FileNotFoundError(f"404 Client Error: Repository Not Found for url: .../api/models/{repo_id}")
        return list(repos[repo_id])


def hf_hub_download(repo_id, filename, **kwargs):
    if filename not in _repos().get(repo_id, []):
        raise FileNotFoundError(f"{repo_id} has no {filename}")
    _log(call="hf_hub_download", repo_id=repo_id, filename=filename)
    return f"/cache/{repo_id}/{filename}"


def snapshot_download(repo_id, *, allow_patterns=None, ignore_patterns=None, **kwargs):
    _log(call="snapshot_download", repo_id=repo_id, allow_patterns=allow_patterns)
    return f"/cache/{repo_id}"
