"""The noisy linear layer: ``y = (μ_w + σ_w ⊙ ε_w) x + μ_b + σ_b ⊙ ε_b``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from zoo_noisy.noise import factorised_noise


class NoisyLinear(nn.Module):
    """A drop-in for ``nn.Linear`` with learned, factorised Gaussian noise on weights and biases.

    Input ``[..., in_features]``, output ``[..., out_features]``. Parameters ``weight_mu``,
    ``weight_sigma`` ``[q, p]`` and ``bias_mu``, ``bias_sigma`` ``[q]`` (``p = in_features``,
    ``q = out_features``), initialised as in the paper: ``μ ~ U[-1/√p, 1/√p]``, ``σ = σ0/√p``.

    In training mode every forward call draws fresh noise from torch's global generator
    (:func:`zoo_noisy.factorised_noise`), shared by all rows of the batch. In ``eval()`` mode the
    layer is deterministic and uses the mean weights ``μ``. The layer keeps no noise state (no
    buffers): checkpointing torch's RNG state is all an exact resume needs.
    """

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"NoisyLinear needs positive sizes; got {in_features} -> {out_features}")
        if sigma0 < 0:
            raise ValueError(f"sigma0 must be >= 0; got {sigma0}")
        self.in_features, self.out_features, self.sigma0 = in_features, out_features, float(sigma0)
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
        self.bias_mu = nn.Parameter(torch.empty(out_features))
        self.bias_sigma = nn.Parameter(torch.empty(out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The paper's initialisation for factorised noise (section 3.2)."""
        bound = 1.0 / math.sqrt(self.in_features)
        with torch.no_grad():
            self.weight_mu.uniform_(-bound, bound)
            self.bias_mu.uniform_(-bound, bound)
            self.weight_sigma.fill_(self.sigma0 * bound)
            self.bias_sigma.fill_(self.sigma0 * bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.linear(x, self.weight_mu, self.bias_mu)
        eps_w, eps_b = factorised_noise(
            self.in_features, self.out_features, device=self.weight_mu.device, dtype=self.weight_mu.dtype
        )
        weight = self.weight_mu + self.weight_sigma * eps_w
        bias = self.bias_mu + self.bias_sigma * eps_b
        return F.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, sigma0={self.sigma0}"
