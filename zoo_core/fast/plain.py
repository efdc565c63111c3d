"""Hand-written forward and backward for networks built only from the core's plain blocks.

A DQN update on a small MLP is a few microseconds of arithmetic per layer wrapped in tens of
microseconds of ``nn.Module.__call__`` and autograd bookkeeping per node. :class:`PlainNetwork`
recognises a :class:`~zoo_core.learning.networks.QNetwork` whose blocks are all the core's own (an
:class:`~zoo_core.learning.networks.MLPTorso` of ``nn.Linear``/``nn.ReLU`` and a
:class:`~zoo_core.learning.networks.LinearHead` of an ``nn.Linear``; no recurrent core, no auxiliary
heads, no hooks) and runs the same ATen kernels the modules and autograd would run, in the same
order, without them: outputs and gradients are bit-identical (``tests/test_speed_parts.py``).

It recognises blocks by their class, never by a technique's name: a plugin's layer or head (a
noisy linear, a dueling head) is simply not a plain block, and the agent then uses the modules
and autograd as always. :meth:`PlainNetwork.valid` re-checks, on every use, what could have
changed since it was built (hooks, parameters swapped out, JIT tracing), so registering a hook
or replacing a layer later also falls back to the general path.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as _module

from zoo_core.fast.losses import fused_loss
from zoo_core.fast.native import native
from zoo_core.learning.learner import TensorBatch
from zoo_core.learning.networks import LinearHead, MLPTorso, QNetwork
from zoo_core.learning.value_distribution import ScalarValue, TDInputs

# ReLU's backward (autograd's formula: threshold_backward(grad, result, 0)).
_relu_backward: Callable[..., torch.Tensor] = torch.ops.aten.threshold_backward.default


# Torch's registries of hooks on every module; each module's own hook dicts are gathered in a plan.
_GLOBAL_HOOKS = (_module._global_forward_hooks, _module._global_forward_pre_hooks,
                 _module._global_backward_hooks, _module._global_backward_pre_hooks)


_requires_grad = operator.attrgetter("requires_grad")
_grad_hooks = operator.attrgetter("_backward_hooks")
_acc_hooks = operator.attrgetter("_post_accumulate_grad_hooks")


class _Guard:
    """What a plan re-checks before each use, as flat lists so a check is a few C-level loops.

    Torch adds hooks to the very dicts gathered here; children and parameters are compared by
    identity with snapshots; blocks by exact class. ``trained`` parameters must also still require
    gradients, carry no tensor hook (autograd would run it on their gradient) and, for weights,
    keep the contiguous layout whose autograd formula the backward reproduces.
    """

    def __init__(self, modules: list[nn.Module], trained: list[torch.Tensor], weights: list[torch.Tensor]):
        self.hooks = [*_GLOBAL_HOOKS, *(d for m in modules for d in (
            m._forward_hooks, m._forward_pre_hooks, m._backward_hooks, m._backward_pre_hooks))]
        self.dicts = [d for m in modules for d in (m._modules, m._parameters) if d]
        self.contents = [v for d in self.dicts for v in d.values()]
        self.count = len(self.contents)
        self.blocks, self.kinds = modules, [type(m) for m in modules]
        self.trained, self.weights = trained, weights

    def __add__(self, other: _Guard) -> _Guard:
        return _Guard(self.blocks + other.blocks, self.trained + other.trained, self.weights + other.weights)

    def ok(self) -> bool:
        if any(self.hooks) or torch._C._get_tracing_state():
            return False
        dicts = self.dicts
        if sum(map(len, dicts)) != self.count or not all(
                map(operator.is_, itertools.chain.from_iterable(map(dict.values, dicts)), self.contents)):
            return False
        if list(map(type, self.blocks)) != self.kinds:
            return False
        trained = self.trained
        if trained and (not all(map(_requires_grad, trained)) or any(map(_grad_hooks, trained))
                        or any(map(_acc_hooks, trained)) or not all(map(torch.Tensor.is_contiguous, self.weights))):
            return False
        return True


class PlainNetwork:
    """The arithmetic of a feed-forward network made of the core's plain blocks.

    ``forward(obs [B, *obs_shape]) -> [B, num_actions, num_atoms]`` is what ``network(obs)``
    computes; ``backward(grad_out, saved)`` returns each parameter's gradient, in
    ``network.parameters()`` order, as ``torch.autograd`` would accumulate it into ``.grad``.
    Build it with :meth:`of`, which returns None for any other network.
    """

    def __init__(self, network: QNetwork, layers: list[tuple[nn.Linear, bool]]):
        self.network = network
        self.linears = [lin for lin, _ in layers]
        self.relu_after = [relu for _, relu in layers]
        self.weights = [lin.weight for lin in self.linears]
        self.biases = [lin.bias for lin in self.linears]
        self.params = [p for lin in self.linears for p in (lin.weight, lin.bias)]
        self.num_actions, self.num_atoms = network.head.num_actions, network.head.num_atoms
        modules = list(network.modules())
        self.guard = _Guard(modules, [], [])  # for forward alone
        self.training_guard = _Guard(modules, self.params, self.weights)  # for forward and backward

    @classmethod
    def of(cls, network: nn.Module) -> PlainNetwork | None:
        """A plan for ``network`` if it is built only from plain blocks, else None."""
        if type(network) is not QNetwork or network.core is not None or len(network.aux):
            return None
        torso, head = network.torso, network.head
        if type(torso) is not MLPTorso or type(head) is not LinearHead or type(torso.body) is not nn.Sequential:
            return None
        layers: list[tuple[nn.Linear, bool]] = []
        for block in torso.body:
            if type(block) is nn.Linear:
                layers.append((block, False))
            elif type(block) is nn.ReLU and layers and not layers[-1][1]:
                layers[-1] = (layers[-1][0], True)
            else:
                return None
        if type(head.out) is not nn.Linear:
            return None
        layers.append((head.out, False))
        if any(lin.bias is None for lin, _ in layers):
            return None
        plan = cls(network, layers)
        if [id(p) for p in network.parameters()] != [id(p) for p in plan.params] or list(network.buffers()):
            return None
        return plan if plan.valid() else None

    def valid(self, training: bool = False) -> bool:
        """Whether the plan still computes what the modules would (checked on every use).

        :param training: also require what the backward relies on (see :class:`_Guard`).
        """
        return (self.training_guard if training else self.guard).ok()

    def forward(self, obs: torch.Tensor, saved: list[torch.Tensor] | None = None) -> torch.Tensor:
        """``network(obs)``; appends each layer's input (and the last output) to ``saved`` for the backward.

        Call it where autograd records nothing (``no_grad``/``inference_mode``, or a network
        whose parameters need no gradient); the result is a leaf.
        """
        x = obs if obs.dtype == torch.float32 else obs.float()  # MLPTorso's cast
        for w, b, relu in zip(self.weights, self.biases, self.relu_after, strict=True):
            if saved is not None:
                saved.append(x)
            x = F.linear(x, w, b)
            if relu:
                x = x.relu_()  # in place: the pre-activation is not needed (ReLU's backward reads its output)
        if saved is not None:
            saved.append(x)
        return x.view(-1, self.num_actions, self.num_atoms)  # LinearHead's view

    def backward(self, grad_out: torch.Tensor, saved: list[torch.Tensor]) -> list[torch.Tensor]:
        """Gradients of the parameters given ``grad_out`` (shaped like ``forward``'s result).

        Autograd's formulas for ``addmm`` (``nn.Linear``), ``relu`` and ``view``, term by term
        (see :meth:`layer_grads` and :meth:`param_grads`). Call it with autograd off.
        """
        return self.param_grads(self.layer_grads(grad_out, saved), saved)

    def layer_grads(self, grad_out: torch.Tensor, saved: list[torch.Tensor]) -> list[torch.Tensor]:
        """The gradient with respect to each linear layer's output ``[B, out]``, first layer first.

        ReLU's is ``threshold_backward(grad, result, 0)``; a linear layer passes ``grad.mm(weight)``
        to its input, or the column-major twin ``mm_mat1_backward`` picks for a column-major input.
        """
        grad = grad_out.reshape(saved[-1].shape)
        layers = len(self.weights)
        grads = [grad] * layers
        for i in range(layers - 1, -1, -1):
            if self.relu_after[i]:
                grad = _relu_backward(grad, saved[i + 1], 0)
            grads[i] = grad
            if i:
                w, x = self.weights[i], saved[i]
                stride, size = x.stride(), x.shape
                if stride[0] == 1 and stride[1] == size[0]:
                    grad = w.t().mm(grad.t()).t()
                else:
                    grad = grad.mm(w)
        return grads

    def param_grads(self, layer_grads: list[torch.Tensor], saved: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each parameter's gradient, in parameter order, from :meth:`layer_grads`.

        Weight ``grad.t().mm(input)`` (the column-major branch ``mm_mat2_backward`` takes for
        ``weight.t()``, transposed back), bias ``grad.sum(0)`` (autograd's ``sum_to``).
        """
        grads: list[torch.Tensor] = []
        for grad, x in zip(layer_grads, saved, strict=False):
            grads += (grad.t().mm(x), grad.sum(0))
        return grads


def native_for(value: object, obs: torch.Tensor) -> Any:
    """The built extension (:mod:`zoo_core.fast.native`) when it computes what the plain path would
    for this value distribution and these observations, else None.

    Its loss and its Q-values are the core's scalar value's (exactly that class, as fused losses are
    registered), on ``[B, obs]`` float32 observations (the plain forward's ``float()`` cast is not in it).
    """
    if type(value) is not ScalarValue or obs.dim() != 2 or obs.dtype != torch.float32:
        return None
    return native()


class PlainLearner:
    """The learner's gradient computation when both networks are plain (see :class:`PlainNetwork`).

    :meth:`grads` computes what the agent's general update computes with modules and autograd:
    the online forward (on ``[obs_tm1; obs_t]`` with double Q), the target forward, the value
    distribution's loss (weighted by importance weights when given, reduced by mean or sum) and
    every parameter's gradient. The loss's own gradient comes from the fused loss registered for
    the value distribution (:mod:`zoo_core.fast.losses`) when there is one, else from autograd
    through its ``loss`` with the network output as the leaf; either way the parameters' gradients
    are bit-identical to the general path. With a fused loss the intermediates are computed under
    ``torch.inference_mode`` (cheaper than ``no_grad`` per op); the gradients and the loss, which
    outlive the update, are not.
    """

    def __init__(self, online: PlainNetwork, target: PlainNetwork):
        self.online, self.target = online, target
        self._guard = online.training_guard + target.guard
        self._native_fits = online.relu_after == target.relu_after  # the extension takes one activation plan
        self._seeds: dict[tuple, torch.Tensor] = {}

    @classmethod
    def of(cls, network: nn.Module, target: nn.Module) -> PlainLearner | None:
        """A learner for these networks if both are plain, else None."""
        online_plan, target_plan = PlainNetwork.of(network), PlainNetwork.of(target)
        if online_plan is None or target_plan is None:
            return None
        return cls(online_plan, target_plan)

    def valid(self) -> bool:
        """Whether :meth:`grads` applies now (no hook or swapped parameter since it was built)."""
        return self._guard.ok()

    def _grad_seed(self, batch: int, reduction: str, like: torch.Tensor) -> torch.Tensor:
        # d(loss)/d(loss_b): autograd's mean backward (ones / B; one rounding either way) or sum's.
        key = (batch, reduction, like.dtype, like.device)
        seed = self._seeds.get(key)
        if seed is None:
            fill = 1.0 / batch if reduction == "mean" else 1.0
            seed = torch.full((batch,), fill, dtype=like.dtype, device=like.device)
            self._seeds[key] = seed
        return seed

    def grads(
        self, value: Any, batch: TensorBatch, double_q: bool, reduction: str
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """``(loss, priority [B], gradients)``: the reduced loss (no graph), the value
        distribution's priority and each online parameter's gradient, in parameter order."""
        fused = fused_loss(value)
        ext = native_for(value, batch.obs_tm1) if self._native_fits else None
        if ext is not None:
            return self._native_grads(ext, value, batch, double_q, reduction)
        enabled = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        try:
            obs_tm1, a_tm1, r_t, discount_t, _, weights = batch  # obs_t: read by _forwards
            online, size = self.online, obs_tm1.shape[0]
            saved: list[torch.Tensor] = []
            if fused is None:
                out, out_t = self._forwards(batch, double_q, saved)
                return self._grads_by_autograd(value, batch, out, out_t, double_q, reduction, saved)
            # Inference mode skips even autograd's no-grad bookkeeping; only intermediates are
            # made in it: what outlives the update (gradients, loss) is made below, as usual.
            with torch._C._InferenceMode(True):  # torch.inference_mode() without its Python layers
                out, out_t = self._forwards(batch, double_q, saved)
                grad_loss = self._grad_seed(size, reduction, out)
                if weights is not None:
                    grad_loss = grad_loss * weights
                out_tm1, selector = (out[:size], out[size:]) if double_q else (out, None)
                loss_b, priority, grad_tm1 = fused(value, TDInputs(out_tm1, a_tm1, r_t, discount_t, out_t, selector),
                                                   grad_loss)
                if double_q:  # the selector half gets no gradient (autograd's slice backward)
                    grad_out = out.new_zeros(out.shape)
                    grad_out[:size] = grad_tm1
                else:
                    grad_out = grad_tm1
                layer_grads = online.layer_grads(grad_out, saved)
            return _reduce(loss_b, weights, reduction), priority, online.param_grads(layer_grads, saved)
        finally:
            torch._C._set_grad_enabled(enabled)

    def _native_grads(self, ext: Any, value: Any, batch: TensorBatch, double_q: bool,
                      reduction: str) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """:meth:`grads` for the scalar value through the built extension (:mod:`zoo_core.fast.native`):
        the same kernels in the same order, one call from Python."""
        obs_tm1, a_tm1, r_t, discount_t, obs_t, weights = batch
        grad_loss = self._grad_seed(obs_tm1.shape[0], reduction, obs_tm1)
        if weights is not None:
            grad_loss = grad_loss * weights
        online, target = self.online, self.target
        loss_b, priority, *grads = ext.scalar_update(
            obs_tm1, a_tm1, r_t, discount_t, obs_t, online.weights, online.biases, target.weights, target.biases,
            online.relu_after, grad_loss, double_q, value.huber_delta)
        return _reduce(loss_b, weights, reduction), priority, grads

    def _forwards(self, batch: TensorBatch, double_q: bool,
                  saved: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(out, out_t)``: the online output (on ``[obs_tm1; obs_t]`` with double Q, one forward for
        both online evaluations, as the general path does) and the target output at ``obs_t``."""
        obs = torch.cat([batch.obs_tm1, batch.obs_t]) if double_q else batch.obs_tm1
        return self.online.forward(obs, saved), self.target.forward(batch.obs_t)

    def _grads_by_autograd(
        self, value: Any, batch: TensorBatch, out: torch.Tensor, out_t: torch.Tensor, double_q: bool,
        reduction: str, saved: list[torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """:meth:`grads` for a value distribution without a fused loss: autograd through its
        ``loss`` from the network output (a leaf) on; plain forward and backward around it."""
        size = batch.obs_tm1.shape[0]
        with torch.enable_grad():
            out.requires_grad_()
            out_tm1, selector = (out[:size], out[size:].detach()) if double_q else (out, None)
            loss_b, priority = value.loss(out_tm1, batch.a_tm1, batch.r_t, batch.discount_t, out_t, selector)
            loss = _reduce(loss_b, batch.weights, reduction)
            (grad_out,) = torch.autograd.grad(loss, out)
        return loss.detach(), priority.detach(), self.online.backward(grad_out, saved)


def _reduce(loss_b: torch.Tensor, weights: torch.Tensor | None, reduction: str) -> torch.Tensor:
    """The per-sample losses ``[B]``, importance-weighted when ``weights`` are given, reduced by
    ``mean`` or ``sum`` (the general path's arithmetic, in its order)."""
    if weights is not None:
        loss_b = loss_b * weights
    return loss_b.mean() if reduction == "mean" else loss_b.sum()
