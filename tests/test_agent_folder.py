"""zoo export and the registry: the shareable agent folder, its model card, the TorchScript export, safety."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import torch
from conftest import TINY, assert_one_line_error, run_zoo, zoo_in_process

import zoo_core
from zoo_core.publishing.agent_folder import export_agent, write_model_card
from zoo_core.running.atomic import shared_mode
from zoo_core.running.checkpoint import CheckpointError, verify_folder, write_manifest


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    overrides = [*TINY, "run.eval_every=200", "run.eval_episodes=2"]
    zoo_core.train("dqn+dueling", "CartPole-v1", 400, 0, root / "run", overrides)
    return export_agent(root / "run", root / "agent", episodes=4, video=True)


def test_export_writes_every_file_and_the_manifest_covers_them(exported):
    names = {p.name for p in exported.iterdir()}
    assert names == {"model.safetensors", "config.json", "results.json", "README.md", "replay.mp4",
                     "learning_curve.png", "agent.pt", "manifest.json"}
    manifest = verify_folder(exported)
    assert set(manifest["files"]) == names - {"manifest.json"}
    modes = {p.name: p.stat().st_mode & 0o777 for p in exported.iterdir()}
    assert modes == dict.fromkeys(modes, shared_mode())  # safetensors writes 0600 unless told
    assert manifest["exports"] == ["agent.pt"]
    config = json.loads((exported / "config.json").read_text())
    assert config["recipe"] == "dqn+dueling" and config["env_id"] == "CartPole-v1"
    assert config["plugin_versions"]["dueling"] and config["eval_wrappers"][-1] == "CartPoleEnv"
    results = json.loads((exported / "results.json").read_text())
    assert len(results["episode_returns"]) == 4
    assert results["mean"] == pytest.approx(np.mean(results["episode_returns"]))


def test_model_card_has_the_hub_model_index(exported):
    card = (exported / "README.md").read_text()
    results = json.loads((exported / "results.json").read_text())
    header = card.split("---")[1]
    assert "type: reinforcement-learning" in header and "type: CartPole-v1" in header
    assert f'value: "{results["mean"]:.2f} +/- {results["std"]:.2f}"' in header
    assert "verified: false" in header
    assert "zoo train dqn+dueling" in card or "python API" in card


def test_verified_card_carries_the_leaderboard_score(exported, tmp_path):
    folder = shutil.copytree(exported, tmp_path / "agent")
    write_model_card(folder, {"mean": 123.456, "std": 7.0, "leaderboard": "CartPole-v1"})
    header = (folder / "README.md").read_text().split("---")[1]
    assert 'value: "123.46 +/- 7.00"' in header and "verified: true" in header
    verify_folder(folder)  # the manifest was rewritten with the new card


def test_torchscript_export_matches_the_agent(exported):
    agent = zoo_core.load(exported)
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    # Our own file, just written: loading TorchScript here is the test, never the zoo's loader.
    with warnings.catch_warnings():  # torch deprecates TorchScript; the Open RL Leaderboard runs it
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = torch.jit.load(str(exported / "agent.pt"))
    assert np.array_equal(policy(torch.as_tensor(obs)).numpy(), agent.act(obs))


def test_loader_never_needs_the_export_and_refuses_unlisted_pickles(exported, tmp_path):
    folder = shutil.copytree(exported, tmp_path / "agent")
    (folder / "agent.pt").unlink()  # zoo pull never downloads it
    assert zoo_core.load(folder).act(np.zeros(4, np.float32)) in (0, 1)
    other = shutil.copytree(exported, tmp_path / "other")
    shutil.copy(other / "agent.pt", other / "policy.pt")
    write_manifest(other, {"exports": ["agent.pt"]})  # listed, but not an allowed export name
    with pytest.raises(CheckpointError, match="policy.pt is a pickle"):
        zoo_core.load(other)
    bare = shutil.copytree(exported, tmp_path / "bare")
    write_manifest(bare)  # agent.pt hashed but not declared an export: refused like any pickle
    with pytest.raises(CheckpointError, match="agent.pt is a pickle"):
        zoo_core.load(bare)


def test_export_refuses_an_existing_folder(exported):
    result = run_zoo("export", str(exported), "--out", str(exported))
    assert result.returncode == 2 and "already exists" in result.stderr and "Traceback" not in result.stderr


# ----------------------------------------------------------------------------- registry


def test_registry_add_search_lookup(exported, tmp_path, monkeypatch):
    from zoo_core.errors import ZooError
    from zoo_core.publishing import registry

    monkeypatch.setenv("ZOO_REGISTRY_DIR", str(tmp_path / "reg"))
    entry = registry.add(exported, "dueling-cartpole")
    bundled = registry.bundled_folder(entry)
    assert bundled == tmp_path / "reg" / "agents" / "dueling-cartpole"
    assert not (bundled / "agent.pt").exists()  # the export stays out of the bundle
    assert verify_folder(bundled)["files"]["agent.pt"]  # ...but its hash is kept for the Hub copy
    results = json.loads((exported / "results.json").read_text())
    assert entry["score"] == {"mean": results["mean"], "std": results["std"], "iqm": results["iqm"],
                              "episodes": 4, "verified": False, "leaderboard": None}
    assert entry["plugins"] == ["dueling"] and entry["env_id"] == "CartPole-v1"
    registry.add(exported, "hub-only", hub_repo="org/x", revision="a" * 40, bundle=False,
                 score={"mean": 1.0, "std": 0.0, "iqm": 1.0, "ci": [1.0, 1.0], "episodes": 8,
                        "leaderboard": "CartPole-v1", "name": "x"})
    assert [e["id"] for e in registry.search(env="cartpole-v1")] == ["dueling-cartpole", "hub-only"]
    assert [e["id"] for e in registry.search(plugin="dueling")] == ["dueling-cartpole", "hub-only"]
    assert registry.search("hub") == [registry.lookup("hub-only")]
    assert registry.search(recipe="rainbow") == []
    assert registry.lookup("hub-only")["score"]["verified"] is True
    with pytest.raises(ZooError, match="known: dueling-cartpole, hub-only"):
        registry.lookup("nope")
    with pytest.raises(ZooError, match="already has"):
        registry.add(exported, "hub-only")
    with pytest.raises(ZooError, match="lower-case"):
        registry.add(exported, "Bad Name")
    with pytest.raises(ZooError, match="40-hex"):
        registry.add(exported, "pinned", hub_repo="org/x", revision="main", bundle=False)


def test_registry_cli_lists_and_errors(exported, tmp_path):
    env = {"ZOO_REGISTRY_DIR": str(tmp_path / "reg")}
    added = run_zoo("registry", "--add", str(exported), "--id", "dq", env=env)
    assert added.returncode == 0 and "registered dq: dqn+dueling on CartPole-v1" in added.stdout
    listed = run_zoo("registry", "--plugin", "dueling", env=env)
    assert listed.returncode == 0 and "registry (1 agents)" in listed.stdout
    assert "registry (0 agents)" in run_zoo("registry", "--env", "Acrobot-v1", env=env).stdout
    missing = run_zoo("registry", "--add", str(exported), env=env)
    assert missing.returncode == 2 and missing.stderr.strip() == "zoo: error: zoo registry --add FOLDER needs --id NAME"


def test_export_of_a_run_without_periodic_evaluations(tmp_path, capsys):
    zoo_core.train("dqn", "CartPole-v1", 200, 0, tmp_path / "run", TINY)  # eval_every=0: eval.csv has no rows
    proc = zoo_in_process(capsys, "export", str(tmp_path / "run"), "--out", str(tmp_path / "agent"))  # --which best
    assert_one_line_error(proc, "has no best/ agent", "--which latest")
    out = export_agent(tmp_path / "run", tmp_path / "agent", which="latest", episodes=2, video=False)
    names = {p.name for p in out.iterdir()}
    assert "learning_curve.png" not in names and "replay.mp4" not in names and "agent.pt" in names
    verify_folder(out)


def test_export_takes_registry_ids(tmp_path, capsys):
    out = tmp_path / "agent"
    proc = zoo_in_process(capsys, "export", "registry:dqn-cartpole-v1", "--out", str(out), "--episodes", "2",
                          "--no-video")
    assert proc.returncode == 0, proc.stderr
    manifest = verify_folder(out)
    assert {"model.safetensors", "config.json", "results.json", "README.md"} <= set(manifest["files"])
    results = json.loads((out / "results.json").read_text())
    assert results["agent"] == "registry:dqn-cartpole-v1" and results["mean"] == 500.0
