"""Evaluation protocol and runner: fixed-seed episodes, optional ε-greedy, batched inference.

An `EvalProtocol` says exactly how a policy is scored (env, number of episodes, seeds, ε,
step cap), so that two numbers produced under the same protocol are comparable. `evaluate`
runs it; `write_results` stores the outcome as results.json.

Success: an env that says whether an episode achieved its goal (gymnasium's convention, also
Stable-Baselines3's: ``info["is_success"]`` at the episode's last step; Sokoban's solved levels)
gets its episodes' successes recorded beside their returns, and the success rate in the summary.

Determinism: episode i always starts with `env.reset(seed=protocol.seed + i)` and draws its
ε decisions from its own generator `np.random.default_rng([protocol.seed, i])`, so an
episode's trajectory depends only on its index, never on which env slot ran it or on how
many episodes ran side by side. This assumes the env is fully determined by its reset seed
(true for Gymnasium's built-in envs and for ALE, whose sticky actions are reseeded on reset)
and that the policy maps each observation to the same action whatever else is in the batch.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from zoo_core.errors import ZooError
from zoo_core.running.atomic import atomic_path
from zoo_core.running.stats import summarize

__all__ = ["DEFAULT_BATCH", "EvalProtocol", "EvalResult", "evaluate", "score_text", "write_results"]

# How many envs run side by side by default. Enough to amortise one policy forward pass over
# several observations, small enough that 8 env copies (e.g. Atari emulators) stay cheap.
DEFAULT_BATCH = 8


def _is_int(v: object) -> bool:
    """True for ints, excluding bool (which JSON and Python would otherwise let through)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_number(v: object) -> bool:
    """True for ints and floats, excluding bool."""
    return _is_int(v) or isinstance(v, (float, np.floating))


# Fields added after protocols were first written: left out of the JSON at their defaults.
_OPTIONAL = ("metric", "lower_is_better", "sample")


@dataclass(frozen=True)
class EvalProtocol:
    """How a policy is evaluated; stored with every result so numbers stay comparable.

    Attributes:
        env_id: the environment id, e.g. "CartPole-v1" (recorded; the caller makes the env).
        episodes: number of episodes, >= 1.
        seed: episode i is started with `reset(seed=seed + i)`; >= 0.
        epsilon: probability of replacing the greedy action by a uniformly random one at each
            step, in [0, 1]. 0 is greedy; Atari protocols commonly use 0.001 or 0.05.
        max_steps: per-episode step cap (the episode is truncated there), or None to rely on
            the env's own time limit.
        metric, lower_is_better: what is scored and in which direction (episode returns, or an
            algorithm's held-out metric).
        sample: draw each action from the agent's policy (an actor-critic's softmax) instead of
            taking its most likely one; each draw comes from the episode's own generator, so an
            episode stays a function of its index. A broad policy's argmax can repeat itself
            forever in a deterministic env (Sokoban), where the policy itself would not.
    """

    env_id: str
    episodes: int = 20
    seed: int = 0
    epsilon: float = 0.0
    max_steps: int | None = None
    metric: str = "return"
    lower_is_better: bool = False
    sample: bool = False

    def __post_init__(self) -> None:
        """Validate the fields; raise ZooError naming the first bad one."""
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ZooError(f"eval protocol: env_id must be a non-empty string, got {self.env_id!r}")
        if not _is_int(self.episodes) or self.episodes < 1:
            raise ZooError(
                f"eval protocol: episodes must be an integer >= 1, got {self.episodes!r}"
            )
        # Gymnasium and numpy's SeedSequence both reject negative seeds.
        if not _is_int(self.seed) or self.seed < 0:
            raise ZooError(f"eval protocol: seed must be an integer >= 0, got {self.seed!r}")
        if not _is_number(self.epsilon) or not 0.0 <= float(self.epsilon) <= 1.0:
            raise ZooError(
                f"eval protocol: epsilon must be a number in [0, 1], got {self.epsilon!r}"
            )
        if self.max_steps is not None and (not _is_int(self.max_steps) or self.max_steps < 1):
            raise ZooError(
                f"eval protocol: max_steps must be an integer >= 1 or null, got {self.max_steps!r}"
            )
        if not isinstance(self.metric, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", self.metric):
            raise ZooError(
                f"eval protocol: metric must be a lowercase name such as 'return' or 'mse', got {self.metric!r}"
            )
        if not isinstance(self.lower_is_better, bool):
            raise ZooError(f"eval protocol: lower_is_better must be true or false, got {self.lower_is_better!r}")
        if not isinstance(self.sample, bool):
            raise ZooError(f"eval protocol: sample must be true or false, got {self.sample!r}")
        if self.metric == "return" and self.lower_is_better:
            raise ZooError("eval protocol: a return is never lower-is-better")
        # Normalise numpy scalars / JSON ints to plain Python types so to_json and equality
        # behave the same however the protocol was built (frozen: go through object.__setattr__).
        object.__setattr__(self, "episodes", int(self.episodes))
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "epsilon", float(self.epsilon))
        if self.max_steps is not None:
            object.__setattr__(self, "max_steps", int(self.max_steps))

    def to_json(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict: `{"env_id": ..., "episodes": ..., ...}`
        (`metric`, `lower_is_better` and `sample` only where they are not the defaults)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _OPTIONAL:
            if out[name] == _DEFAULTS[name]:
                del out[name]
        return out

    def better(self, a: float, b: float) -> bool:
        """Whether score `a` is at least as good as score `b` under this protocol's direction."""
        return a <= b if self.lower_is_better else a >= b

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> EvalProtocol:
        """Build a protocol from a dict as written by `to_json`.

        Missing fields other than `env_id` take their defaults. Raises ZooError on a
        non-mapping, an unknown key, a missing `env_id` or a value of the wrong type.
        """
        if not isinstance(d, Mapping):
            raise ZooError(f"eval protocol: expected a JSON object, got {type(d).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ZooError(
                f"eval protocol: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"valid keys are {', '.join(known)}"
            )
        if "env_id" not in d:
            raise ZooError("eval protocol: missing required key 'env_id'")
        return cls(**dict(d))  # __post_init__ checks the types


@dataclass
class EvalResult:
    """The outcome of `evaluate`.

    Attributes:
        protocol: the protocol that produced it.
        returns: undiscounted, unclipped return of each episode, in episode-index order; under a
            protocol with another metric, that metric's value on each held-out item (the JSON keeps
            the key `episode_returns`, so one reader serves both).
        lengths: number of steps of each episode, same order (1 per held-out item).
        successes: whether each episode succeeded (``info["is_success"]`` at its last step), same
            order; None when the env does not say.
        summary: `stats.summarize(returns)`, computed on construction, plus `success_rate` (the
            fraction of successes) when there are successes.
    """

    protocol: EvalProtocol
    returns: list[float]
    lengths: list[int]
    successes: list[bool] | None = None
    summary: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        """Check returns and lengths agree with each other and the protocol; compute summary."""
        self.returns = [float(r) for r in self.returns]
        self.lengths = [int(n) for n in self.lengths]
        if len(self.returns) != len(self.lengths):
            raise ZooError(
                f"eval result: {len(self.returns)} returns but {len(self.lengths)} lengths"
            )
        if len(self.returns) != self.protocol.episodes:
            raise ZooError(
                f"eval result: protocol asks for {self.protocol.episodes} episodes, "
                f"got {len(self.returns)}"
            )
        self.summary = summarize(self.returns)
        if self.successes is not None:
            self.successes = [bool(x) for x in self.successes]
            if len(self.successes) != len(self.returns):
                raise ZooError(f"eval result: {len(self.returns)} returns but {len(self.successes)} successes")
            self.summary["success_rate"] = sum(self.successes) / len(self.successes)

    def headline(self) -> str:
        """The result in one phrase: ``mean 0.0123 mse over 1000 held-out items (IQM 0.0051, min 0,
        max 0.25)``, or for returns ``mean 475.20 ± 9.10 over 20 episodes (IQM 480.00, ...)``."""
        s, metric = self.summary, self.protocol.metric
        if metric == "return":
            success = f", success {s['success_rate']:.0%}" if "success_rate" in s else ""
            return (f"mean {s['mean']:.2f} ± {s['std']:.2f} over {s['episodes']} episodes "
                    f"(IQM {s['iqm']:.2f}, min {s['min']:.1f}, max {s['max']:.1f}{success})")
        direction = "; lower is better" if self.protocol.lower_is_better else ""
        return (f"mean {metric} {s['mean']:.4g} ± {s['std']:.2g} over {s['episodes']} held-out items "
                f"(IQM {s['iqm']:.4g}, min {s['min']:.3g}, max {s['max']:.3g}{direction})")

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict.

        `{"protocol": {...}, "episode_returns": [...], "episode_lengths": [...]}` plus the
        summary keys at the top level (`episodes`, `mean`, `std`, `min`, `max`, `median`, `iqm`),
        so the headline numbers are one lookup away; with successes also `episode_successes` and
        `success_rate`.
        """
        successes = {} if self.successes is None else {"episode_successes": list(self.successes)}
        return {
            "protocol": self.protocol.to_json(),
            "episode_returns": list(self.returns),
            "episode_lengths": list(self.lengths),
            **successes,
            **self.summary,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> EvalResult:
        """Rebuild a result from `to_json` output (extra keys, e.g. from `write_results`, are
        ignored; the summary is recomputed from the returns). Raises ZooError if malformed."""
        try:
            protocol = EvalProtocol.from_json(d["protocol"])
            returns, lengths = d["episode_returns"], d["episode_lengths"]
        except (KeyError, TypeError) as e:
            raise ZooError(f"eval result: malformed results, missing {e}") from None
        if not isinstance(returns, list) or not all(_is_number(r) for r in returns):
            raise ZooError("eval result: episode_returns must be a list of numbers")
        if not isinstance(lengths, list) or not all(_is_int(n) for n in lengths):
            raise ZooError("eval result: episode_lengths must be a list of integers")
        successes = d.get("episode_successes")
        if successes is not None and (not isinstance(successes, list)
                                      or not all(isinstance(x, bool) for x in successes)):
            raise ZooError("eval result: episode_successes must be a list of true/false")
        return cls(protocol=protocol, returns=returns, lengths=lengths, successes=successes)


_DEFAULTS = {f.name: f.default for f in fields(EvalProtocol)}


def score_text(x: float, metric: str = "return") -> str:
    """A score as tables show it: two decimals for a return, four significant digits for a held-out
    metric (an error of 0.0012 would read 0.00)."""
    return f"{x:.2f}" if metric == "return" else f"{x:.4g}"


def _render(env: gym.Env) -> np.ndarray:
    """Return `env.render()` as an array, or raise ZooError if the env has no rgb frames."""
    frame = env.render()
    if frame is None:
        raise ZooError(
            "evaluate: record needs frames but env.render() returned None; "
            'make the eval env with render_mode="rgb_array"'
        )
    return np.asarray(frame)


def evaluate(
    policy: Callable[[np.ndarray], np.ndarray],
    make_env: Callable[[], gym.Env],
    protocol: EvalProtocol,
    *,
    progress: bool = False,
    record: Callable[[np.ndarray], None] | None = None,
    batch: int = DEFAULT_BATCH,
) -> EvalResult:
    """Run `protocol.episodes` episodes of `policy` and return their returns and lengths.

    Up to `min(protocol.episodes, batch)` envs run side by side; at each step `policy` is
    called once on the stacked observations of the envs whose episode is still running, so a
    neural policy gets batched inference. When an episode ends its env starts the next
    unstarted episode. Results do not depend on `batch` (see the module docstring).

    Args:
        policy: maps observations `[N, *obs_shape]` to greedy actions `[N]` (env actions); under
            a protocol that samples, ``policy(obs, draws)`` with ``draws [N]`` uniform in [0, 1),
            one per row from its episode's generator, picks each row's action by them. A
            policy with memory (``policy.recurrent`` true, see :mod:`zoo_core.learning.policies`) is called
            as ``policy(obs, slots=..., first=...)``: the env slot of each row and whether the
            row is its episode's first observation.
        make_env: builds one eval env (raw rewards, i.e. training=False; with
            render_mode="rgb_array" if `record` is given). Called up to `batch` times.
        protocol: what to run. With epsilon > 0 each step's action is, with probability ε,
            replaced by a uniformly random action of the env's Discrete action space.
        progress: show a rich progress bar over episodes.
        record: if given, called with each `env.render()` frame `[H, W, 3]` of episode 0: the
            frame after reset, then one after every step (length + 1 frames in all).
        batch: most envs to run at once, >= 1.

    Raises:
        ZooError: the protocol scores another metric than episode returns (an algorithm's own
            evaluator runs those; see `zoo_core.host.session.Setup.evaluate`).

    Returns:
        An EvalResult with one return (sum of the env's rewards, unclipped) and one length per
        episode, in episode-index order, and each episode's success when the env reported
        ``info["is_success"]`` at the end of every episode.
    """
    if protocol.metric != "return":
        raise ZooError(f"evaluate: runs episodes for their return; this protocol scores {protocol.metric!r}")
    if not _is_int(batch) or batch < 1:
        raise ZooError(f"evaluate: batch must be an integer >= 1, got {batch!r}")
    n_episodes = protocol.episodes
    n_slots = min(n_episodes, int(batch))
    epsilon = protocol.epsilon
    max_steps = protocol.max_steps

    returns = [0.0] * n_episodes
    lengths = [0] * n_episodes
    successes: list[bool | None] = [None] * n_episodes
    envs: list[gym.Env] = []
    progress_bar = None
    try:
        for _ in range(n_slots):
            envs.append(make_env())
        space = envs[0].action_space
        discrete = isinstance(space, gym.spaces.Discrete)
        if epsilon > 0.0 and not discrete:
            raise ZooError(f"evaluate: epsilon > 0 needs a Discrete action space, got {space}")
        n_actions = int(space.n) if discrete else 0
        action_start = int(space.start) if discrete else 0
        # Fail before running any episode rather than at the first frame of episode 0.
        render_mode = getattr(envs[0], "render_mode", "rgb_array")
        if record is not None and render_mode != "rgb_array":
            raise ZooError(
                f"evaluate: record needs rgb frames but the env has render_mode={render_mode!r}; "
                'make the eval env with render_mode="rgb_array"'
            )

        if progress:
            from rich.progress import Progress  # only imported when asked for

            progress_bar = Progress(transient=False)
            progress_bar.start()
            task = progress_bar.add_task(f"eval {protocol.env_id}", total=n_episodes)

        # Per slot: the episode index it is running (None once no episodes are left), its
        # latest observation and its episode's ε generator.
        episode_of: list[int | None] = [None] * n_slots
        obs: list[Any] = [None] * n_slots
        first = [True] * n_slots  # the slot's next observation starts an episode
        recurrent = bool(getattr(policy, "recurrent", False))
        if recurrent and protocol.sample:
            raise ZooError("evaluate: sampling a policy with memory is not supported; evaluate it greedily")
        if recurrent and hasattr(policy, "reset"):
            policy.reset()
        rngs: list[np.random.Generator | None] = [None] * n_slots
        next_episode = 0

        def start(slot: int) -> None:
            """Begin the next unstarted episode on `slot`, or retire the slot if none is left."""
            nonlocal next_episode
            if next_episode >= n_episodes:
                episode_of[slot] = None
                return
            i = next_episode
            next_episode += 1
            episode_of[slot] = i
            obs[slot], _ = envs[slot].reset(seed=protocol.seed + i)
            first[slot] = True
            # A generator per episode index, not per slot, so ε draws do not depend on batching.
            rngs[slot] = np.random.default_rng([protocol.seed, i])
            if record is not None and i == 0:
                record(_render(envs[slot]))

        for slot in range(n_slots):
            start(slot)

        while True:
            live = [s for s in range(n_slots) if episode_of[s] is not None]
            if not live:
                break
            batch_obs = np.stack([np.asarray(obs[s]) for s in live])
            if recurrent:
                actions = np.asarray(policy(batch_obs, slots=live, first=np.array([first[s] for s in live])))
                for s in live:
                    first[s] = False
            elif protocol.sample:
                draws = np.empty(len(live))
                for j, s in enumerate(live):
                    rng = rngs[s]
                    assert rng is not None
                    draws[j] = rng.random()  # before the step's ε draw, from the episode's generator
                actions = np.asarray(policy(batch_obs, draws))
            else:
                actions = np.asarray(policy(batch_obs))
            # Discrete actions must be exactly [N]; other spaces need only a leading batch dim.
            bad = actions.shape != (len(live),) if discrete else actions.ndim == 0
            if bad or actions.shape[0] != len(live):
                raise ZooError(
                    f"evaluate: policy returned actions of shape {actions.shape} for "
                    f"{len(live)} observations; expected shape ({len(live)},)"
                )
            for j, s in enumerate(live):
                i = episode_of[s]
                assert i is not None
                if discrete:
                    action: Any = int(actions[j])
                    # ε-greedy with the episode's own generator. Drawn only when ε > 0, so
                    # greedy evaluation consumes no randomness at all.
                    if epsilon > 0.0:
                        rng = rngs[s]
                        assert rng is not None
                        if rng.random() < epsilon:
                            action = action_start + _random_action(envs[s], n_actions, rng)
                else:
                    action = actions[j]
                obs[s], reward, terminated, truncated, info = envs[s].step(action)
                returns[i] += float(reward)
                lengths[i] += 1
                if record is not None and i == 0:
                    record(_render(envs[s]))
                capped = max_steps is not None and lengths[i] >= max_steps
                if terminated or truncated or capped:
                    if "is_success" in info:
                        successes[i] = bool(info["is_success"])
                    if progress_bar is not None:
                        progress_bar.advance(task)
                    start(s)
    finally:
        if progress_bar is not None:
            progress_bar.stop()
        for env in envs:
            env.close()

    reported = None if any(x is None for x in successes) else [bool(x) for x in successes]
    return EvalResult(protocol=protocol, returns=returns, lengths=lengths, successes=reported)


def write_results(result: EvalResult, path: Path, extra: Mapping[str, Any] | None = None) -> None:
    """Write `result.to_json()` (plus `extra`) to `path` as indented JSON, atomically.

    The JSON goes to a temporary file in the same directory which then replaces `path`
    (os.replace), so a reader never sees a half-written results.json, even if the process
    is killed mid-write. Parent directories are created.

    Args:
        result: the evaluation outcome.
        path: destination, conventionally `<run_dir>/results.json`.
        extra: more top-level keys, e.g. `{"checkpoint": "...", "env_steps": 100000}`; a key
            that clashes with the result's own keys is a ZooError rather than a silent overwrite.
    """
    path = Path(path)
    data = result.to_json()
    if extra:
        clash = sorted(set(extra) & set(data))
        if clash:
            raise ZooError(
                f"write_results: extra key(s) {', '.join(map(repr, clash))} clash with result keys"
            )
        data.update(extra)
    try:
        # allow_nan=False: NaN/Infinity are not JSON and break strict readers.
        text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        raise ZooError(f"write_results: cannot encode results as JSON: {e}") from None

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _random_action(env: gym.Env, n_actions: int, rng: np.random.Generator) -> int:
    """A uniformly random action index; among the legal ones where the env says which
    (``action_masks()``, as board games do), so ε never plays an illegal move."""
    masks = getattr(env.unwrapped, "action_masks", None)
    if masks is None:
        return int(rng.integers(n_actions))
    legal = np.flatnonzero(masks())
    return int(legal[rng.integers(len(legal))])
