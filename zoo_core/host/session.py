"""From a recipe, an env id and ``--set`` texts to a configured agent and its envs.

This is where a recipe's plugin list becomes an agent's own plugin manager, the registered env
families make environments, and config layers (recipe, env family, saved run, command line)
resolve into one validated configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pluggy
import torch

from zoo_core.envs import EnvFamily, find_family, frame_stack_depth, make_env
from zoo_core.envs.headless import quiet_sdl
from zoo_core.envs.transforms import PadChannels, ScaleReward
from zoo_core.errors import PluginError, ZooError
from zoo_core.host.config import AgentConfig, resolve_config
from zoo_core.host.context import BuildContext
from zoo_core.host.manager import Catalog, build_catalog, catalog_manager, check_fits, make_manager
from zoo_core.host.recipes import Algorithm, Recipe, parse_recipe
from zoo_core.host.roles import call_each
from zoo_core.learning.devices import resolve_device
from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.running.evaluation import EvalProtocol, EvalResult, evaluate


@dataclass
class Setup:
    """A resolved agent recipe: its plugins, manager, catalog, config and env family."""

    recipe_text: str
    recipe: Recipe
    plugins: tuple[str, ...]
    pm: pluggy.PluginManager
    catalog: Catalog
    algorithm: Algorithm
    config: AgentConfig
    env_id: str
    family: EnvFamily

    def make_env(self, training: bool, render_mode: str | None = None) -> gym.Env:
        """One environment, from a plugin's ``zoo_make_env`` or the registered family; the learner's
        (``training``) gets ``run.reward_scale``, all get ``run.obs_channels``."""
        if render_mode is not None:
            quiet_sdl()
        env = self.pm.hook.zoo_make_env(env_id=self.env_id, training=training, render_mode=render_mode)
        if env is None:
            env = make_env(
                self.env_id, training=training, render_mode=render_mode,
                families=list(self.catalog.env_families.values()),
            )
        run = self.config["run"]
        if run.obs_channels:
            try:
                env = PadChannels(env, run.obs_channels)
            except ValueError as exc:
                raise ZooError(f"run.obs_channels={run.obs_channels}: {exc}") from None
        return ScaleReward(env, run.reward_scale) if training and run.reward_scale != 1.0 else env

    def protocol(self, episodes: int, seed: int, epsilon: float = 0.0, max_steps: int | None = None,
                 env_id: str | None = None, sample: bool = False) -> EvalProtocol:
        """An evaluation protocol for this agent: what its algorithm is judged by, on ``env_id``
        (default its own env); ``sample`` draws actions from the policy."""
        algorithm = self.algorithm
        return EvalProtocol(env_id=env_id or self.env_id, episodes=episodes, seed=seed, epsilon=epsilon,
                            max_steps=max_steps, metric=algorithm.metric, lower_is_better=algorithm.lower_is_better,
                            sample=sample)

    def evaluate(self, agent: Any, protocol: EvalProtocol, *, progress: bool = False,
                 record: Callable[[np.ndarray], None] | None = None) -> EvalResult:
        """Score ``agent`` under ``protocol``: the one entry point every evaluation goes through.

        Episodes of ``agent.act`` (``agent.act_sampled`` under a protocol that samples) in this
        setup's env (:func:`zoo_core.running.evaluation.evaluate`), or the algorithm's own evaluator
        where it declares a held-out metric.

        :param record: called with each rgb frame of episode 0 (the env is made with rgb_array
            rendering); episodes only.
        :raises ZooError: the protocol scores another metric than the algorithm is judged by (a
            return leaderboard for a predictor, or the reverse), ``record`` for a held-out metric, or
            a protocol that samples for an agent with no policy to sample (the DQN family's).
        """
        algorithm = self.algorithm
        if (protocol.metric, protocol.lower_is_better) != (algorithm.metric, algorithm.lower_is_better):
            direction = {False: "higher is better", True: "lower is better"}
            raise ZooError(
                f"the protocol scores {protocol.metric} ({direction[protocol.lower_is_better]}); the "
                f"{algorithm.name} algorithm is judged by {algorithm.metric} "
                f"({direction[algorithm.lower_is_better]})"
            )
        if algorithm.evaluate is not None:
            if record is not None:
                raise ZooError(f"the {algorithm.name} algorithm is judged by {algorithm.metric} on a held-out "
                               "set; it has no episodes to watch or record")
            return algorithm.evaluate(agent, self, protocol, progress=progress)
        render = "rgb_array" if record is not None else None
        policy = agent.act
        if protocol.sample:
            policy = getattr(agent, "act_sampled", None)
            if policy is None:
                raise ZooError(f"the {algorithm.name} agent acts by its values, with no policy to sample; "
                               "evaluate it without sampling")
        return evaluate(policy, lambda: self.make_env(training=False, render_mode=render), protocol,
                        progress=progress, record=record)


def installed_catalog(extra: Sequence[object] = ()) -> Catalog:
    """What the core, every installed plugin that loads, and ``extra`` register."""
    pm = catalog_manager()
    for obj in extra:
        name = str(getattr(obj, "name", None) or getattr(obj, "__name__", type(obj).__name__))
        if not pm.has_plugin(name):
            pm.register(obj, name=name)
    return build_catalog(pm)


def all_recipes(extra: Sequence[object] = ()) -> dict[str, Recipe]:
    """Recipes registered by the core, every installed plugin that loads, and ``extra``."""
    return installed_catalog(extra).recipes


def resolve(
    recipe_text: str,
    env_id: str,
    overrides: Sequence[str] = (),
    extra: Sequence[object] = (),
    saved: Mapping[str, Mapping[str, Any]] | None = None,
) -> Setup:
    """Resolve a recipe for an env.

    :param recipe_text: ``dqn`` or ``dqn+plugin+plugin``.
    :param env_id: the environment id.
    :param overrides: ``--set`` texts.
    :param extra: in-process plugin objects added to the agent's manager.
    :param saved: a saved run's resolved config, applied before ``overrides`` (resume, load).
    :raises ZooError: unknown recipe, plugin, env, or hyperparameter (each message lists choices); a
        plugin that does not fit the recipe's algorithm (``zoo_fits``); a value out of its range.
    """
    recipe, plugins = parse_recipe(recipe_text, all_recipes(extra))
    pm = make_manager(plugins, extra)
    catalog = build_catalog(pm)
    # Env families serve env ids for any agent: a plugin's Game/ envs need not join the recipe.
    catalog.env_families = {**installed_catalog(extra).env_families, **catalog.env_families}
    if recipe.algorithm not in catalog.algorithms:
        raise PluginError(
            f"recipe '{recipe.name}' needs algorithm '{recipe.algorithm}', which no loaded plugin provides"
        )
    check_fits(catalog, recipe.algorithm)
    family = find_family(env_id, list(catalog.env_families.values()))
    # A recipe's defaults for a plugin left out (``rainbow-noisy``) have no section to go to.
    known = catalog.config_classes
    layers: list[Mapping[str, Mapping[str, Any]]] = [
        {k: v for k, v in layer.items() if k in known or plugins == recipe.plugins}
        for layer in (recipe.config, *recipe.env_layers(family.name, env_id))
    ]
    if saved is not None:
        layers.append(saved)
    config = resolve_config(catalog.config_classes, layers, overrides, primary=recipe.algorithm)
    return Setup(
        recipe_text, recipe, plugins, pm, catalog, catalog.algorithms[recipe.algorithm], config, env_id, family
    )


def env_signature(env: gym.Env) -> dict[str, Any]:
    """Observation and action spaces as JSON, to check a saved agent fits an env."""
    obs, act = env.observation_space, env.action_space
    if not isinstance(act, gym.spaces.Discrete):
        raise ZooError(f"this agent needs a discrete action space; the env has {act}")
    if not isinstance(obs, gym.spaces.Box):
        raise ZooError(f"this agent needs array observations (a Box space); the env has {obs}")
    return {
        "obs_shape": list(obs.shape),
        "obs_dtype": np.dtype(obs.dtype).name,
        "num_actions": int(act.n),
        "frame_stack": frame_stack_depth(env),
    }


def check_signature(saved: Mapping[str, Any], env: gym.Env, env_id: str) -> None:
    """Refuse an env whose spaces differ from the ones a saved agent was trained on."""
    got = env_signature(env)
    for key in ("obs_shape", "num_actions"):
        if list(np.atleast_1d(saved[key])) != list(np.atleast_1d(got[key])):
            raise ZooError(
                f"the agent does not fit {env_id}: its {key.replace('_', ' ')} is {saved[key]}, the env's is {got[key]}"
            )


def build_agent(
    setup: Setup, signature: Mapping[str, Any], seed: int, spec: NetworkSpec | None = None,
    device: torch.device | None = None,
) -> Any:
    """Build the recipe's agent for envs with the given signature.

    :param device: where its learner lives; None resolves ``run.device`` (training), loading for
        acting passes the CPU.
    :raises ZooError: ``run.device=cuda`` where torch sees no GPU.
    """
    ctx = BuildContext(
        config=setup.config,
        pm=setup.pm,
        modules=setup.catalog.modules,
        obs_shape=tuple(signature["obs_shape"]),
        obs_dtype=np.dtype(signature["obs_dtype"]),
        num_actions=int(signature["num_actions"]),
        frame_stack=int(signature["frame_stack"]),
        num_envs=setup.config["run"].num_envs,
        seed=seed,
        spec=spec,
        device=resolve_device(setup.config["run"].device) if device is None else device,
    )
    agent = setup.algorithm.build(ctx)
    if spec is None:  # a new agent; a rebuilt one's pretrained parts come with its weights
        call_each(setup.pm, "zoo_new_agent", agent=agent, config=setup.config)
    return agent
