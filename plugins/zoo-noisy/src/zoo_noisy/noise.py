"""Factorised Gaussian noise (Fortunato et al. 2018, section 3), pure functions."""

from __future__ import annotations

import torch


def signed_sqrt(x: torch.Tensor) -> torch.Tensor:
    """The paper's ``f(x) = sgn(x) * sqrt(|x|)``, elementwise."""
    return torch.sign(x) * x.abs().sqrt()


def factorise(eps_in: torch.Tensor, eps_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw draws ``eps_in [p]``, ``eps_out [q]`` -> ``(eps_w [q, p], eps_b [q])``.

    ``eps_w = f(eps_out) ⊗ f(eps_in)`` (rank 1) and ``eps_b = f(eps_out)``, ``f`` = :func:`signed_sqrt`.
    """
    f_out = signed_sqrt(eps_out)
    return torch.outer(f_out, signed_sqrt(eps_in)), f_out


def factorised_noise(
    in_features: int,
    out_features: int,
    generator: torch.Generator | None = None,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One draw of factorised noise for a ``p = in_features`` -> ``q = out_features`` layer.

    Draws ``eps_in ~ N(0, 1)^p`` then ``eps_out ~ N(0, 1)^q`` (in that order, from ``generator``,
    or torch's global generator when None) and returns
    ``eps_w = f(eps_out) ⊗ f(eps_in)`` (``[q, p]``, rank 1) and ``eps_b = f(eps_out)`` (``[q]``),
    with ``f`` = :func:`signed_sqrt`. Only ``p + q`` normal draws instead of ``p * q + q``.
    """
    eps_in = torch.randn(in_features, generator=generator, device=device, dtype=dtype)
    eps_out = torch.randn(out_features, generator=generator, device=device, dtype=dtype)
    return factorise(eps_in, eps_out)
