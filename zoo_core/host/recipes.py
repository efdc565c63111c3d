"""What can be trained: algorithms (a config class and a builder) and recipes (plugin compositions)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zoo_core.errors import PluginError


@dataclass(frozen=True)
class Algorithm:
    """A learning algorithm the core can build.

    :param name: the algorithm's name and its config section (``dqn``).
    :param config_class: frozen dataclass of its hyperparameters.
    :param build: ``build(context) -> agent``; see :func:`zoo_core.agents.dqn.build_dqn`.
    :param description: one line for ``zoo recipes``.
    :param loop: ``loop(agent, setup, seed, state) -> Loop``, how the trainer gathers experience
        (:mod:`zoo_core.running.loops`); None is the core's step loop (act, step, store, learn in the
        learner's process). ``state`` is None for a new run, else what the loop's ``state_dict``
        saved in the checkpoint being resumed.
    :param metric: what it is judged by: ``return`` (episodes in an env, the default) or the name
        of a metric on a held-out set (``mse``) that ``evaluate`` computes.
    :param lower_is_better: the metric's direction.
    :param step_unit: what one of its env steps is, as plots and tables name it (``env steps``; the
        predictron's ``labelled mazes``).
    :param evaluate: ``evaluate(agent, setup, protocol, progress=bool) -> EvalResult``, the
        algorithm's own evaluation (:class:`zoo_core.running.evaluation.EvalProtocol` says how
        item i of the held-out set is drawn); None runs episodes of ``agent.act``. Every place that
        scores an agent (periodic and final evaluations, ``zoo eval``, ``zoo export``, leaderboards)
        goes through :meth:`zoo_core.host.session.Setup.evaluate`, which calls it.
    """

    name: str
    config_class: type
    build: Callable[..., Any]
    description: str = ""
    loop: Callable[..., Any] | None = None
    metric: str = "return"
    lower_is_better: bool = False
    evaluate: Callable[..., Any] | None = None
    step_unit: str = "env steps"

    def __post_init__(self) -> None:
        if (self.metric == "return") != (self.evaluate is None):
            raise ValueError(f"algorithm {self.name!r}: a metric other than 'return' comes with its own "
                             "evaluate, and only such a metric does")


@dataclass(frozen=True)
class Recipe:
    """A named composition: an algorithm, the plugins it loads, and hyperparameter defaults.

    :param name: what users type (``dqn``, ``rainbow``).
    :param algorithm: the algorithm it trains.
    :param plugins: plugin names (entry points in the ``agent_zoo`` group) loaded for the agent.
    :param config: ``section -> {field: value}`` defaults.
    :param env_config: env family name (``atari``, ``minatar``, ``gymnasium``) or exact env id
        (``Acrobot-v1``, as RL Zoo tunes per env) -> further defaults: the family's apply after
        ``config``, the env id's after the family's.
    :param description: one line for ``zoo recipes``.
    """

    name: str
    algorithm: str
    plugins: tuple[str, ...] = ()
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    env_config: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    description: str = ""
    ablations: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    """Extra variants for ``zoo ablate`` beyond leaving out each plugin: name -> config layer
    (``{"no-double": {"dqn": {"double_q": False}}}``)."""
    ablation_base: tuple[str, ...] | None = None
    """How ``zoo ablate`` varies the plugins. None: leave each one out (Rainbow's study). A tuple of
    plugins: they are the base, and the variants add the others one at a time (UNREAL's study:
    the base agent, each auxiliary task alone, all of them)."""

    def env_layers(self, family: str, env_id: str) -> list[Mapping[str, Mapping[str, Any]]]:
        """The config layers this recipe adds for an env: its family's, then its own id's (a
        ``module:`` prefix naming where a custom env is registered is not part of the id)."""
        bare = env_id.rpartition(":")[2]
        return [self.env_config[key] for key in (family, bare) if key in self.env_config]

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in "+-"):
            raise ValueError(f"recipe names may not contain '+' or '-': {self.name!r}")


def parse_recipe(text: str, recipes: Mapping[str, Recipe]) -> tuple[Recipe, tuple[str, ...]]:
    """Split ``"dqn+dueling+per"`` or ``"rainbow-noisy"`` into the base recipe and its plugin list.

    ``+name`` adds a plugin, ``-name`` removes one of the base recipe's (an ablation).

    :raises PluginError: the base recipe is unknown (the message lists valid recipes), a removed
        plugin is not in it, or an added one already is (``dqn+c51+c51``, ``rainbow+per``).
    """
    tokens = re.split(r"([+-])", text.strip())
    base = tokens[0].strip()
    if base not in recipes:
        raise PluginError(
            f"unknown recipe '{base}'; valid recipes: {', '.join(sorted(recipes)) or '(none)'}"
            " (see `zoo recipes`)"
        )
    recipe = recipes[base]
    plugins = list(recipe.plugins)
    for op, name in zip(tokens[1::2], tokens[2::2], strict=True):
        name = name.strip()
        if not name:
            raise PluginError(f"empty plugin name in recipe '{text}'")
        if op == "+":
            # A repeat is a typo or a misread base recipe; ignoring it silently hid both.
            if name in plugins and name in recipe.plugins:
                raise PluginError(f"recipe '{base}' already has plugin '{name}'; leave out '+{name}'")
            if name in plugins:
                raise PluginError(f"plugin '{name}' is named twice in recipe '{text.strip()}'")
            plugins.append(name)
        else:
            if name not in plugins:
                raise PluginError(f"recipe '{base}' has no plugin '{name}' to remove; it has: "
                                  + (", ".join(plugins) or "none"))
            plugins.remove(name)
    return recipe, tuple(plugins)
