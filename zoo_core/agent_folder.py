"""The shareable agent folder: weights, config, results, model card, video, plot, manifest.

Layout (what `zoo export` writes, `zoo push` uploads and `zoo pull` checks)::

    model.safetensors    the network's weights
    config.json          the run document: recipe, plugins and versions, hyperparameters, env id
                         and wrappers, network spec, the exact command that trained it
    results.json         the evaluation: protocol, per-episode returns, mean, std, IQM
    README.md            the model card, with the Hub's model-index metadata
    replay.mp4           one evaluation episode
    learning_curve.png   evaluation return over training
    agent.pt             TorchScript: a batch of observations -> actions (for the Open RL
                         Leaderboard); listed under the manifest's "exports", never read by the zoo
    manifest.json        sha256 and size of every other file
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo_core.checkpoint import MANIFEST, read_json, write_manifest

EXPORTS = ("agent.pt",)


def write_model_card(folder: Path, verified: dict[str, Any] | None) -> None:
    """(Re)writes README.md from config.json and results.json, then the manifest.

    :param verified: the leaderboard entry that re-evaluated this model (its score goes in the
        card with ``verified: true``), or None (the card's score is the export's own evaluation,
        ``verified: false``).
    """
    folder = Path(folder)
    doc = read_json(folder / "config.json")
    results = read_json(folder / "results.json")
    s = results["summary"]
    mean, std = (verified["mean"], verified["std"]) if verified else (s["mean"], s["std"])
    card = f"""---
library_name: agent-zoo
tags:
- reinforcement-learning
- {doc["env_id"]}
model-index:
- name: {doc["recipe"]}
  results:
  - task:
      type: reinforcement-learning
      name: reinforcement-learning
    dataset:
      type: {doc["env_id"]}
      name: {doc["env_id"]}
    metrics:
    - type: mean_reward
      value: "{mean:.2f} +/- {std:.2f}"
      name: mean_reward
      verified: {"true" if verified else "false"}
---

# {doc["recipe"]} on {doc["env_id"]}
"""
    (folder / "README.md").write_text(card)
    old = read_json(folder / MANIFEST) if (folder / MANIFEST).is_file() else {}
    write_manifest(folder, {k: v for k, v in old.items() if k not in ("format", "files")})
