"""Crafted pickles planted wherever the zoo reads files: always refused, never executed.

Each payload's ``__reduce__`` creates a marker file when unpickled, so "the marker does not
exist" proves no code ran. Manifests are rewritten to match the planted bytes, so it is the
pickle check (or the safetensors/JSON parser), not a hash mismatch, that refuses them.
"""

from __future__ import annotations

import builtins
import io
import json
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import assert_one_line_error
from huggingface_hub import HfApi

import zoo_core
from zoo_core.cli import main as cli
from zoo_core.errors import CheckpointError, ZooError
from zoo_core.publishing import hub as zoo_hub
from zoo_core.publishing import publish, sources
from zoo_core.running.checkpoint import MANIFEST, latest_checkpoint, verify_folder, write_manifest

pytest_plugins = ["hub_server"]  # the hub, hf_env, exported_agent and agent_folder fixtures

REPO = "zoo-test/evil"


class Payload:
    """Unpickling it calls ``Path.touch(marker)`` (or ``open(marker, "w")``): code from the file."""

    def __init__(self, marker: Path, via_open: bool = False):
        self.marker, self.via_open = marker, via_open

    def __reduce__(self):
        if self.via_open:
            return (builtins.open, (str(self.marker), "w"))
        return (Path.touch, (self.marker,))


def payload_bytes(marker: Path, kind: str) -> bytes:
    """``pickle`` (protocol 5), ``pickle0`` (protocol 0: no magic header at all) or ``torch``
    (``torch.save``: a zip holding the pickle, what ``.pt`` files are)."""
    if kind == "torch":
        buf = io.BytesIO()
        torch.save({"weights": Payload(marker, via_open=True)}, buf)
        return buf.getvalue()
    return pickle.dumps(Payload(marker), protocol=0 if kind == "pickle0" else 5)


def plant(folder: Path, name: str, data: bytes) -> None:
    """Write ``data`` as ``folder/name`` and re-hash the manifest so it vouches for it."""
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    old = json.loads((folder / MANIFEST).read_text())
    write_manifest(folder, {k: v for k, v in old.items() if k not in ("format", "files")})


def zoo_here(capsys, *args: str) -> subprocess.CompletedProcess:
    """The ``zoo`` CLI in this process, as a CompletedProcess for ``assert_one_line_error``."""
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.mark.parametrize("kind", ["pickle", "pickle0", "torch"])
def test_the_payloads_are_live(tmp_path, kind):
    """Unpickled on purpose, each payload does run: the tests below would catch a real load."""
    marker = tmp_path / "pwned"
    data = payload_bytes(marker, kind)
    if kind == "torch":
        torch.load(io.BytesIO(data), weights_only=False)["weights"].close()
    else:
        pickle.loads(data)
    assert marker.exists()


AGENT_PLANTS = [
    ("model.safetensors", "pickle"),  # in place of the weights
    ("model.safetensors", "torch"),
    ("x.pkl", "pickle"),
    ("x.pt", "pickle"),
    ("x.pth", "pickle"),
    ("x.pt", "torch"),
    ("x.zip", "torch"),
    ("x.bin", "pickle0"),
    ("x.json", "pickle"),
    ("config.json", "pickle"),
    ("learning_curve.png", "pickle"),
    ("replay.mp4", "torch"),
    ("sub/x.pkl", "pickle"),
]


@pytest.mark.parametrize("name,kind", AGENT_PLANTS)
def test_pickles_in_an_agent_folder_are_refused_and_never_run(agent_folder, tmp_path, capsys, name, kind):
    marker = tmp_path / "pwned"
    plant(agent_folder, name, payload_bytes(marker, kind))
    for read in (zoo_core.load, sources.fetch):
        with pytest.raises(CheckpointError, match=f"{Path(name).name} is a pickle-format file"):
            read(str(agent_folder))
    assert_one_line_error(zoo_here(capsys, "eval", str(agent_folder), "--episodes", "1"), "pickle-format file")
    assert_one_line_error(zoo_here(capsys, "pull", str(agent_folder)), "pickle-format file")
    assert not marker.exists()


def test_a_pickle_without_magic_bytes_is_still_never_unpickled(agent_folder, tmp_path):
    marker = tmp_path / "pwned"
    plant(agent_folder, "results.json", payload_bytes(marker, "pickle0"))  # starts with "c__builtin__"
    with pytest.raises(CheckpointError, match="results.json is not a valid .json file"):
        zoo_core.load(agent_folder)  # verification's content allowlist refuses it; nothing unpickles
    with pytest.raises(CheckpointError, match="results.json is not a valid .json file"):
        verify_folder(agent_folder)  # so zoo pull refuses it too, before it lands anywhere
    assert not marker.exists()


def test_the_declared_export_is_never_opened(agent_folder, tmp_path):
    marker = tmp_path / "pwned"
    plant(agent_folder, "agent.pt", payload_bytes(marker, "torch"))  # listed under "exports"
    agent = zoo_core.load(agent_folder)
    assert agent.act(torch.zeros(4).numpy()) in (0, 1)
    assert not marker.exists()


RUN_PLANTS = [
    ("checkpoint", "x.pkl", "pickle"),
    ("checkpoint", "train_state.safetensors", "torch"),
    ("checkpoint", "model.safetensors", "pickle"),
    ("checkpoint", "train_state.json", "pickle"),
    ("best", "model.safetensors", "torch"),
    ("best", "x.pth", "pickle"),
]


@pytest.mark.parametrize("where,name,kind", RUN_PLANTS)
def test_pickles_in_a_run_directory_are_refused_and_never_run(exported_agent, tmp_path, capsys, where, name, kind):
    run = Path(shutil.copytree(exported_agent.parent / "run", tmp_path / "run"))
    folder = latest_checkpoint(run / "checkpoints") if where == "checkpoint" else run / "best"
    marker = tmp_path / "pwned"
    plant(folder, name, payload_bytes(marker, kind))
    which = "latest" if where == "checkpoint" else "best"
    with pytest.raises(CheckpointError, match=f"{name} is a pickle-format file"):
        zoo_core.load(run, which=which)
    assert_one_line_error(zoo_here(capsys, "eval", str(run), "--which", which, "--episodes", "1"), "pickle-format")
    if where == "checkpoint":
        with pytest.raises(CheckpointError, match="pickle-format file"):
            zoo_core.resume(run, steps=400)
        assert_one_line_error(zoo_here(capsys, "resume", str(run), "--steps", "400"), "pickle-format file")
    assert not marker.exists()


def test_pickles_never_reach_the_hub_or_come_back_from_it(hub, agent_folder, tmp_path):
    marker = tmp_path / "pwned"
    clean = Path(shutil.copytree(agent_folder, tmp_path / "clean"))
    plant(agent_folder, "x.pkl", payload_bytes(marker, "pickle"))
    with pytest.raises(CheckpointError, match="x.pkl is a pickle-format file"):
        publish.push(agent_folder, REPO, endpoint=hub.url, token=hub.token)
    with pytest.raises(ZooError, match="no such repo"):
        zoo_hub.download(REPO, endpoint=hub.url, cache_dir=tmp_path / "c0")  # nothing was uploaded

    # An attacker with write access commits pickles with a manifest that matches them.
    api = HfApi(endpoint=hub.url, token=hub.token)
    api.create_repo(REPO)
    for i, (name, kind) in enumerate([("model.safetensors", "pickle"), ("x.json", "pickle"), ("x.bin", "torch")]):
        evil = Path(shutil.copytree(clean, tmp_path / f"evil{i}"))
        plant(evil, name, payload_bytes(marker, kind))
        commit = api.upload_folder(repo_id=REPO, folder_path=evil, delete_patterns="*").oid
        cache = tmp_path / f"cache{i}"
        if name.endswith(".bin"):  # not a file the zoo fetches: the download leaves it out...
            with pytest.raises(ZooError, match="x.bin is missing"):  # ...and the manifest notices
                zoo_hub.download(REPO, commit, endpoint=hub.url, cache_dir=cache)
            assert not list(cache.rglob("x.bin"))
        else:
            with pytest.raises(CheckpointError, match=f"{name} is a pickle-format file"):
                zoo_hub.download(REPO, commit, endpoint=hub.url, cache_dir=cache)
    assert not marker.exists()


def test_truncated_weights_with_a_matching_manifest_are_refused(agent_folder, capsys):
    data = (agent_folder / "model.safetensors").read_bytes()
    plant(agent_folder, "model.safetensors", data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors is not a valid .safetensors file"):
        verify_folder(agent_folder)  # the header's byte ranges no longer fit the file
    with pytest.raises(CheckpointError, match="model.safetensors is not a valid .safetensors file"):
        zoo_core.load(agent_folder)
    assert_one_line_error(zoo_here(capsys, "eval", str(agent_folder), "--episodes", "1"), "model.safetensors")


@pytest.mark.parametrize(
    "key,value,needle",
    [
        (["recipe"], "evil", "unknown recipe 'evil'"),
        (["recipe"], "dqn+os.system", "plugin 'os.system' is not installed"),
        (["network", "head"], "subprocess.Popen", "unknown head 'subprocess.Popen'"),
        (["network", "torso"], "builtins.eval", "unknown torso 'builtins.eval'"),
        (["config", "evil"], {"cmd": "rm -rf /"}, "unknown config section 'evil'"),
        (["env_id"], "os:system", "os:system"),
    ],
)
def test_config_naming_unknown_code_is_a_one_line_error(agent_folder, capsys, key, value, needle):
    doc = json.loads((agent_folder / "config.json").read_text())
    node = doc
    for k in key[:-1]:
        node = node[k]
    node[key[-1]] = value
    plant(agent_folder, "config.json", json.dumps(doc).encode())
    assert_one_line_error(zoo_here(capsys, "eval", str(agent_folder), "--episodes", "1"), needle)
