"""The PopArt layer: a linear value head that learns on a normalised scale and keeps its statistics."""

from __future__ import annotations

import torch
from torch import nn

from zoo_popart.art import (
    MIN_SIGMA,
    art_update,
    check_beta,
    normalize,
    pop_rescale,
    sigma_from_moments,
    unnormalize,
)


class PopArt(nn.Module):
    """Features ``[..., in_features]`` -> ``(normalized, unnormalized)``, each ``[..., out_features]``.

    Holds a linear layer ``(W [O, I], b [O])`` and, per output, the moments ``mu`` and ``nu`` of
    the targets as buffers (saved in ``state_dict`` and safetensors checkpoints, never trained).
    ``normalized = x W^T + b`` is what the value loss trains
    (:func:`zoo_popart.normalized_value_loss`); ``unnormalized = sigma * normalized + mu`` is the
    value on the targets' scale. The statistics start at ``mu = 0``, ``nu = 1`` (``sigma = 1``),
    so an untrained PopArt is a plain linear layer. In the multi-task setting ``out_features`` is
    the number of tasks, one value and one set of statistics each.

    Args:
      in_features: ``I``, features in.
      out_features: ``O``, values out (tasks).
      beta: step size of the statistics, in ``[0, 1]`` (Hessel et al. 2019 use 3e-4).
      min_sigma: floor of ``sigma`` (keyword only; see :data:`zoo_popart.art.MIN_SIGMA`).

    Raises:
      ValueError: non-positive sizes, ``beta`` outside ``[0, 1]``, or ``min_sigma <= 0``.
    """

    mu: torch.Tensor
    nu: torch.Tensor

    def __init__(self, in_features: int, out_features: int = 1, beta: float = 3e-4, *,
                 min_sigma: float = MIN_SIGMA):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"PopArt needs positive sizes; got {in_features} -> {out_features}")
        if not min_sigma > 0:
            raise ValueError(f"PopArt min_sigma must be positive; got {min_sigma}")
        self.beta = check_beta(beta)
        self.min_sigma = float(min_sigma)
        self.linear = nn.Linear(in_features, out_features)
        self.register_buffer("mu", torch.zeros(out_features))
        self.register_buffer("nu", torch.ones(out_features))

    @property
    def sigma(self) -> torch.Tensor:
        """``[O]`` scale, ``sqrt(nu - mu**2)`` floored at ``min_sigma``."""
        return sigma_from_moments(self.mu, self.nu, self.min_sigma)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [..., I]`` -> ``(normalized [..., O], unnormalized [..., O])``."""
        normalized = self.linear(x)  # [..., O]
        return normalized, unnormalize(normalized, self.mu, self.sigma)

    def normalize(self, targets: torch.Tensor) -> torch.Tensor:
        """Targets ``[..., O]`` on the scale the value loss works on, ``(targets - mu) / sigma``.

        Output ``o`` uses its own statistics (the last axis is the output axis). No gradient flows
        into the statistics; one flows through ``targets`` if they carry it.

        Raises:
          ValueError: the last axis of ``targets`` is not ``O`` long.
        """
        if targets.ndim == 0 or targets.shape[-1] != self.mu.shape[0]:
            raise ValueError(
                f"PopArt.normalize needs targets [..., {self.mu.shape[0]}]; got shape {tuple(targets.shape)}"
            )
        return normalize(targets, self.mu, self.sigma)

    @torch.no_grad()
    def update_stats(self, targets: torch.Tensor, task: torch.Tensor | None = None) -> None:
        """ART then POP: move the statistics towards ``targets``, then rewrite ``W`` and ``b`` so
        that every unnormalised output stays what it was (to float rounding).

        Args:
          targets: ``[B, O]``, or ``[B]`` when ``O = 1``; with ``task``, ``[B]``.
          task: optional ``[B]`` integer indices: row ``i`` updates output ``task[i]`` only (see
            :func:`zoo_popart.art_update`); other outputs' statistics and rows of ``W``, ``b``
            stay bit for bit.

        Raises:
          ValueError: targets or task of the wrong shape or dtype, or an empty batch.
        """
        sigma = self.sigma
        mu_new, nu_new = art_update(self.mu, self.nu, targets, self.beta, task)
        sigma_new = sigma_from_moments(mu_new, nu_new, self.min_sigma)
        w, b = pop_rescale(self.linear.weight, self.linear.bias, self.mu, sigma, mu_new, sigma_new)
        self.linear.weight.copy_(w)
        self.linear.bias.copy_(b)
        self.mu.copy_(mu_new)
        self.nu.copy_(nu_new)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, min_sigma={self.min_sigma}"


def popart_value(in_features: int, num_outputs: int = 1, beta: float = 3e-4, min_sigma: float = MIN_SIGMA) -> PopArt:
    """The ``value`` factory of actor-critic networks (``zoo_core.learning.networks``): a PopArt value head.

    ``ActorCriticNet`` calls it as ``popart_value(features, num_tasks, **head_args)`` with
    ``beta`` and ``min_sigma`` from the ``popart`` config section; the layer already has the
    value-head contract (``forward -> (normalized, unnormalized)``, ``normalize``,
    ``update_stats(targets [N], task [N])``).
    """
    return PopArt(in_features, num_outputs, beta, min_sigma=min_sigma)
