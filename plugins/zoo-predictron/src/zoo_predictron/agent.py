"""The predictron learner: supervised updates on labelled mazes, consistency updates on unlabelled ones.

Each supervised update regresses every k-step preturn (weighted uniformly, or by its λ-weight with
usage weighting) and, for the λ-predictron, the λ-preturn to the targets; each consistency update
regresses the k-step preturns to the stopped λ-preturn on a fresh batch without targets (Silver et
al. 2017, sections 3-4). A ConvNet baseline regresses its one prediction to the targets.

The agent predicts rather than acts: :meth:`PredictronAgent.predict` gives the λ-preturn (the
baselines' output) and :meth:`PredictronAgent.act` the maze env's one action.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zoo_core.api import (
    BuildContext,
    NetworkSpec,
    NetworkWeights,
    ZooError,
    check_finite,
    clip_grad_norm,
    load_optimizer_state,
    optimizer_state,
)
from zoo_predictron.config import PredictronConfig
from zoo_predictron.losses import consistency_loss, lambda_loss, preturn_loss
from zoo_predictron.model import ConvNetBaseline, Predictron
from zoo_predictron.preturns import lambda_weights, preturns

METRICS = ("loss", "consistency_loss", "grad_norm", "depth")


def predictron_spec(ctx: BuildContext, cfg: PredictronConfig) -> NetworkSpec:
    """The network as JSON for the run's documents: the architecture and its sizes (the predictron
    builds its own network from them; the DQN family's torso and heads do not apply)."""
    return NetworkSpec(tuple(ctx.obs_shape), ctx.num_actions, torso=cfg.architecture, torso_args={
        "k": cfg.k, "shared": cfg.shared, "use_lambda": cfg.use_lambda, "channels": cfg.channels,
        "hidden": cfg.hidden, "predictions": int(ctx.obs_shape[-1]),
    })


class _Predictor(torch.nn.Module):
    """``obs [N, C, H, W] -> predictions [N, P]``: what ``zoo export`` traces to ``agent.pt``."""

    def __init__(self, agent: PredictronAgent):
        super().__init__()
        self.network, self.baseline = agent.network, agent.baseline

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.baseline:
            return self.network(obs)
        out = self.network(obs)
        return (lambda_weights(out.lambda_) * preturns(out.r, out.gamma, out.v)).sum(1)


class PredictronAgent(NetworkWeights):
    """``predict(obs)``: the λ-preturn of each target; ``learn(...)``: one supervised update and its
    consistency updates."""

    def __init__(self, ctx: BuildContext):
        cfg: PredictronConfig = ctx.config["predictron"]
        if len(ctx.obs_shape) != 3:
            raise ZooError(f"the predictron reads images [C, H, W]; these observations are {list(ctx.obs_shape)} "
                           "(it is made for the Predictron/ envs)")
        self.baseline = cfg.architecture != "predictron"
        if self.baseline and (cfg.consistency_updates or cfg.usage_weighting or not cfg.use_lambda):
            raise ZooError(f"a {cfg.architecture} baseline has no preturns: set predictron.consistency_updates=0, "
                           "predictron.usage_weighting=false and leave predictron.use_lambda true")
        self.cfg = cfg
        torch.manual_seed(ctx.seed)
        self.spec = ctx.spec or predictron_spec(ctx, cfg)
        self.predictions = int(ctx.obs_shape[-1])  # the maze task: one target per diagonal cell
        # Initialised on the CPU, then moved: the same initial weights on every device.
        self.device = ctx.device
        shape = tuple(ctx.obs_shape)
        if self.baseline:
            self.network: torch.nn.Module = ConvNetBaseline(shape, self.predictions, cfg.k, cfg.shared,
                                                            cfg.channels, cfg.hidden, skip=cfg.architecture == "resnet")
        else:
            self.network = Predictron(shape, self.predictions, cfg.k, cfg.shared, cfg.use_lambda, cfg.channels,
                                      cfg.hidden)
        self.network.to(self.device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=cfg.lr)
        self.env_steps = 0
        self.updates = 0
        self.last: dict[str, float] = {}

    # --- predicting -------------------------------------------------------------------------------

    def _outputs(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """``(prediction [B, P], preturns [B, K+1, P], λ-weights [B, K+1, P])``; None, None for a baseline."""
        if self.baseline:
            return self.network(obs), None, None
        out = self.network(obs)
        g, w = preturns(out.r, out.gamma, out.v), lambda_weights(out.lambda_)
        return (w * g).sum(1), g, w

    @torch.no_grad()
    def predict(self, obs: np.ndarray, batch: int = 256) -> np.ndarray:
        """Observations ``[N, C, H, W]`` -> predictions ``[N, P]`` float32 (the λ-preturn), in batches."""
        obs = np.asarray(obs, np.float32)
        out = [self._outputs(torch.as_tensor(obs[i:i + batch], device=self.device))[0].cpu().numpy()
               for i in range(0, len(obs), batch)]
        return np.concatenate(out) if out else np.zeros((0, self.predictions), np.float32)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        """The maze env's only action (0): the predictron is judged by its predictions, not by acting."""
        obs = np.asarray(obs)
        return 0 if obs.ndim == 3 else np.zeros(len(obs), np.int64)

    def greedy_module(self) -> torch.nn.Module:
        """What ``zoo export`` traces: observations -> predictions."""
        return _Predictor(self)

    # --- learning ---------------------------------------------------------------------------------

    def learn(self, obs: np.ndarray, targets: np.ndarray, unlabelled: list[np.ndarray]) -> None:
        """One supervised update on ``obs [B, C, H, W]`` with ``targets [B, P]``, then one consistency
        update on each of ``unlabelled`` (observation batches)."""
        cfg = self.cfg
        x = torch.as_tensor(obs, device=self.device)
        y = torch.as_tensor(targets, device=self.device)
        prediction, g, w = self._outputs(x)
        if g is None:
            loss = lambda_loss(prediction, y)
        else:
            loss = preturn_loss(g, y, w if cfg.usage_weighting else None)
            if cfg.use_lambda:  # the (r, γ)-predictron's λ-preturn is its K-step preturn, already regressed
                loss = loss + lambda_loss(prediction, y)
        norm = self._step(loss)
        self.last = {"loss": float(loss.detach()), "grad_norm": norm}
        if w is not None:  # the expected number of core steps the λ-preturn looks ahead
            steps = torch.arange(w.shape[1], device=w.device, dtype=w.dtype).view(1, -1, *[1] * (w.dim() - 2))
            self.last["depth"] = float((w.detach() * steps).sum(1).mean())
        for batch in unlabelled:
            prediction, g, w = self._outputs(torch.as_tensor(batch, device=self.device))
            assert g is not None  # checked at build: baselines make no consistency updates
            c_loss = consistency_loss(g, prediction, w if cfg.usage_weighting else None)
            self._step(c_loss)
            self.last["consistency_loss"] = float(c_loss.detach())
        self.updates += 1
        self.env_steps += len(obs)

    def _step(self, loss: torch.Tensor) -> float:
        self.optimizer.zero_grad()
        loss.backward()
        params = list(self.network.parameters())
        norm = float(clip_grad_norm(params, self.cfg.max_grad_norm or float("inf")))
        check_finite(float(loss.detach()), norm, self.env_steps, self.updates + 1)
        self.optimizer.step()
        return norm

    # --- state ------------------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        nan = float("nan")
        return {"updates": float(self.updates), **{k: self.last.get(k, nan) for k in METRICS}}

    def train_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, optim_meta = optimizer_state(self.optimizer)
        tensors["rng.torch"] = torch.get_rng_state()
        return tensors, {"env_steps": self.env_steps, "updates": self.updates, "optimizer": optim_meta,
                         "last": self.last}

    def load_train_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        load_optimizer_state(self.optimizer, tensors, meta["optimizer"])
        torch.set_rng_state(tensors["rng.torch"])
        self.env_steps, self.updates, self.last = meta["env_steps"], meta["updates"], meta.get("last", {})


def build_predictron(ctx: BuildContext) -> PredictronAgent:
    """The ``predictron`` algorithm's builder."""
    return PredictronAgent(ctx)
