"""The whole sharing path through the CLI and the real huggingface_hub client, against the local
Hub endpoint: push -> pull -> leaderboard submit -> verify -> push again (now verified) -> pull."""

from __future__ import annotations

import json
import re
import shutil

from conftest import ROOT, run_zoo

pytest_plugins = ["hub_server"]  # the hub, hf_env and agent_folder fixtures

HEX40 = re.compile(r"\b[0-9a-f]{40}\b")


def _boards(root):
    """Empty copies of the repository's leaderboards, CartPole with an 8-episode protocol."""
    root.mkdir()
    for path in (ROOT / "leaderboards").glob("*.json"):
        doc = json.loads(path.read_text())
        doc["entries"] = []
        if doc["protocol"]["env_id"] == "CartPole-v1":
            doc["protocol"]["episodes"] = 8
            doc["protocol"]["bootstrap"]["stratum_size"] = 4
        (root / path.name).write_text(json.dumps(doc))
    return root


def test_push_pull_submit_verify_round_trip(hub, hf_env, agent_folder, tmp_path):
    env = dict(hf_env, ZOO_LEADERBOARDS_DIR=str(_boards(tmp_path / "boards")))

    pushed = run_zoo("push", str(agent_folder), "--repo", "zoo-test/round-trip", env=env)
    assert pushed.returncode == 0, pushed.stderr
    first = HEX40.findall(pushed.stdout)[0]

    pulled = run_zoo("pull", f"hf:zoo-test/round-trip@{first}", "--out", str(tmp_path / "pulled"), env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert "verified: false" in (tmp_path / "pulled" / "README.md").read_text()
    assert not (tmp_path / "pulled" / "agent.pt").exists()  # the TorchScript export is never downloaded

    submitted = run_zoo("leaderboard", "submit", f"hf:zoo-test/round-trip@{first}", "--no-progress", env=env)
    assert submitted.returncode == 0, submitted.stderr
    entry = json.loads((tmp_path / "boards" / "CartPole-v1.json").read_text())["entries"][0]
    assert entry["commit"] == first and len(entry["episode_returns"]) == 8

    verified = run_zoo("leaderboard", "verify", "--no-progress", env=env)
    assert verified.returncode == 0, verified.stderr

    # The same weights pushed again: the card now carries the leaderboard's score, verified.
    again = run_zoo("push", str(agent_folder), "--repo", "zoo-test/round-trip", env=env)
    assert again.returncode == 0, again.stderr
    second = HEX40.findall(again.stdout)[0]
    assert second != first
    latest = run_zoo("pull", "hf:zoo-test/round-trip", "--out", str(tmp_path / "latest"), env=env)
    assert latest.returncode == 0, latest.stderr
    card = (tmp_path / "latest" / "README.md").read_text()
    assert f'value: "{entry["mean"]:.2f} +/- {entry["std"]:.2f}"' in card and "verified: true" in card

    # A hand-edited score no longer reproduces.
    board = tmp_path / "boards" / "CartPole-v1.json"
    doc = json.loads(board.read_text())
    doc["entries"][0]["mean"] += 1.0
    board.write_text(json.dumps(doc))
    tampered = run_zoo("leaderboard", "verify", "--no-progress", env=env)
    assert tampered.returncode == 1 and "FAIL" in tampered.stderr and "mean" in tampered.stderr

    shutil.rmtree(tmp_path / "pulled")
