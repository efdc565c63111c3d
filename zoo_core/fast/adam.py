"""Adam for small, overhead-bound learners.

A DQN update on CartPole is a few hundred microseconds of arithmetic wrapped in as much Python:
``torch.optim.Adam.step`` spends most of its time regrouping tensors and checking options that
never change between steps. :class:`FastAdam` is ``torch.optim.Adam(fused=True)`` — same state,
same ``state_dict``, bit-identical updates — whose steady-state ``step`` calls the fused kernel
directly on cached tensor lists.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class FastAdam:
    """Adam whose steady-state step calls torch's fused kernel on cached tensor lists.

    It holds a ``torch.optim.Adam(fused=True)`` (``self.inner``): the first step and any step
    after a state change go through it, later steps skip its Python wrappers (profiling hooks,
    per-call regrouping) and give bit-identical parameters. ``state_dict`` is the inner one's.
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-3, eps: float = 1e-8,
                 betas: tuple[float, float] = (0.9, 0.999)):
        self.params = list(params)
        self.inner = torch.optim.Adam(self.params, lr=lr, eps=eps, betas=betas, fused=True)
        self._cache: tuple | None = None

    @property
    def param_groups(self) -> list[dict]:
        """The inner optimiser's groups (``lr`` is read from them at every step)."""
        return self.inner.param_groups

    def state_dict(self) -> dict:
        return self.inner.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        self.inner.load_state_dict(state_dict)
        self._cache = None

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _build_cache(self) -> tuple | None:
        inner = self.inner
        group = inner.param_groups[0]
        if (len(inner.param_groups) != 1 or group["amsgrad"] or group["weight_decay"] or group["maximize"]
                or any(p not in inner.state for p in self.params)):
            return None
        states = [inner.state[p] for p in self.params]
        steps = [s["step"] for s in states]
        counter = None
        if all(t.dim() == 0 and t.dtype == steps[0].dtype and t.device == steps[0].device for t in steps):
            # One tensor holds every parameter's step count and each state's "step" is a view of
            # it: one add per step instead of a per-tensor loop, the same counts (and state_dict).
            counter = torch.stack(steps)
            for i, s in enumerate(states):
                s["step"] = counter[i]
            steps = [s["step"] for s in states]
        return [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], steps, counter

    def step(self) -> None:
        """One Adam step on the parameters' current gradients."""
        grads = [p.grad for p in self.params]
        if self._cache is None or any(g is None for g in grads):
            self.inner.step()
            self._cache = self._build_cache()
            return
        exp_avgs, exp_avg_sqs, steps, counter = self._cache
        group = self.inner.param_groups[0]
        beta1, beta2 = group["betas"]
        enabled = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)  # as torch.no_grad(), without the context object
        try:
            if counter is not None:
                counter.add_(1)
            else:
                torch._foreach_add_(steps, 1)
            torch._fused_adam_(self.params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"],
                               beta1=beta1, beta2=beta2, weight_decay=0.0, eps=group["eps"], maximize=False)
        finally:
            torch._C._set_grad_enabled(enabled)
