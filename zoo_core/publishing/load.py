"""Loading an agent for acting, from wherever it lives: a run, a checkpoint, an agent folder, the
registry or the Hub. Every path goes through the verified, code-free checkpoint reader."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo_core.envs.custom import split_env_id, with_gym_packages
from zoo_core.errors import CheckpointError, ZooError
from zoo_core.host.session import build_agent, resolve
from zoo_core.learning.devices import CPU
from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.publishing.sources import fetch
from zoo_core.running.checkpoint import CONFIG, latest_checkpoint, load_checkpoint


def load(
    path: str | Path, which: str = "latest", plugins: Sequence[object] = (), gym_packages: Sequence[str] = ()
) -> Any:
    """Load an agent for acting: from a run directory, a checkpoint, an agent folder, or an id
    that `zoo pull` takes (``registry:NAME``, ``hf:org/name@rev``).

    :param which: for a run directory, ``latest`` checkpoint or ``best`` evaluation.
    :param gym_packages: modules to import first (``--gym-packages``). An agent folder or id whose
        env id names a module (``mymodule:MyEnv-v0``) loads only when that module is among these:
        a shared agent's files never make the zoo import code. A run directory (the user's own
        training) imports the module its env id names.
    :returns: the agent, on the CPU whatever ``run.device`` it trained with; ``agent.act(obs)`` is its
        greedy policy, ``agent.doc`` its description.
    """
    if isinstance(path, str) and path.startswith(("registry:", "hf:")):
        path = fetch(path)  # downloaded (or bundled) and verified; read like any agent folder
    folder = Path(path)
    own_run = _in_run_directory(folder)
    if (folder / CONFIG).is_file() and (folder / "checkpoints").is_dir():
        if which == "best":
            if not (folder / "best").is_dir():
                raise CheckpointError(
                    f"{path} has no best/ agent (it saves one at each periodic evaluation, run.eval_every); "
                    "use --which latest for its latest checkpoint"
                )
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
    _check_env_module(folder, str(doc.get("env_id")), own_run, gym_packages)
    setup = resolve(doc["recipe"], doc["env_id"], (), plugins, saved=doc["config"])
    # On the CPU whatever run.device said: acting one observation at a time gains nothing from a GPU,
    # and an agent trained on a GPU loads on any machine.
    agent = build_agent(setup, doc["signature"], doc["seed"], spec=NetworkSpec.from_json(doc["network"]),
                        device=CPU)
    agent.load_model(tensors["model"])
    agent.doc, agent.setup = doc, setup
    return agent


def _in_run_directory(folder: Path) -> bool:
    """Whether ``folder`` is a run directory or lies in one (its best/ or a checkpoint)."""
    return any((c / CONFIG).is_file() and (c / "checkpoints").is_dir()
               for c in (folder, folder.parent, folder.parent.parent))


def _check_env_module(folder: Path, env_id: str, own_run: bool, gym_packages: Sequence[str]) -> None:
    """Import ``gym_packages``; refuse an agent folder whose env id names a module the user did not."""
    module, _ = split_env_id(env_id)
    if module is not None and not own_run and module not in gym_packages:
        raise ZooError(
            f"{folder}: its env id {env_id!r} names the module {module!r}, and the zoo imports no module a shared "
            f"agent's files name; pass --gym-packages {module} (gym_packages=[{module!r}]) if you trust it"
        )
    with_gym_packages(env_id, gym_packages)
