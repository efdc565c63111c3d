"""Leaderboards: a fixed protocol per env, entries re-evaluated by the zoo itself.

A leaderboard is one JSON file in `paths.leaderboards_dir()`, named after its env id with `/` as
`_` (`CartPole-v1.json`, `MinAtar_Breakout-v1.json`)::

    {"format": 1,
     "description": "the rules in prose",
     "protocol": {"env_id", "episodes", "seed", "epsilon", "max_steps",   # an EvalProtocol
                  ["metric", "lower_is_better"],                          # a held-out metric's board only
                  "wrappers", "env_kwargs", "time_limit",                 # the env the family builds
                  "bootstrap": {"reps", "confidence", "seed", "stratum_size"}},
     "entries": [{"name", "agent", "commit", "recipe", "files", "episode_returns",
                  "episode_lengths", "mean", "std", "iqm", "ci", "zoo_version",
                  "plugin_versions", "protocol_sha256", "date"}, ...]}

Nothing in an entry is self-reported: `submit` fetches the agent, evaluates it under the protocol
(never reading its results.json or model card) and derives every number from the episode returns;
`verify_entry` does it all again and lists what does not reproduce. Entries are ranked by IQM (ties:
mean, then name): the interquartile mean is the headline statistic of Agarwal et al. 2021 (rliable),
robust to a few outlier episodes yet using half the data, unlike the median.

A board may rank by a metric an algorithm computes on a held-out set instead of returns (the
predictron's mean squared error): its protocol then names the `metric` and whether lower is better,
`episode_returns` holds the metric's value on each held-out item and the ranking follows its
direction. A board without those keys ranks returns, highest first.

One entry per model: a second submission of the same model.safetensors is refused unless
`replace=True`, which swaps the old entry for the new one (evaluation is deterministic, so only the
name, agent id and date can change).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from zoo_core.errors import ZooError
from zoo_core.publishing.paths import leaderboards_dir, refuse_shipped
from zoo_core.running.atomic import atomic_path
from zoo_core.running.checkpoint import MANIFEST, read_json, sha256_file
from zoo_core.running.evaluation import EvalProtocol, EvalResult, score_text
from zoo_core.running.stats import bootstrap_ci, iqm, summarize
from zoo_core.version import __version__

__all__ = [
    "Board",
    "Bootstrap",
    "EVALUATED_FILES",
    "board_filename",
    "discrepancies",
    "env_description",
    "evaluate_folder",
    "find_board",
    "list_boards",
    "protocol_hash",
    "rank",
    "score",
    "strata",
    "submit",
    "verified_score",
    "verify_board",
    "verify_entry",
]

FORMAT = 1
# The files an evaluation reads: the weights and the run document that rebuilds the network. The
# model card, results.json and video are not hashed: `zoo push` rewrites the card with the verified
# score, which must not unverify it.
EVALUATED_FILES = ("model.safetensors", "config.json")
# Derived floats (mean, std, IQM, CI) may differ by summation order across platforms, no more.
TOLERANCE = 1e-9
_EVAL_KEYS = ("env_id", "episodes", "seed", "epsilon", "max_steps")
# Present only where not the default: a board that ranks a held-out metric, or samples the policy.
_METRIC_KEYS = ("metric", "lower_is_better", "sample")
_OPTIONAL_KEYS = (*_METRIC_KEYS, "success")  # success: true on a board that ranks by success rate first
_ENV_KEYS = ("wrappers", "env_kwargs", "time_limit")
_ENTRY_KEYS = {"name", "agent", "files", "episode_returns", "episode_lengths", "mean", "std", "iqm", "ci",
               "protocol_sha256"}


@dataclass(frozen=True)
class Bootstrap:
    """How the IQM's confidence interval is computed; part of the protocol, so part of its hash.

    Attributes:
        reps: bootstrap resamples.
        confidence: coverage of the interval, in (0, 1).
        seed: seeds the resampling generator, so the interval reproduces exactly.
        stratum_size: consecutive episodes per stratum (see `strata`).
    """

    reps: int = 2000
    confidence: float = 0.95
    seed: int = 0
    stratum_size: int = 10


def strata(episodes: int, stratum_size: int) -> np.ndarray:
    """Stratum label of each episode: blocks of `stratum_size` consecutive episode indices.

    Episode i is reset with seed0 + i, so a block is a range of reset seeds. The stratified bootstrap
    redraws, within each block, as many episodes as the block holds: every resample covers the
    protocol's seed range in the same proportions as the evaluation did (as rliable keeps each
    task's share fixed), and the interval reflects the spread of returns within seed ranges rather
    than the luck of a resample that over-represents one range. For independent seeds this changes
    little; it matters for envs whose seeds are not exchangeable (seeds that pick levels, say).

    Returns:
        Labels `[episodes]`, `i // stratum_size`.
    """
    return np.arange(episodes) // stratum_size


def score(returns: Sequence[float], bootstrap: Bootstrap) -> dict[str, Any]:
    """Every statistic a leaderboard records, derived from per-episode returns alone.

    Args:
        returns: one undiscounted return per episode, in episode-index order, `[n]`.
        bootstrap: the interval's settings; a fresh generator seeded `bootstrap.seed` makes the
            interval a pure function of the returns.

    Returns:
        `{"mean", "std" (population, ddof=0), "iqm", "ci": [low, high]}`, the 95% (or
        `bootstrap.confidence`) stratified percentile-bootstrap interval of the IQM.
    """
    summary = summarize(returns)
    low, high = bootstrap_ci(
        returns,
        iqm,
        confidence=bootstrap.confidence,
        reps=bootstrap.reps,
        rng=np.random.default_rng(bootstrap.seed),
        strata=strata(len(returns), bootstrap.stratum_size),
    )
    return {"mean": summary["mean"], "std": summary["std"], "iqm": summary["iqm"], "ci": [low, high]}


def protocol_hash(protocol: Mapping[str, Any]) -> str:
    """sha256 of a protocol's canonical JSON (sorted keys, no spaces): equal iff the rules are."""
    text = json.dumps(protocol, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def rank(entries: Sequence[Mapping[str, Any]], lower_is_better: bool = False,
         success: bool = False) -> list[Mapping[str, Any]]:
    """Entries best first: by IQM, then mean (highest first, or lowest for a lower-is-better
    metric), then name; on a board that ranks by success, by success rate (highest first) before all."""
    sign = 1.0 if lower_is_better else -1.0
    return sorted(entries, key=lambda e: (-e["success_rate"] if success else 0.0, sign * e["iqm"], sign * e["mean"],
                                          e["name"]))


def env_description(env: gym.Env) -> dict[str, Any]:
    """What a protocol pins about the eval env, so a family that changes its wrappers cannot go unnoticed.

    Returns:
        `{"wrappers": class names outermost first, down to the base env; "env_kwargs": the arguments
        gymnasium made it with (`env.spec.kwargs` but render_mode; {} without a spec); "time_limit":
        the spec's max_episode_steps or None}`, as JSON values.
    """
    from zoo_core.envs import wrapper_chain

    chain = wrapper_chain(env)
    spec = env.spec
    kwargs = {k: v for k, v in (spec.kwargs if spec else {}).items() if k != "render_mode"}
    return json.loads(json.dumps(
        {"wrappers": chain, "env_kwargs": kwargs, "time_limit": spec.max_episode_steps if spec else None},
        default=str,
    ))


def _near(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=TOLERANCE)


def discrepancies(entry: Mapping[str, Any], protocol_sha256: str, files: Mapping[str, str],
                  returns: Sequence[float], lengths: Sequence[int], bootstrap: Bootstrap,
                  successes: Sequence[bool] | None = None) -> list[str]:
    """What in a recorded entry does not match a fresh fetch and evaluation of its agent.

    Args:
        entry: the recorded entry.
        protocol_sha256: the leaderboard's current protocol hash.
        files: sha256 of the evaluated files as fetched now.
        returns, lengths: per-episode returns and lengths of the re-evaluation.
        bootstrap: the protocol's bootstrap settings.
        successes: per-episode successes of the re-evaluation (checked where the entry records them).

    Returns:
        One short phrase per mismatch (empty when everything reproduces): returns and lengths must
        be equal, derived statistics within `TOLERANCE`.
    """
    problems = []
    if entry.get("protocol_sha256") != protocol_sha256:
        problems.append("recorded under another protocol (its protocol_sha256 is not the leaderboard's)")
    for name, digest in entry["files"].items():
        if files.get(name) != digest:
            problems.append(f"{name} sha256 is {str(files.get(name))[:12]}, recorded {str(digest)[:12]}")
    compared = [("returns", entry["episode_returns"], list(returns)),
                ("lengths", entry["episode_lengths"], list(lengths))]
    if "episode_successes" in entry:
        compared.append(("successes", entry["episode_successes"], list(successes or [])))
    for what, recorded, fresh in compared:
        if len(recorded) != len(fresh):
            problems.append(f"{len(recorded)} episode {what} recorded, {len(fresh)} re-evaluated")
            continue
        bad = [i for i, (r, f) in enumerate(zip(recorded, fresh, strict=True)) if r != f]
        if bad:
            i = bad[0]
            problems.append(f"episode {what} differ in {len(bad)} of {len(fresh)} episodes "
                            f"(episode {i}: recorded {recorded[i]}, re-evaluated {fresh[i]})")
    derived = score(returns, bootstrap)
    for key in ("mean", "std", "iqm"):
        if not _near(float(entry[key]), derived[key]):
            problems.append(f"{key} recorded {entry[key]}, re-evaluated {derived[key]}")
    ci = entry["ci"]
    if not all(_near(float(r), f) for r, f in zip(ci, derived["ci"], strict=True)):
        problems.append(f"ci recorded {ci}, re-evaluated {derived['ci']}")
    return problems


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_entry(i: int, entry: Mapping[str, Any]) -> None:
    """Raise ValueError if entry `i` lacks a key or holds a value of the wrong type."""
    lacking = sorted(_ENTRY_KEYS - set(entry))
    if lacking:
        raise ValueError(f"entry {i} lacks {', '.join(lacking)}")
    files, returns, lengths, ci = entry["files"], entry["episode_returns"], entry["episode_lengths"], entry["ci"]
    if not (isinstance(files, dict) and all(isinstance(files.get(n), str) for n in EVALUATED_FILES)
            and isinstance(returns, list) and all(map(_is_number, returns))
            and isinstance(lengths, list) and all(isinstance(n, int) for n in lengths)
            and all(_is_number(entry[k]) for k in ("mean", "std", "iqm"))
            and isinstance(ci, list) and len(ci) == 2 and all(map(_is_number, ci))):
        raise ValueError(f"entry {i} ('{entry['name']}') has a malformed files, returns, lengths or statistic")


def _check_successes(i: int, entry: Mapping[str, Any]) -> None:
    """Raise ValueError if entry `i` of a board that ranks by success lacks its successes or they
    do not agree with its returns and success rate."""
    successes, rate = entry.get("episode_successes"), entry.get("success_rate")
    if (not isinstance(successes, list) or not all(isinstance(x, bool) for x in successes)
            or len(successes) != len(entry["episode_returns"]) or not _is_number(rate)
            or not _near(float(rate), sum(successes) / max(1, len(successes)))):
        raise ValueError(f"entry {i} ('{entry['name']}') lacks its episode_successes or success_rate, "
                         "or they disagree")


@dataclass
class Board:
    """One leaderboard file: its protocol (as written) and entries."""

    path: Path
    description: str
    protocol: dict[str, Any]
    entries: list[dict[str, Any]]

    @property
    def env_id(self) -> str:
        """The env the leaderboard ranks agents on."""
        return self.protocol["env_id"]

    @property
    def eval_protocol(self) -> EvalProtocol:
        """The evaluation part of the protocol."""
        return EvalProtocol.from_json({k: self.protocol[k] for k in (*_EVAL_KEYS, *_METRIC_KEYS) if k in self.protocol})

    @property
    def lower_is_better(self) -> bool:
        """Whether the board ranks lowest first (a held-out error), not highest (returns)."""
        return bool(self.protocol.get("lower_is_better", False))

    @property
    def success(self) -> bool:
        """Whether the board records each episode's success and ranks by the success rate first
        (protocol key ``success``; Sokoban's solved levels)."""
        return bool(self.protocol.get("success", False))

    def success_text(self, entry: Mapping[str, Any]) -> str:
        """``34%``: an entry's success rate (empty on a board without successes)."""
        return f"{entry['success_rate']:.0%}" if "success_rate" in entry else ""

    @property
    def metric(self) -> str:
        """What it ranks: ``return`` or a held-out metric's name."""
        return str(self.protocol.get("metric", "return"))

    def iqm_text(self, entry: Mapping[str, Any]) -> str:
        """``8.68 [8.02, 9.30]``: an entry's IQM and its interval, as the board's metric is shown."""
        iqm, low, high = (score_text(x, self.metric) for x in (entry["iqm"], *entry["ci"]))
        return f"{iqm} [{low}, {high}]"

    def mean_text(self, entry: Mapping[str, Any]) -> str:
        """``8.44 ± 2.75``: an entry's mean and standard deviation."""
        return f"{score_text(entry['mean'], self.metric)} ± {score_text(entry['std'], self.metric)}"

    def entry_text(self, entry: Mapping[str, Any]) -> str:
        """An entry's numbers in one phrase: ``IQM 8.68 [8.02, 9.30], mean 8.44 ± 2.75 over 100 episodes``
        (four significant digits and "held-out items" on a metric's board)."""
        what = "episodes" if self.metric == "return" else f"held-out items ({self.metric})"
        success = f"success {self.success_text(entry)}, " if "success_rate" in entry else ""
        return (f"{success}IQM {self.iqm_text(entry)}, mean {self.mean_text(entry)} over "
                f"{len(entry['episode_returns'])} {what}")

    def ranked(self) -> list[Mapping[str, Any]]:
        """The entries, best first in the board's direction (:func:`rank`)."""
        return rank(self.entries, self.lower_is_better, self.success)

    @property
    def bootstrap(self) -> Bootstrap:
        """The confidence interval's settings."""
        return Bootstrap(**self.protocol["bootstrap"])

    @property
    def sha256(self) -> str:
        """The protocol's hash, recorded in every entry."""
        return protocol_hash(self.protocol)

    @classmethod
    def read(cls, path: Path) -> Board:
        """Read and check a leaderboard file; ZooError naming the file and the problem."""
        try:
            doc = json.loads(Path(path).read_text())
            protocol, entries = doc["protocol"], doc["entries"]
            if doc.get("format") != FORMAT or not isinstance(entries, list):
                raise ValueError(f"expected format {FORMAT} and a list of entries")
            expected = {*_EVAL_KEYS, *_ENV_KEYS, "bootstrap"}
            if set(protocol) - set(_OPTIONAL_KEYS) != expected:
                raise ValueError(f"protocol keys must be {', '.join(sorted(expected))} (and optionally "
                                 f"{', '.join(_OPTIONAL_KEYS)})")
            if not isinstance(protocol.get("success", False), bool):
                raise ValueError("protocol key success must be true or false")
            board = cls(Path(path), str(doc.get("description", "")), protocol, entries)
            if board.eval_protocol.episodes < 1 or board.bootstrap.stratum_size < 1:
                raise ValueError("episodes and bootstrap.stratum_size must be >= 1")
            for i, entry in enumerate(entries):
                _check_entry(i, entry)
                if board.success:
                    _check_successes(i, entry)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ZooError) as exc:
            raise ZooError(f"leaderboard {path}: {exc}") from None
        return board

    def write(self) -> None:
        """Write the file atomically (readers see the old board or the new one)."""
        doc = {"format": FORMAT, "description": self.description, "protocol": self.protocol, "entries": self.entries}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def board_filename(env_id: str) -> str:
    """`CartPole-v1.json`, `MinAtar_Breakout-v1.json`: the env id with `/` as `_`."""
    return env_id.replace("/", "_") + ".json"


def list_boards(root: Path | None = None) -> list[Board]:
    """Every leaderboard under `root` (default `paths.leaderboards_dir()`), sorted by env id."""
    root = leaderboards_dir() if root is None else root
    paths = sorted(root.glob("*.json")) if root.is_dir() else []
    return sorted((Board.read(p) for p in paths), key=lambda b: b.env_id)


def find_board(env: str) -> Board:
    """The leaderboard of an env id (or of its file stem, `MinAtar_Breakout-v1`).

    :raises ZooError: no such leaderboard; the message names the ones that exist.
    """
    boards = list_boards()
    for board in boards:
        if env in (board.env_id, board.path.stem):
            return board
    known = ", ".join(b.env_id for b in boards) or f"none (no leaderboard files in {leaderboards_dir()})"
    raise ZooError(f"no leaderboard for {env}; leaderboards exist for {known}")


@dataclass
class Evaluation:
    """A fetched agent evaluated under a protocol."""

    folder: Path
    files: dict[str, str]
    recipe: str
    plugin_versions: dict[str, str]
    result: EvalResult


def evaluated_files(folder: Path) -> dict[str, str]:
    """sha256 of each of `EVALUATED_FILES`, from the folder's manifest (verified by `sources.fetch`)."""
    listed = read_json(folder / MANIFEST)["files"]
    missing = [name for name in EVALUATED_FILES if name not in listed]
    if missing:
        raise ZooError(f"{folder} is not an agent folder: its manifest lists no {missing[0]}")
    return {name: listed[name]["sha256"] for name in EVALUATED_FILES}


def evaluate_folder(folder: Path, board: Board, progress: bool = False) -> Evaluation:
    """Check a fetched agent folder and the env against the board's protocol, then run the protocol.

    :raises ZooError: the agent cannot be loaded, was trained on another env or does not fit it, or
        the env family no longer builds the env the protocol describes.
    """
    from zoo_core.host.manager import plugin_versions
    from zoo_core.host.session import check_signature
    from zoo_core.publishing.load import load

    files = evaluated_files(folder)
    agent = load(folder)
    if agent.doc["env_id"] != board.env_id:
        raise ZooError(f"{folder} holds an agent for {agent.doc['env_id']}, not {board.env_id}")
    setup = agent.setup
    probe = setup.make_env(training=False)
    try:
        check_signature(agent.doc["signature"], probe, board.env_id)
        built = env_description(probe)
    finally:
        probe.close()
    for key in _ENV_KEYS:
        if built[key] != board.protocol[key]:
            raise ZooError(f"the {board.env_id} eval env has {key} {built[key]}, the protocol says "
                           f"{board.protocol[key]}; the leaderboard needs a new protocol")
    result = setup.evaluate(agent, board.eval_protocol, progress=progress)
    return Evaluation(folder, files, agent.doc["recipe"], plugin_versions(setup.plugins), result)


def _refetch_id(entry: Mapping[str, Any]) -> str:
    """The id to fetch again: a `hf:` id pinned to the commit it resolved to at submission."""
    agent, commit = entry["agent"], entry.get("commit")
    if agent.startswith("hf:") and commit and "@" not in agent:
        return f"{agent}@{commit}"
    return agent


def _key(entry: Mapping[str, Any]) -> str:
    return entry["files"]["model.safetensors"]


def submit(ident: str, name: str | None = None, replace: bool = False, progress: bool = False) -> tuple[Board, dict]:
    """Evaluate an agent under its env's leaderboard protocol and record the entry.

    :param ident: anything `sources.fetch` accepts; a local path is recorded absolute, a hub id as
        given, with the commit it resolved to.
    :param name: the entry's name (default: the id, or a path's last component).
    :param replace: replace an entry of the same model instead of refusing the submission.
    :returns: the updated board and the new entry.
    :raises ZooError: no leaderboard for the agent's env (naming those that exist), the model or
        the name already on the board, or any fetch, load or evaluation error.
    """
    from zoo_core.publishing.sources import locate

    hub = ident.startswith(("hf:", "registry:"))
    agent_id = ident if hub else str(Path(ident).resolve())
    fetched = locate(ident)
    folder = fetched.folder
    model = evaluated_files(folder)["model.safetensors"]
    board = find_board(str(read_json(folder / "config.json").get("env_id")))
    refuse_shipped(board.path, "submit to it")
    name = name or (ident if hub else Path(agent_id).name)
    same = [e for e in board.entries if _key(e) == model]
    if same and not replace:
        raise ZooError(f"this model (sha256 {model[:12]}) is already on the {board.env_id} leaderboard as "
                       f"'{same[0]['name']}'; pass --replace to record it again")
    taken = [e for e in board.entries if e["name"] == name and _key(e) != model]
    if taken:
        raise ZooError(f"the {board.env_id} leaderboard already has an entry named '{name}'; pick another --name")
    ev = evaluate_folder(folder, board, progress)
    successes: dict[str, Any] = {}
    if board.success:
        if ev.result.successes is None:
            raise ZooError(f"the {board.env_id} leaderboard ranks by success, but the env reported none")
        successes = {"episode_successes": ev.result.successes, "success_rate": ev.result.summary["success_rate"]}
    entry = {
        "name": name,
        "agent": agent_id,
        "commit": fetched.commit,
        "recipe": ev.recipe,
        "files": ev.files,
        "episode_returns": ev.result.returns,
        "episode_lengths": ev.result.lengths,
        **successes,
        **score(ev.result.returns, board.bootstrap),
        "zoo_version": __version__,
        "plugin_versions": ev.plugin_versions,
        "protocol_sha256": board.sha256,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    board.entries = [e for e in board.entries if _key(e) != model] + [entry]
    board.write()
    return board, entry


def verify_entry(board: Board, entry: Mapping[str, Any], progress: bool = False) -> list[str]:
    """Fetch an entry's agent again, re-evaluate it and list what does not reproduce (empty: all does)."""
    from zoo_core.publishing.sources import fetch

    try:
        ev = evaluate_folder(fetch(_refetch_id(entry)), board, progress)
    except ZooError as exc:
        return [f"cannot re-evaluate: {exc}"]
    except Exception as exc:  # a broken agent is a failed entry, not a crashed verify
        return [f"cannot re-evaluate: {type(exc).__name__}: {exc}"]
    problems = discrepancies(entry, board.sha256, ev.files, ev.result.returns, ev.result.lengths, board.bootstrap,
                             ev.result.successes)
    if problems and entry.get("zoo_version") != __version__:
        problems.append(f"(recorded with zoo {entry.get('zoo_version')}, this is {__version__})")
    return problems


def verify_board(board: Board, progress: bool = False,
                 done: Callable[[Mapping[str, Any], list[str]], None] | None = None) -> dict[str, list[str]]:
    """Verify every entry; `done(entry, problems)` is called after each. Returns problems by entry name."""
    out = {}
    for entry in board.ranked():
        out[entry["name"]] = verify_entry(board, entry, progress)
        if done is not None:
            done(entry, out[entry["name"]])
    return out


def verified_score(folder: Path) -> dict[str, Any] | None:
    """The leaderboard entry that re-evaluated exactly this agent folder's model, or None.

    Matches on the sha256 of the folder's model.safetensors as it is on disk now, and only entries
    recorded under their leaderboard's current protocol count.

    Returns:
        `{"leaderboard", "env_id", "name", "mean", "std", "iqm", "ci", "metric", "lower_is_better",
        "episodes", "protocol_sha256", "date"}` or None.
    """
    model = Path(folder) / "model.safetensors"
    if not model.is_file():
        return None
    digest = sha256_file(model)
    for board in list_boards():
        for entry in board.entries:
            if _key(entry) == digest and entry.get("protocol_sha256") == board.sha256:
                return {
                    "leaderboard": board.env_id,
                    "env_id": board.env_id,
                    "name": entry["name"],
                    **{k: entry[k] for k in ("mean", "std", "iqm", "ci", "success_rate") if k in entry},
                    "metric": board.metric,
                    "lower_is_better": board.lower_is_better,
                    "episodes": len(entry["episode_returns"]),
                    "protocol_sha256": entry["protocol_sha256"],
                    "date": entry.get("date"),
                }
    return None

