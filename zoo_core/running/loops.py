"""How a run gathers experience: the loop protocol the trainer drives, and the core's step loop.

The trainer (``zoo_core.running.training``) logs, evaluates and checkpoints between the *turns* of a loop;
the loop is where experience is made and learned from. The DQN family acts in the learner's own
process, one vector-env step per turn (:class:`StepLoop`). An algorithm whose actors run elsewhere
(IMPALA's actor processes or Ray actors) registers its own loop on its
:class:`zoo_core.host.recipes.Algorithm`; the trainer does not know the difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import torch

from zoo_core.envs import VecEnv
from zoo_core.errors import ZooError

if TYPE_CHECKING:
    from zoo_core.host.session import Setup

LoopState = tuple[dict[str, torch.Tensor], dict[str, Any]]
"""What a loop adds to a checkpoint: tensors and JSON."""


@dataclass
class Turn:
    """What one turn of a loop reports to the trainer.

    episodes: ``(index, return, length)`` of the training episodes that ended during the turn;
        ``index`` names the env (or actor env) that played it.
    updated: whether the learner updated during the turn.
    metrics: extra scalars for the next log row (a loop's own, such as IMPALA's policy lag).
    """

    episodes: list[tuple[int, float, int]] = field(default_factory=list)
    updated: bool = False
    metrics: dict[str, float] = field(default_factory=dict)


class Loop(Protocol):
    """The loop interface. Checkpoints are taken between turns; a loop rebuilt from its
    :meth:`state_dict` continues exactly where the saved one stood."""

    metric_names: tuple[str, ...]
    """The keys its turns' ``metrics`` may hold (columns of ``progress.csv``)."""

    def turns(self, until: int) -> Iterator[Turn]:
        """Gather and learn until ``agent.env_steps >= until``, yielding after each unit of work."""
        ...

    def pause(self) -> None:
        """Hold any work that runs beside the trainer (asynchronous workers) until the next
        :meth:`turns` step, so that :meth:`state_dict` and the agent's state are one snapshot.

        The trainer calls it before every checkpoint. A loop whose work happens only inside
        :meth:`turns`, or whose :meth:`state_dict` collects its in-flight work, does nothing.
        """
        ...

    def state_dict(self) -> LoopState:
        """Everything the loop holds beyond the agent (env states, in-flight work)."""
        ...

    def close(self) -> None:
        """Release envs, processes and connections (called once the run stops, however it stops)."""
        ...


class StepLoop:
    """The DQN family's loop: act, step the vector env, store, learn; one vector step per turn.

    The env and agent hold all state, so a loop restored from a checkpoint restarts exactly.
    """

    metric_names: tuple[str, ...] = ()

    def __init__(self, agent: Any, setup: Setup, seed: int, state: LoopState | None = None):
        run = setup.config["run"]
        if run.backend != "local":
            raise ZooError(
                f"the {setup.algorithm.name} algorithm acts in the learner's own process; "
                f"--backend {run.backend} needs an actor-learner algorithm such as impala"
            )
        self.agent = agent
        self.env = VecEnv(lambda: setup.make_env(training=True), run.num_envs, seed)
        self.obs = self.env.reset() if state is None else self.env.load_state_dict(state[1])

    def turns(self, until: int) -> Iterator[Turn]:
        agent, env = self.agent, self.env
        while agent.env_steps < until:
            actions = agent.explore(self.obs)
            step = env.step(actions)
            agent.observe(self.obs, actions, step)
            updated = agent.maybe_update()
            self.obs = step.obs
            yield Turn(step.episodes, updated)

    def pause(self) -> None:
        pass  # all its work happens inside turns()

    def state_dict(self) -> LoopState:
        return {}, self.env.state_dict()

    def close(self) -> None:
        self.env.close()


def step_loop(agent: Any, setup: Setup, seed: int, state: LoopState | None = None) -> StepLoop:
    """The default loop factory (what :class:`zoo_core.host.recipes.Algorithm` uses unless told otherwise)."""
    return StepLoop(agent, setup, seed, state)

