"""The predictron's network (Silver et al. 2017, section 2 and appendix): a representation from the
observation to an abstract state, and a core applied K times that emits the next abstract state and,
for each of P predictions, a reward, a discount and a λ; a value head reads every abstract state.

Convolutional throughout, at the input's spatial size, as in the paper's maze experiments (32
channels, 3x3 kernels); the paper's batch normalisation is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ConvNetBaseline", "Predictron", "PredictronOutputs"]


@dataclass
class PredictronOutputs:
    """One forward pass: ``r``, ``gamma``, ``lambda_`` ``[B, K, P]`` (r¹…r^K, γ¹…γ^K, λ⁰…λ^{K−1}) and
    ``v`` ``[B, K+1, P]`` (v⁰…v^K), as :func:`zoo_predictron.preturns` takes them."""

    r: torch.Tensor
    gamma: torch.Tensor
    lambda_: torch.Tensor
    v: torch.Tensor


def _conv(channels_in: int, channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels_in, channels, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())


class _Head(nn.Module):
    """An abstract state ``[B, C, H, W]`` -> ``[B, P]``: a 1x1 convolution, then two linear layers."""

    def __init__(self, channels: int, height: int, width: int, hidden: int, outputs: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels, 8, 1), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(8 * height * width, hidden), nn.ReLU(), nn.Linear(hidden, outputs))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.net(s)


class _Core(nn.Module):
    """One step of the abstract model: state -> (next state, r, γ, λ), each of the last three ``[B, P]``."""

    def __init__(self, channels: int, height: int, width: int, hidden: int, predictions: int):
        super().__init__()
        self.hidden = _conv(channels, channels)
        self.next_state = nn.Conv2d(channels, channels, 3, padding=1)
        self.heads = nn.ModuleDict({name: _Head(channels, height, width, hidden, predictions)
                                    for name in ("r", "gamma", "lambda_")})

    def forward(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.hidden(s)
        return (torch.relu(self.next_state(h)), self.heads["r"](h), torch.sigmoid(self.heads["gamma"](h)),
                torch.sigmoid(self.heads["lambda_"](h)))


class Predictron(nn.Module):
    """Observations ``[B, C, H, W]`` -> :class:`PredictronOutputs` over ``k`` core steps.

    :param shared: one core for every step (the paper's weight sharing), or ``k`` cores of their own.
    :param lambda_: whether the core's λ is learned; without it λ is 1 (the (r, γ)-predictron, whose
        λ-preturn is then the K-step preturn).
    """

    def __init__(self, obs_shape: tuple[int, int, int], predictions: int, k: int, shared: bool = True,
                 lambda_: bool = True, channels: int = 32, hidden: int = 32):
        super().__init__()
        if k < 1:
            raise ValueError(f"the predictron needs at least one core step; got k={k}")
        c, height, width = obs_shape
        self.k, self.shared, self.learn_lambda = k, shared, lambda_
        self.representation = _conv(c, channels)
        self.cores = nn.ModuleList([_Core(channels, height, width, hidden, predictions)
                                    for _ in range(1 if shared else k)])
        self.value = _Head(channels, height, width, hidden, predictions)  # one value head for every step

    def forward(self, obs: torch.Tensor) -> PredictronOutputs:
        s = self.representation(obs)
        rs, gammas, lambdas, vs = [], [], [], [self.value(s)]
        for step in range(self.k):
            # λ^k is read from the state that v^k reads: the core's first output is λ⁰, from s⁰.
            s, r, gamma, lam = self.cores[0 if self.shared else step](s)
            rs.append(r)
            gammas.append(gamma)
            lambdas.append(lam if self.learn_lambda else torch.ones_like(lam))
            vs.append(self.value(s))
        return PredictronOutputs(torch.stack(rs, 1), torch.stack(gammas, 1), torch.stack(lambdas, 1),
                                 torch.stack(vs, 1))


class ConvNetBaseline(nn.Module):
    """The paper's baselines, of the predictron's depth and width: the same representation, then ``k``
    blocks of three 3x3 convolutions (as many as a core step has), then the value head on the last
    state. ``shared``: one block applied ``k`` times (a recurrent ConvNet); else ``k`` blocks of their
    own (a deep feed-forward ConvNet). ``skip``: each block adds its input to its output (a residual
    network), so the value head has a short path to the representation, as the predictron's v⁰ has.
    Observations ``[B, C, H, W]`` -> predictions ``[B, P]``.
    """

    def __init__(self, obs_shape: tuple[int, int, int], predictions: int, k: int, shared: bool = True,
                 channels: int = 32, hidden: int = 32, skip: bool = False):
        super().__init__()
        c, height, width = obs_shape
        self.k, self.shared, self.skip = k, shared, skip
        self.representation = _conv(c, channels)
        self.blocks = nn.ModuleList([
            nn.Sequential(_conv(channels, channels), nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())
            for _ in range(1 if shared else k)
        ])
        self.value = _Head(channels, height, width, hidden, predictions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        s = self.representation(obs)
        for step in range(self.k):
            out = self.blocks[0 if self.shared else step](s)
            s = torch.relu(s + out) if self.skip else out
        return self.value(s)
