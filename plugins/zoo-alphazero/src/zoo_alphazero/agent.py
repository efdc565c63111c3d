"""The AlphaZero learner and player.

It holds the network and its optimiser. ``learn`` fits the policy head to the search's visit
distributions (cross-entropy) and the value head to the games' outcomes (squared error); ``play``
and ``act`` choose moves by a search guided by the network (no noise, the most visited move). The
self-play that makes the examples runs in :mod:`zoo_alphazero.loop`'s workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zoo_alphazero.config import AlphaZeroConfig
from zoo_alphazero.games import GAMES, Game, State
from zoo_alphazero.mcts import init_tree, search
from zoo_alphazero.models import game_model
from zoo_alphazero.network import PolicyValueNet, network_evaluator
from zoo_core.api import (
    BuildContext,
    NetworkWeights,
    ZooError,
    check_finite,
    clip_grad_norm,
    load_optimizer_state,
    network_spec,
    optimizer_state,
    to_host,
)

METRICS = ("loss", "policy_loss", "value_loss", "grad_norm")


def game_for(obs_shape: tuple[int, ...], num_actions: int) -> Game:
    """The game whose observations and actions these are (the agent is built from spaces alone)."""
    for game in GAMES.values():
        if tuple(obs_shape) == game.obs_shape and num_actions == game.num_actions:
            return game
    raise ZooError(
        f"alphazero plays the Game/ environments (Game/TicTacToe-v0, Game/ConnectFour-v0); "
        f"observations {tuple(obs_shape)} with {num_actions} actions are not one of them"
    )


def policy_value_spec(ctx: BuildContext, cfg: AlphaZeroConfig) -> Any:
    """The network spec: the ``resnet`` torso and the policy/value heads."""
    spec = network_spec(ctx, "resnet", (), 1, head="policy_value", head_args={"value_hidden": cfg.value_hidden})
    spec.torso_args = {"channels": cfg.channels, "blocks": cfg.blocks}
    return spec


class _GreedyPrior(torch.nn.Module):
    """``obs [N, 2, H, W] -> actions [N]``: the network's most probable legal move, no search (what
    ``zoo export`` traces; the full agent searches)."""

    def __init__(self, net: PolicyValueNet, gravity: bool):
        super().__init__()
        self.net, self.gravity = net, gravity

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        logits, _ = self.net(obs)
        empty = (obs[:, 0] + obs[:, 1]) == 0  # [N, H, W]
        legal = empty[:, 0, :] if self.gravity else empty.flatten(1)
        return logits.masked_fill(~legal, float("-inf")).argmax(-1)


class AlphaZeroAgent(NetworkWeights):
    """``act(obs)`` / ``play(state)``: moves by network-guided search; ``learn``: one update."""

    def __init__(self, ctx: BuildContext):
        cfg: AlphaZeroConfig = ctx.config["alphazero"]
        self.cfg, self.config = cfg, ctx.config
        self.game = game_for(ctx.obs_shape, ctx.num_actions)
        self.num_actions = ctx.num_actions
        torch.manual_seed(ctx.seed)
        self.rng = np.random.Generator(np.random.PCG64(ctx.seed))
        self.spec = ctx.spec or policy_value_spec(ctx, cfg)
        # Initialised on the CPU, then moved: the same initial weights on every device.
        self.device = ctx.device
        self.network = PolicyValueNet(self.spec, ctx.modules).to(self.device)
        self.network.eval()  # searching uses the batch-norm running statistics; learn() switches
        self.optimizer = torch.optim.AdamW(self.network.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.env_steps = 0
        self.updates = 0
        self.last: dict[str, float] = {}
        self._arrays: tuple[int, dict[str, np.ndarray]] | None = None

    # --- playing ----------------------------------------------------------------------------------

    def play(self, state: State, simulations: int | None = None) -> np.ndarray:
        """The most visited root move of a search from each position (``state [B]``) -> int ``[B]``."""
        root_fn, recurrent_fn = game_model(self.game, network_evaluator(self.game, self.network))
        tree = init_tree(root_fn(state), state, 1)
        tree = search(tree, recurrent_fn, simulations or self.cfg.eval_simulations, self.cfg.search(noise=False))
        return tree.child_visits[:, 0].argmax(-1)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        """The policy ``zoo eval`` runs: observations (``[2, H, W]`` or a batch) to searched moves."""
        obs = np.asarray(obs)
        single = obs.ndim == 3
        actions = self.play(self.game.from_observation(obs))
        return int(actions[0]) if single else actions

    def greedy_module(self) -> torch.nn.Module:
        """What ``zoo export`` traces to ``agent.pt``: the prior's best legal move, without search."""
        return _GreedyPrior(self.network, self.game.gravity)

    def parameters_for_workers(self) -> dict[str, np.ndarray]:
        """Parameters and batch-norm statistics as numpy arrays in host memory, whatever the learner's
        device (self-play workers search on the CPU); computed once per update."""
        if self._arrays is None or self._arrays[0] != self.updates:
            self._arrays = (self.updates, {k: to_host(v).copy() for k, v in self.network.state_dict().items()})
        return self._arrays[1]

    # --- learning ---------------------------------------------------------------------------------

    def learn(self, obs: torch.Tensor, pi: torch.Tensor, z: torch.Tensor) -> None:
        """One update on ``obs [B, 2, H, W]``, visit distributions ``pi [B, A]`` and outcomes ``z [B]``
        (host tensors, moved to the learner's device)."""
        obs, pi, z = (t.to(self.device, non_blocking=True) for t in (obs, pi, z))
        net = self.network
        net.train()
        logits, v = net(obs)
        net.eval()
        policy_loss = -(pi * torch.log_softmax(logits, -1)).sum(-1).mean()
        value_loss = ((v - z) ** 2).mean()
        loss = policy_loss + self.cfg.value_weight * value_loss
        self.optimizer.zero_grad()
        loss.backward()
        norm = float(clip_grad_norm(list(net.parameters()), float("inf")))
        total = float(loss.detach())
        check_finite(total, norm, self.env_steps, self.updates + 1)
        self.optimizer.step()
        self.updates += 1
        self.last = {"loss": total, "policy_loss": float(policy_loss.detach()),
                     "value_loss": float(value_loss.detach()), "grad_norm": norm}

    # --- state ------------------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        nan = float("nan")
        return {"updates": float(self.updates), **{k: self.last.get(k, nan) for k in METRICS}}

    def train_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, optim_meta = optimizer_state(self.optimizer)
        tensors["rng.torch"] = torch.get_rng_state()
        meta = {"env_steps": self.env_steps, "updates": self.updates, "optimizer": optim_meta, "last": self.last,
                "rng": self.rng.bit_generator.state}
        return tensors, meta

    def load_train_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        load_optimizer_state(self.optimizer, tensors, meta["optimizer"])
        torch.set_rng_state(tensors["rng.torch"])
        self.rng.bit_generator.state = meta["rng"]
        self.env_steps, self.updates, self.last = meta["env_steps"], meta["updates"], meta.get("last", {})


def build_alphazero(ctx: BuildContext) -> AlphaZeroAgent:
    """The ``alphazero`` algorithm's builder."""
    return AlphaZeroAgent(ctx)
