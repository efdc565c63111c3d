"""Loading an agent for acting, from wherever it lives: a run, a checkpoint, an agent folder, the
registry or the Hub. Every path goes through the verified, code-free checkpoint reader."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo_core.errors import CheckpointError, ZooError
from zoo_core.host.session import build_agent, resolve
from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.publishing.sources import fetch
from zoo_core.running.checkpoint import CONFIG, latest_checkpoint, load_checkpoint


def load(path: str | Path, which: str = "latest", plugins: Sequence[object] = ()) -> Any:
    """Load an agent for acting: from a run directory, a checkpoint, an agent folder, or an id
    that `zoo pull` takes (``registry:NAME``, ``hf:org/name@rev``).

    :param which: for a run directory, ``latest`` checkpoint or ``best`` evaluation.
    :returns: the agent; ``agent.act(obs)`` is its greedy policy, ``agent.doc`` its description.
    """
    if isinstance(path, str) and path.startswith(("registry:", "hf:")):
        path = fetch(path)  # downloaded (or bundled) and verified; read like any agent folder
    folder = Path(path)
    if (folder / CONFIG).is_file() and (folder / "checkpoints").is_dir():
        if which == "best":
            folder = folder / "best"
        elif which == "latest":
            found = latest_checkpoint(folder / "checkpoints")
            if found is None:
                raise CheckpointError(f"{path} has no complete checkpoint")
            folder = found
        else:
            raise ZooError(f"which must be 'latest' or 'best'; got '{which}'")
    tensors, docs = load_checkpoint(folder)
    if "config" not in docs or "model" not in tensors:
        raise CheckpointError(f"{folder} is not a zoo agent (needs config.json and model.safetensors)")
    doc = docs["config"]
    setup = resolve(doc["recipe"], doc["env_id"], (), plugins, saved=doc["config"])
    agent = build_agent(setup, doc["signature"], doc["seed"], spec=NetworkSpec.from_json(doc["network"]))
    agent.load_model(tensors["model"])
    agent.doc, agent.setup = doc, setup
    return agent
