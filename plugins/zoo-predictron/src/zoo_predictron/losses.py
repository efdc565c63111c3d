"""The predictron's losses (Silver et al. 2017, sections 3-4): every k-step preturn and the
λ-preturn regress to the target; the consistency update regresses the k-step preturns to the
λ-preturn on inputs without a target. Pure torch.

Shapes: ``g`` ``[B, K+1, ...]`` the k-step preturns (:func:`zoo_predictron.preturns`), ``g_lambda``
``[B, ...]`` the λ-preturn, ``target`` ``[B, ...]``, ``w`` ``[B, K+1, ...]`` the λ-weights.
"""

from __future__ import annotations

import torch

__all__ = ["consistency_loss", "lambda_loss", "preturn_loss"]


def _weights(g: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    # Uniform over the K+1 preturns, or each k-step loss weighted by how much the λ-preturn uses it
    # (usage weighting). The usage weights are stopped: they say where the λ-preturn looks, and
    # this loss should not move λ to look where the k-step preturns happen to be right.
    return torch.full_like(g, 1.0 / g.shape[1]) if w is None else w.detach()


def preturn_loss(g: torch.Tensor, target: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
    """½ Σ_k c^k (g^k − y)², averaged over the batch and any prediction axes; c^k = 1/(K+1), or the
    usage weight w^k when ``w`` is given (both sum to 1 over k)."""
    return 0.5 * (_weights(g, w) * (g - target.unsqueeze(1)) ** 2).sum(dim=1).mean()


def lambda_loss(g_lambda: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """½ (g^λ − y)², averaged over the batch and any prediction axes."""
    return 0.5 * ((g_lambda - target) ** 2).mean()


def consistency_loss(g: torch.Tensor, g_lambda: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
    """The semi-supervised consistency update: ½ Σ_k c^k (g^k − stop(g^λ))², averaged as
    :func:`preturn_loss`. The λ-preturn is the target here, so no gradient flows into it."""
    return preturn_loss(g, g_lambda.detach(), w)
