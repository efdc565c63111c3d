"""The shareable agent folder: weights, config, results, model card, video, plot, manifest.

Layout (what `zoo export` writes, `zoo push` uploads and `zoo pull` checks)::

    model.safetensors    the network's weights
    config.json          the run document: recipe, plugins and versions, hyperparameters, env id
                         and its wrappers, network spec, the exact command that trained it
    results.json         the export's evaluation: protocol, per-episode returns, mean, std, IQM
    README.md            the model card, with the Hub's model-index metadata
    replay.mp4           one evaluation episode
    learning_curve.png   evaluation return over training (when the run evaluated periodically)
    agent.pt             TorchScript: observations [N, *obs_shape] -> actions [N] (what the Open
                         RL Leaderboard runs); listed under the manifest's "exports": the zoo
                         never reads it, and `zoo pull` never downloads it
    manifest.json        sha256 and size of every other file
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from zoo_core.errors import ZooError
from zoo_core.running.checkpoint import EXPORTS, MANIFEST, read_json, save_safetensors, write_json, write_manifest
from zoo_core.running.evaluation import score_text

__all__ = ["EXPORTS", "export_agent", "write_model_card"]


def export_torchscript(agent: Any, path: Path, example_obs: Any = None) -> bool:
    """Traces the greedy policy (eval mode: NoisyNet on its means) to TorchScript at `path`.

    An agent says what to trace with ``greedy_module()`` (observations ``[N, *obs_shape]`` ->
    actions ``[N]``), or None when its policy has memory, which a stateless trace cannot carry;
    then nothing is written and False returned. ``example_obs``: one observation to trace with
    (zeros of the observation shape when None).
    """
    import numpy as np

    shape = tuple(agent.spec.obs_shape)
    dtype = np.dtype(agent.doc["signature"].get("obs_dtype", "float32"))
    # A real observation where there is one: a network may check its input is what the env gives
    # (I2A reads Sokoban frames as cells of known colours, and zeros are no such frame).
    example = torch.as_tensor(np.zeros((2, *shape), dtype) if example_obs is None
                              else np.stack([np.asarray(example_obs, dtype)] * 2))
    policy = agent.greedy_module()
    if policy is None:
        return False
    policy = policy.eval()
    # torch deprecates TorchScript, but it is the format the Open RL Leaderboard runs.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        # A pure function's shape checks become constants of the trace, which is fixed-shape anyway.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(policy, example, check_trace=False)
        traced.save(str(path))
    agent.network.train()
    return True


def export_agent(
    source: str | Path,
    out: str | Path,
    *,
    which: str = "best",
    episodes: int = 20,
    seed: int = 0,
    video: bool = True,
    progress: bool = False,
    gym_packages: Sequence[str] = (),
) -> Path:
    """Writes a complete agent folder at `out` from a run directory, checkpoint, agent folder or an id
    (``registry:NAME``, ``hf:org/name@rev``).

    The folder is assembled in a hidden sibling and renamed into place when whole, so `out` is
    never half-written; an existing `out` is refused rather than overwritten.

    :param which: for a run directory, the ``best`` evaluated agent or the ``latest`` checkpoint.
    :param episodes: greedy evaluation episodes for results.json (seeded `seed`, `seed + 1`, ...).
    :param video: record episode 0 to replay.mp4 (needs the env's rgb_array rendering).
    :param gym_packages: modules to import first (see :func:`zoo_core.publishing.load.load`).
    """
    from zoo_core.envs import wrapper_chain
    from zoo_core.publishing.load import load
    from zoo_core.running.evaluation import write_results
    from zoo_core.running.video import write_video

    out = Path(out)
    if out.exists():
        raise ZooError(f"{out} already exists; pick another --out")
    agent = load(source, which=which, gym_packages=gym_packages)  # a str keeps registry:NAME and hf:org/name ids intact
    setup = agent.setup
    video = video and setup.algorithm.metric == "return"  # a held-out metric has no episodes to film
    tmp = out.parent / f".tmp-{out.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        save_safetensors(agent.model_tensors(), tmp / "model.safetensors")
        probe = setup.make_env(training=False)
        doc = dict(agent.doc, eval_wrappers=wrapper_chain(probe), env_description=setup.family.description)
        example_obs, _ = probe.reset(seed=seed)
        probe.close()
        write_json(tmp / "config.json", doc)
        frames: list = []
        # As the run evaluated it: a policy that its runs sampled is sampled here too.
        result = setup.evaluate(agent, setup.protocol(episodes, seed, sample=setup.config["run"].eval_sample),
                                progress=progress,
                                record=frames.append if video else None)
        write_results(result, tmp / "results.json", extra={"agent": str(source)})
        if video:
            write_video(frames, tmp / "replay.mp4")
        run_dir = None if str(source).startswith(("registry:", "hf:")) else _run_dir_of(Path(source))
        if run_dir is not None and _has_rows(run_dir / "eval.csv"):  # runs with eval_every=0 have none
            from zoo_core.running.plots import plot_learning_curve

            plot_learning_curve(run_dir / "eval.csv", tmp / "learning_curve.png",
                                title=f"{doc['recipe']} on {doc['env_id']}")
        if not export_torchscript(agent, tmp / "agent.pt", example_obs):
            print(f"note: {doc['recipe']} acts with memory; no stateless agent.pt was written", file=sys.stderr)
        write_model_card(tmp, None)  # writes README.md and the manifest
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _has_rows(csv_path: Path) -> bool:
    from zoo_core.running.plots import read_csv_rows

    try:
        return bool(read_csv_rows(csv_path))
    except ZooError:  # missing, or empty without even a header
        return False


def _run_dir_of(source: Path) -> Path | None:
    """The run directory `source` belongs to (itself, or the parent of best/ or checkpoints/step_*)."""
    for candidate in (source, source.parent, source.parent.parent):
        if (candidate / "checkpoints").is_dir() and (candidate / "config.json").is_file():
            return candidate
    return None


def _hyperparameters(doc: dict[str, Any]) -> str:
    rows = []
    for section, values in doc.get("config", {}).items():
        if isinstance(values, dict):
            rows += [f"| `{section}.{k}` | `{json.dumps(v)}` |" for k, v in sorted(values.items())]
    return "\n".join(["| key | value |", "|---|---|", *rows])


def write_model_card(folder: Path, verified: dict[str, Any] | None) -> None:
    """(Re)writes README.md from config.json and results.json, then the manifest.

    :param verified: the leaderboard entry that re-evaluated exactly this model (its score goes
        in the card with ``verified: true``), or None: the card then carries the export's own
        evaluation with ``verified: false``.
    """
    folder = Path(folder)
    doc = read_json(folder / "config.json")
    results = read_json(folder / "results.json")
    s, protocol = results, results["protocol"]
    metric = protocol.get("metric", "return")
    label = "" if metric == "return" else f"{metric} "
    if metric == "return":
        episodes = (f"{s['episodes']} episodes with actions sampled from the policy" if protocol.get("sample")
                    else f"{s['episodes']} greedy episodes")
        solved = f", {s['success_rate']:.0%} of them successes" if "success_rate" in s else ""
        how = (f"Export evaluation: {episodes} (ε = {protocol['epsilon']}), episode i reset "
               f"with seed\n{protocol['seed']} + i{solved}")
        files = ("`results.json`, `replay.mp4`, `learning_curve.png`, and `agent.pt`, a TorchScript policy\n"
                 "(observations -> actions)")
    else:
        how = (f"Export evaluation: {metric} on {s['episodes']} held-out items (item i is the env's reset with "
               f"seed\n{protocol['seed']} + i; {'lower' if protocol.get('lower_is_better') else 'higher'} is better)")
        files = ("`results.json`, `learning_curve.png`, and `agent.pt`, the TorchScript predictor\n"
                 "(observations -> predictions)")
    if verified:
        mean, std = verified["mean"], verified["std"]
        where = f"re-evaluated by the zoo's `{verified.get('leaderboard', doc['env_id'])}` leaderboard"
        if "success_rate" in verified:
            where += f", {verified['success_rate']:.0%} of its episodes successes"
    else:
        mean, std = s["mean"], s["std"]
        where = "the export's own evaluation (not verified by a leaderboard)"
    plugins = ", ".join(f"`{p}` {v}" for p, v in doc.get("plugin_versions", {}).items()) or "none"
    name = doc["recipe"]
    commands = "\n".join([doc.get("command", "python API"), *doc.get("resumes", [])])  # the run's resumes too
    card = f"""---
library_name: agent-zoo
tags:
- reinforcement-learning
- deep-reinforcement-learning
- agent-zoo
- {doc["env_id"]}
model-index:
- name: {name}
  results:
  - task:
      type: reinforcement-learning
      name: reinforcement-learning
    dataset:
      type: {doc["env_id"]}
      name: {doc["env_id"]}
    metrics:
    - type: {"mean_reward" if metric == "return" else metric}
      value: "{score_text(mean, metric)} +/- {score_text(std, metric)}"
      name: {"mean_reward" if metric == "return" else metric}
      verified: {"true" if verified else "false"}
---

# `{name}` on {doc["env_id"]}

An Agent Zoo agent: recipe `{name}` (algorithm `{doc["algorithm"]}`), plugins {plugins}.

**Score:** {label}{score_text(mean, metric)} +/- {score_text(std, metric)}, {where}.
{how}: mean {score_text(s["mean"], metric)}, std {score_text(s["std"], metric)}, IQM {score_text(s["iqm"], metric)}.

**Trained with** (seed {doc["seed"]}, {doc["total_steps"]} env steps):

```bash
{commands}
```

**Use it:**

```bash
zoo pull hf:ORG/NAME --out agent && zoo eval agent --episodes 100
```

The files are `model.safetensors` (weights), `config.json` (everything needed to rebuild the
network), {files} for tools that run TorchScript; the zoo itself never loads it.
`manifest.json` holds every file's sha256, checked on every load.

## Hyperparameters

{_hyperparameters(doc)}

Env wrappers at evaluation (outermost first): {", ".join(doc.get("eval_wrappers", [])) or "n/a"}.
"""
    (folder / "README.md").write_text(card)
    old = read_json(folder / MANIFEST) if (folder / MANIFEST).is_file() else {}
    keep = {k: v for k, v in old.items() if k not in ("format", "files", "exports")}
    exports = sorted(name for name in EXPORTS if (folder / name).is_file())
    write_manifest(folder, {**keep, **({"exports": exports} if exports else {})})
