"""What the project ships: the bundled registry agents and the leaderboards must check out."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, run_zoo

from zoo_core.publishing import registry
from zoo_core.publishing.sources import fetch

INDEX = registry.load_index(ROOT / "registry")


@pytest.mark.parametrize("entry", INDEX["agents"], ids=[e["id"] for e in INDEX["agents"]])
def test_registry_agent_pulls_offline_and_matches_its_index(entry, monkeypatch):
    monkeypatch.setenv("ZOO_REGISTRY_DIR", str(ROOT / "registry"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = fetch(f"registry:{entry['id']}")
    config = json.loads((folder / "config.json").read_text())
    assert (config["recipe"], config["env_id"]) == (entry["recipe"], entry["env_id"])
    assert entry["score"]["verified"] and entry["score"]["leaderboard"] == entry["env_id"]
    card = (folder / "README.md").read_text()
    score = entry["score"]
    number = "{:.4g}" if "metric" in score else "{:.2f}"  # a held-out error is a small number
    assert f'value: "{number.format(score["mean"])} +/- {number.format(score["std"])}"' in card
    assert "verified: true" in card


def test_shipped_leaderboards_reproduce():
    # Every entry is re-evaluated from the registry's files: a hand-edited score fails here.
    env = {"ZOO_REGISTRY_DIR": str(ROOT / "registry"), "ZOO_LEADERBOARDS_DIR": str(ROOT / "leaderboards")}
    # Every board's every entry, the 500-level Sokoban ones included: minutes on a loaded machine, so
    # the limit is there to catch a hang, not to time anything.
    result = run_zoo("leaderboard", "verify", "--no-progress", env=env, timeout=1200)
    assert result.returncode == 0, result.stderr
    assert f"{sum(len(json.loads(p.read_text())['entries']) for p in (ROOT / 'leaderboards').glob('*.json'))} of" in (
        result.stdout + result.stderr)


def test_eval_takes_a_registry_id(tmp_path):
    out = tmp_path / "results.json"
    result = run_zoo("eval", "registry:dqn-cartpole-v1", "--episodes", "2", "--out", str(out),
                     env={"ZOO_REGISTRY_DIR": str(ROOT / "registry")})
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["episode_returns"] == [500.0, 500.0]
