"""PopArt's math: pure functions in the rlax style, no state, no hooks.

ART (Adaptively Rescaling Targets) tracks, per output, exponential moving averages of the first
and second moments of the targets, ``mu`` and ``nu``; the scale is ``sigma = sqrt(nu - mu**2)``.
POP (Preserving Outputs Precisely) then rewrites the last linear layer so that its unnormalised
output ``sigma * (x W^T + b) + mu`` is the same before and after the statistics moved
(van Hasselt et al. 2016, "Learning values across many orders of magnitude", algorithm 1;
Hessel et al. 2019, "Multi-task Deep Reinforcement Learning with PopArt", section 3).

Shapes: ``O`` outputs (one per task in the multi-task setting), ``I`` input features, ``B`` rows
of a batch. Statistics ``mu, nu, sigma`` are ``[O]``; the layer is ``w [O, I]``, ``b [O]``.
Nothing here carries gradient into the statistics.
"""

from __future__ import annotations

import torch

MIN_SIGMA = 1e-4
"""Default floor of ``sigma``.

When the targets are (nearly) constant, ``nu - mu**2`` falls to 0, or just below it after
rounding, and ``1 / sigma`` in :func:`normalize` and ``sigma / sigma_new`` in :func:`pop_rescale`
would become infinite or NaN. Flooring ``sigma`` at 1e-4 keeps ``1 / sigma <= 1e4`` (finite
normalised targets and POP factors) while staying far below the spread of any returns worth
normalising. In float32, ``nu - mu**2`` cancels when ``|mu| >> sigma``: it resolves ``sigma``
only down to about ``3.5e-4 * |mu|`` (the square root of float32's epsilon), which is then the
effective floor; the statistics follow the module's dtype, so a float64 layer goes lower.
"""

_INDEX_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def check_beta(beta: float) -> float:
    """Return ``beta`` as a float, or raise :class:`ValueError` unless ``0 <= beta <= 1``.

    ``beta = 0`` freezes the statistics (PopArt is then a plain linear layer at ``mu = 0``,
    ``sigma = 1``); ``beta = 1`` replaces them by each batch's moments.
    """
    beta = float(beta)
    if not 0.0 <= beta <= 1.0:  # also rejects NaN
        raise ValueError(f"PopArt beta (the statistics' step size) must be in [0, 1]; got {beta}")
    return beta


def sigma_from_moments(mu: torch.Tensor, nu: torch.Tensor, min_sigma: float = MIN_SIGMA) -> torch.Tensor:
    """The scale ``sigma = sqrt(max(nu - mu**2, min_sigma**2))``.

    Args:
      mu: ``[O]`` first moments.
      nu: ``[O]`` second moments.
      min_sigma: floor of ``sigma`` (see :data:`MIN_SIGMA`); must be positive.

    Returns:
      ``[O]`` standard deviations, each at least ``min_sigma``.
    """
    return (nu - mu * mu).clamp(min=min_sigma * min_sigma).sqrt()


def _check_targets(mu: torch.Tensor, targets: torch.Tensor, task: torch.Tensor | None) -> torch.Tensor:
    """Return the targets as ``[B, O]`` (single task) or ``[B]`` (with ``task``); raise on bad shapes."""
    num_outputs = mu.shape[0]
    if task is None:
        if targets.ndim == 1 and num_outputs == 1:
            targets = targets[:, None]
        if targets.ndim != 2 or targets.shape[1] != num_outputs:
            allowed = f"[B, {num_outputs}]" + (" or [B]" if num_outputs == 1 else "")
            raise ValueError(f"PopArt targets must be {allowed}; got shape {tuple(targets.shape)}")
    else:
        if task.dtype not in _INDEX_DTYPES:
            raise ValueError(f"PopArt task must be an integer tensor; got {task.dtype}")
        if targets.ndim != 1 or task.shape != targets.shape:
            raise ValueError(
                "PopArt multi-task targets and task must both be [B]; "
                f"got targets {tuple(targets.shape)} and task {tuple(task.shape)}"
            )
        if targets.numel() and (int(task.min()) < 0 or int(task.max()) >= num_outputs):
            raise ValueError(f"PopArt task indices must lie in [0, {num_outputs}); got {task.tolist()}")
    if targets.shape[0] == 0:
        raise ValueError("PopArt targets are empty: need at least one row to update the statistics")
    return targets


def art_update(
    mu: torch.Tensor,
    nu: torch.Tensor,
    targets: torch.Tensor,
    beta: float,
    task: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """ART: move the moments towards the batch's (van Hasselt et al. 2016, eq. 6).

    ``mu' = (1 - beta) mu + beta mean(targets)`` and ``nu' = (1 - beta) nu + beta mean(targets**2)``,
    the means over the batch, per output.

    Multi-task (Hessel et al. 2019): with ``task``, row ``i`` is a target for output ``task[i]``
    only. Each output that has rows moves by one step of ``beta`` towards the mean of its own
    rows; an output without rows keeps its moments bit for bit. (rlax's ``art`` instead takes one
    step per row, so a task with ``n`` rows moves by about ``n * beta``.)

    Args:
      mu: ``[O]`` first moments.
      nu: ``[O]`` second moments.
      targets: ``[B, O]``, or ``[B]`` when ``O = 1``; with ``task``, ``[B]``.
      beta: step size in ``[0, 1]``.
      task: optional ``[B]`` integer indices in ``[0, O)``.

    Returns:
      ``(mu', nu')``, each ``[O]``, in ``mu``'s dtype, without gradient.

    Raises:
      ValueError: ``beta`` outside ``[0, 1]``, targets or task of the wrong shape or dtype, a task
        index out of range, or an empty batch.
    """
    beta = check_beta(beta)
    targets = _check_targets(mu, targets, task).detach().to(mu.dtype)
    mu, nu = mu.detach(), nu.detach()
    if task is None:
        mean, mean_sq = targets.mean(0), (targets * targets).mean(0)  # [O], [O]
        return (1 - beta) * mu + beta * mean, (1 - beta) * nu + beta * mean_sq
    task = task.to(device=mu.device, dtype=torch.int64)
    count = torch.zeros_like(mu).index_add_(0, task, torch.ones_like(targets))  # [O]
    total = torch.zeros_like(mu).index_add_(0, task, targets)  # [O]
    total_sq = torch.zeros_like(mu).index_add_(0, task, targets * targets)  # [O]
    seen = count > 0
    mean, mean_sq = total / count.clamp(min=1), total_sq / count.clamp(min=1)
    mu_new = torch.where(seen, (1 - beta) * mu + beta * mean, mu)
    nu_new = torch.where(seen, (1 - beta) * nu + beta * mean_sq, nu)
    return mu_new, nu_new


def pop_rescale(
    w: torch.Tensor,
    b: torch.Tensor,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    mu_new: torch.Tensor,
    sigma_new: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """POP: rewrite the layer so unnormalised outputs survive new statistics (van Hasselt et al. 2016, eq. 7).

    ``w' = (sigma / sigma_new) w`` (row by row) and ``b' = (sigma b + mu - mu_new) / sigma_new``, so
    ``sigma_new (x w'^T + b') + mu_new = sigma (x w^T + b) + mu`` for every ``x``. Rows whose
    ``mu`` and ``sigma`` did not change are returned bit for bit (the formula would round them).

    Args:
      w: ``[O, I]`` weights.
      b: ``[O]`` biases.
      mu: ``[O]`` old shift; sigma: ``[O]`` old scale.
      mu_new: ``[O]`` new shift; sigma_new: ``[O]`` new scale (positive).

    Returns:
      ``(w' [O, I], b' [O])`` in the dtypes of ``w`` and ``b``, without gradient.
    """
    w, b = w.detach(), b.detach()
    changed = (mu_new != mu) | (sigma_new != sigma)  # [O]
    w_new = (w * (sigma / sigma_new)[:, None]).to(w.dtype)
    b_new = ((sigma * b + mu - mu_new) / sigma_new).to(b.dtype)
    return torch.where(changed[:, None], w_new, w), torch.where(changed, b_new, b)


def normalize(targets: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Targets on the normalised scale: ``(targets - mu) / sigma``.

    Args:
      targets: ``[B, O]`` (or ``[B]``).
      mu, sigma: broadcastable to ``targets``: ``[O]``, or ``[B]`` gathered per row by task
        (``mu[task]``) in the multi-task setting.

    Returns:
      Normalised targets, ``targets``' shape.
    """
    return (targets - mu) / sigma


def unnormalize(normalized: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Back to the targets' scale: ``sigma * normalized + mu`` (the inverse of :func:`normalize`).

    Args:
      normalized: ``[B, O]`` (or ``[B]``); mu, sigma: broadcastable to it.

    Returns:
      Unnormalised values, ``normalized``'s shape.
    """
    return sigma * normalized + mu


def normalized_value_loss(
    normalized_pred: torch.Tensor,
    targets: torch.Tensor,
    mu: torch.Tensor,
    sigma: torch.Tensor,
) -> torch.Tensor:
    """The value loss of PopArt: squared error on the normalised scale.

    ``((targets - mu) / sigma - normalized_pred) ** 2`` (no factor 1/2), summed over outputs and
    averaged over the batch. The gradient reaches ``normalized_pred`` only: targets and
    statistics are constants. Update the statistics (``PopArt.update_stats``) before computing
    ``normalized_pred``, as the papers do, so the loss sees the new scale.

    Args:
      normalized_pred: ``[B]`` or ``[B, O]`` predictions, the layer's normalised output (for
        multi-task, the column of each row's task).
      targets: the same shape, on the raw (unnormalised) scale.
      mu, sigma: broadcastable to ``targets`` (``[O]``, or ``[B]`` gathered by task).

    Returns:
      A scalar: the mean over ``B`` of each row's squared error.

    Raises:
      ValueError: ``normalized_pred`` and ``targets`` differ in shape, or have no batch dimension.
    """
    if normalized_pred.shape != targets.shape or normalized_pred.ndim == 0:
        raise ValueError(
            "normalized_value_loss needs predictions and targets of one shape, [B] or [B, O]; "
            f"got {tuple(normalized_pred.shape)} and {tuple(targets.shape)}"
        )
    target_n = normalize(targets.detach(), mu.detach(), sigma.detach())
    squared = (target_n - normalized_pred) ** 2
    return squared.reshape(squared.shape[0], -1).sum(-1).mean()
