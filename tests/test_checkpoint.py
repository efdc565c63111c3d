"""Checkpoints: exact resume in a new process, atomic saves, no code execution on load."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY, assert_one_line_error, run_zoo
from safetensors.torch import load_file

import zoo_core
from zoo_core import hookimpl
from zoo_core.errors import CheckpointError, NonFiniteError
from zoo_core.running import checkpoint as ckpt

N, M = 400, 400
RESUME_SETTINGS = TINY + ["n_step=3", "run.checkpoint_every=400", "run.keep_checkpoints=5", "tau=0.5"]


def _train(out: Path, steps: int, extra=(), plugins=()):
    return zoo_core.train(
        "dqn", "CartPole-v1", steps, seed=3, out=out, overrides=list(TINY) + list(extra), plugins=plugins
    )


def _tensors(folder: Path) -> dict[str, torch.Tensor]:
    out = {}
    for f in sorted(folder.glob("*.safetensors")):
        out.update({f"{f.stem}/{k}": v for k, v in load_file(str(f)).items()})
    return out


def test_resume_in_a_new_process_is_bit_identical(tmp_path):
    straight = tmp_path / "straight"
    zoo_core.train("dqn", "CartPole-v1", N + M, seed=3, out=straight, overrides=RESUME_SETTINGS)
    step_n, step_nm = f"step_{N:012d}", f"step_{N + M:012d}"
    resumed = tmp_path / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(straight / "config.json", resumed / "config.json")
    shutil.copytree(straight / "checkpoints" / step_n, resumed / "checkpoints" / step_n)
    proc = subprocess.run(
        [sys.executable, "-c", f"import zoo_core; zoo_core.resume({str(resumed)!r})"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    a = _tensors(straight / "checkpoints" / step_nm)
    b = _tensors(resumed / "checkpoints" / step_nm)
    assert a.keys() == b.keys()
    assert any(k.startswith("train_state/optim.") for k in a) and any(k.startswith("train_state/replay.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    sa = json.loads((straight / "checkpoints" / step_nm / "train_state.json").read_text())
    sb = json.loads((resumed / "checkpoints" / step_nm / "train_state.json").read_text())
    assert sa["loop"].pop("wall_s") > 0 and sb["loop"].pop("wall_s") > 0  # seconds trained differ, of course
    assert sa == sb  # counters, RNG states, env op logs, replay pointers, loop state
    assert sa["updates"] > 0 and sa["env_steps"] == N + M


def test_keeps_the_last_n_checkpoints(tmp_path):
    _train(tmp_path / "r", 500, ["run.checkpoint_every=100", "run.keep_checkpoints=2"])
    names = [p.name for p in ckpt.list_checkpoints(tmp_path / "r" / "checkpoints")]
    assert names == ["step_000000000400", "step_000000000500"]


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "r"
    _train(run, 200, ["run.checkpoint_every=200"])
    good = ckpt.latest_checkpoint(run / "checkpoints")
    assert good.name == "step_000000000200"

    import safetensors.torch

    calls = {"n": 0}
    real = safetensors.torch.save_file

    def failing_save(tensors, path):
        calls["n"] += 1
        if calls["n"] == 2:  # the model file is written, then the disk "fills up"
            Path(path).write_bytes(b"partial")
            raise OSError(28, "No space left on device")
        return real(tensors, path)

    monkeypatch.setattr(safetensors.torch, "save_file", failing_save)  # checkpoint imports it when writing
    with pytest.raises(CheckpointError, match=r"\(No space left on device\); the previous one is intact"):
        zoo_core.resume(run, steps=400)
    monkeypatch.undo()
    assert ckpt.latest_checkpoint(run / "checkpoints") == good
    assert not list((run / "checkpoints").glob(".tmp-*"))
    # a killed process leaves a temporary folder, and a hand copy may leave a folder without manifest
    (run / "checkpoints" / ".tmp-step_000000000300-999").mkdir()
    (run / "checkpoints" / ".tmp-step_000000000300-999" / "model.safetensors").write_bytes(b"x")
    (run / "checkpoints" / "step_000000000350").mkdir()
    assert ckpt.latest_checkpoint(run / "checkpoints") == good
    agent = zoo_core.load(run)
    assert agent.act(np.zeros(4, dtype=np.float32)) in (0, 1)
    result = zoo_core.resume(run, steps=300)  # and the run continues from the good one
    assert result.agent.env_steps == 300


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("trained") / "r"
    _train(run, 300, ["run.checkpoint_every=300", "run.eval_every=300"])
    return run


def _copy_checkpoint(trained: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "ckpt"
    shutil.copytree(ckpt.latest_checkpoint(trained / "checkpoints"), dst)
    return dst


@pytest.mark.parametrize("name", ["evil.pkl", "model.pt", "weights.bin", "innocent.txt"])
def test_pickle_files_are_refused_and_never_executed(trained, tmp_path, name):
    folder = _copy_checkpoint(trained, tmp_path)
    marker = tmp_path / "pwned"
    (folder / name).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(CheckpointError, match=f"{name} is a pickle-format file"):
        zoo_core.load(folder)
    assert not marker.exists()


def test_pickle_in_place_of_the_weights_is_refused(trained, tmp_path):
    folder = _copy_checkpoint(trained, tmp_path)
    marker = tmp_path / "pwned"
    (folder / "model.safetensors").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(CheckpointError, match="pickle"):
        zoo_core.load(folder)
    assert not marker.exists()


@pytest.mark.parametrize("header", [640, 896, 1152, 1408])
def test_safetensors_whose_header_length_reads_as_a_pickle_protocol_are_accepted(tmp_path, header):
    # A header of 0x280 bytes makes the file open with 80 02, as pickle protocol 2 does.
    folder = tmp_path / "f"
    folder.mkdir()
    meta = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})
    data = header.to_bytes(8, "little") + meta.ljust(header).encode() + np.ones(2, np.float32).tobytes()
    (folder / "model.safetensors").write_bytes(data)
    (folder / "config.json").write_text("{}")
    ckpt.write_manifest(folder)
    assert data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
    tensors, _ = ckpt.load_checkpoint(folder)
    assert torch.equal(tensors["model"]["w"], torch.ones(2))
    # The same two bytes on a pickle, or on a .safetensors file that is not one, are still refused.
    (folder / "model.safetensors").write_bytes(data[:2] + pickle.dumps(1)[2:])
    ckpt.write_manifest(folder)
    with pytest.raises(CheckpointError, match="model.safetensors is a pickle-format file"):
        ckpt.load_checkpoint(folder)


def test_truncated_and_edited_files_are_refused(trained, tmp_path):
    folder = _copy_checkpoint(trained, tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors is truncated or corrupted"):
        zoo_core.load(folder)
    folder = _copy_checkpoint(trained, tmp_path / "2")
    doc = json.loads((folder / "config.json").read_text())
    doc["network"]["head"] = "evil"
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="config.json is truncated or corrupted"):
        zoo_core.load(folder)
    folder = _copy_checkpoint(trained, tmp_path / "3")
    (folder / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="no valid manifest.json"):
        zoo_core.load(folder)


def test_corrupt_checkpoint_on_the_cli_is_one_line(trained, tmp_path):
    folder = _copy_checkpoint(trained, tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[:100])
    assert_one_line_error(run_zoo("eval", str(folder), "--episodes", "1"), "truncated or corrupted")


def test_mismatched_env_is_refused(trained):
    proc = run_zoo("eval", str(trained), "--env", "Acrobot-v1", "--episodes", "1")
    assert_one_line_error(proc, "does not fit Acrobot-v1", "obs shape is [4]", "[6]")


class NaNAt:
    """Makes the loss non-finite at one update."""

    name = "nan_at"

    def __init__(self, update: int):
        self.update = update

    @hookimpl
    def zoo_aux_losses(self, agent, inputs):
        return torch.tensor(float("nan")) if agent.updates + 1 == self.update else None


def test_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    run = tmp_path / "r"
    # learning starts at step 100; update 250 happens at env step 349, after the checkpoint at 300
    with pytest.raises(NonFiniteError, match=r"env step 349 .*last good checkpoint: .*step_000000000300"):
        _train(run, 1000, ["run.checkpoint_every=100"], plugins=[NaNAt(250)])
    assert ckpt.latest_checkpoint(run / "checkpoints").name == "step_000000000300"
    agent = zoo_core.load(run)
    assert all(torch.isfinite(p).all() for p in agent.network.parameters())


def test_content_allowlist(tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / "f"
    folder.mkdir()
    save_file({"w": torch.zeros(3)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text('{"a": 1}')
    (folder / "README.md").write_text("# card\n")
    ckpt.write_manifest(folder)
    ckpt.verify_folder(folder)
    for name, data, needle in [
        ("notes.txt", b"hello", "notes.txt is not a file type a zoo folder holds"),
        ("plot.png", b"GIF89a", "plot.png is not a valid .png file"),
        ("replay.mp4", b"\x00\x00\x00\x18moov", "replay.mp4 is not a valid .mp4 file"),
        ("extra.json", b"{not json", "extra.json is not a valid .json file"),
        ("README.md", b"\xff\xfe bad utf-8", "README.md is not a valid .md file"),
        ("model.safetensors", (10**9).to_bytes(8, "little") + b"{}", "model.safetensors is not a valid"),
    ]:
        bad = tmp_path / f"bad-{name}"
        shutil.copytree(folder, bad)
        (bad / name).write_bytes(data)
        ckpt.write_manifest(bad)  # the hashes match: only the content check can refuse it
        with pytest.raises(CheckpointError, match=needle):
            ckpt.verify_folder(bad)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_files_the_zoo_writes_honour_the_umask(tmp_path, umask):
    from zoo_core.running.atomic import atomic_path, shared_mode

    old = os.umask(umask)
    try:
        assert shared_mode() == 0o666 & ~umask
        folder = ckpt.write_folder(tmp_path / "agent", {"model": {"w": torch.zeros(3)}}, {"config": {"a": 1}})
        with atomic_path(tmp_path / "results.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in [*folder.iterdir(), tmp_path / "results.json"]}
    assert modes == dict.fromkeys(["model.safetensors", "config.json", "manifest.json", "results.json"], 0o666 & ~umask)
