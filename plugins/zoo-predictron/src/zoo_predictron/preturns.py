"""The predictron's k-step and λ-preturns (Silver et al. 2017, section 3). Pure torch.

K is the number of core steps. Step k of the abstract model emits a reward r^k, a discount γ^k and a
λ^k; the value head reads v^k at every step, v^0 included. Index 0 of a ``[B, K]`` reward holds r^1.
Trailing dimensions (several predictions per state) broadcast throughout.
"""

from __future__ import annotations

import torch

__all__ = ["lambda_preturn", "lambda_weights", "preturns"]


def _check(r: torch.Tensor, gamma: torch.Tensor, v: torch.Tensor) -> None:
    if r.dim() < 2 or r.shape != gamma.shape or v.shape[0] != r.shape[0] or v.shape[1] != r.shape[1] + 1:
        raise ValueError(f"expected r and gamma [B, K, ...] and v [B, K+1, ...]; got r {list(r.shape)}, "
                         f"gamma {list(gamma.shape)}, v {list(v.shape)}")


def preturns(r: torch.Tensor, gamma: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The k-step preturns g^0 ... g^K.

    g^0 = v^0 and g^k = r^1 + γ^1 (r^2 + γ^2 (... + γ^{k-1} (r^k + γ^k v^k))), i.e. with
    D^j = γ^1 ··· γ^j (D^0 = 1): g^k = Σ_{j=1..k} D^{j-1} r^j + D^k v^k.

    Args:
      r: ``[B, K, ...]`` rewards r^1 ... r^K.
      gamma: ``[B, K, ...]`` discounts γ^1 ... γ^K.
      v: ``[B, K+1, ...]`` values v^0 ... v^K.

    Returns:
      ``[B, K+1, ...]``.
    """
    _check(r, gamma, v)
    ones = torch.ones_like(gamma[:, :1])
    d = torch.cat([ones, torch.cumprod(gamma, dim=1)], dim=1)  # D^0 ... D^K
    discounted = torch.cumsum(d[:, :-1] * r, dim=1)  # Σ_{j<=k} D^{j-1} r^j for k = 1 ... K
    return torch.cat([torch.zeros_like(discounted[:, :1]), discounted], dim=1) + d * v


def lambda_weights(lambda_: torch.Tensor) -> torch.Tensor:
    """The weight of each k-step preturn in the λ-preturn: ``[B, K, ...]`` λ^0 ... λ^{K-1} ->
    ``[B, K+1, ...]`` w^0 ... w^K, with w^k = (1 − λ^k) Π_{j<k} λ^j for k < K and w^K = Π_{j<K} λ^j.

    The weights are non-negative and sum to 1 for λ in [0, 1].
    """
    if lambda_.dim() < 2:
        raise ValueError(f"expected lambda_ [B, K, ...]; got {list(lambda_.shape)}")
    ones = torch.ones_like(lambda_[:, :1])
    before = torch.cat([ones, torch.cumprod(lambda_, dim=1)], dim=1)  # Π_{j<k} λ^j for k = 0 ... K
    stop = torch.cat([1.0 - lambda_, ones], dim=1)  # 1 − λ^k for k < K, and 1 at K
    return before * stop


def lambda_preturn(r: torch.Tensor, gamma: torch.Tensor, lambda_: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The λ-preturn g^λ = Σ_k w^k g^k (:func:`lambda_weights`, :func:`preturns`).

    Args:
      r, gamma: ``[B, K, ...]`` as in :func:`preturns`.
      lambda_: ``[B, K, ...]`` λ^0 ... λ^{K-1}.
      v: ``[B, K+1, ...]``.

    Returns:
      ``[B, ...]``.
    """
    if lambda_.shape != r.shape:
        raise ValueError(f"expected lambda_ shaped like r {list(r.shape)}; got {list(lambda_.shape)}")
    return (lambda_weights(lambda_) * preturns(r, gamma, v)).sum(dim=1)
