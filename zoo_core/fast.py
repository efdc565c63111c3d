"""Hand-written forward and backward for networks built only from the core's plain blocks.

A DQN update on a small MLP is a few microseconds of arithmetic per layer wrapped in tens of
microseconds of ``nn.Module.__call__`` and autograd bookkeeping per node. :class:`PlainNetwork`
recognises a :class:`~zoo_core.networks.QNetwork` whose blocks are all the core's own (an
:class:`~zoo_core.networks.MLPTorso` of ``nn.Linear``/``nn.ReLU`` and a
:class:`~zoo_core.networks.LinearHead` of an ``nn.Linear``; no recurrent core, no auxiliary
heads, no hooks) and runs the same ATen kernels the modules and autograd would run, in the same
order, without them: outputs and gradients are bit-identical (``tests/test_speed_parts.py``).

It recognises blocks by their class, never by a technique's name: a plugin's layer or head (a
noisy linear, a dueling head) is simply not a plain block, and the agent then uses the modules
and autograd as always. :meth:`PlainNetwork.valid` re-checks, on every use, what could have
changed since it was built (hooks, parameters swapped out, JIT tracing), so registering a hook
or replacing a layer later also falls back to the general path.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as _module

from zoo_core.networks import LinearHead, MLPTorso, QNetwork

# ReLU's backward (autograd's formula: threshold_backward(grad, result, 0)).
_relu_backward: Callable[..., torch.Tensor] = torch.ops.aten.threshold_backward.default


def _module_hooks(m: nn.Module) -> bool:
    return bool(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks)


def _global_hooks() -> bool:
    return bool(_module._global_forward_hooks or _module._global_forward_pre_hooks
                or _module._global_backward_hooks or _module._global_backward_pre_hooks)


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
        self._modules = list(network.modules())
        # The containers whose children must stay the ones this plan was built from.
        self._children = [(m._modules, dict(m._modules)) for m in self._modules]

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

        :param training: also require what the backward relies on: every parameter requires a
            gradient and has no tensor hook (which autograd would run on its gradient).
        """
        if _global_hooks() or torch._C._get_tracing_state():
            return False
        for m in self._modules:
            if _module_hooks(m):
                return False
        for children, snapshot in self._children:
            if children != snapshot:
                return False
        for lin, w, b in zip(self.linears, self.weights, self.biases, strict=True):
            params = lin._parameters
            if params["weight"] is not w or params["bias"] is not b or type(lin) is not nn.Linear:
                return False
            if not w.is_contiguous():
                return False
        if training:
            for p in self.params:
                if not p.requires_grad or p._backward_hooks or p._post_accumulate_grad_hooks:
                    return False
        return True

    def forward(self, obs: torch.Tensor, saved: list[torch.Tensor] | None = None) -> torch.Tensor:
        """``network(obs)``; appends each layer's input (and the last output) to ``saved`` for the backward.

        Call it where autograd records nothing (``no_grad``/``inference_mode``, or a network
        whose parameters need no gradient); the result is a leaf.
        """
        x = obs.float()  # MLPTorso's cast
        for w, b, relu in zip(self.weights, self.biases, self.relu_after, strict=True):
            if saved is not None:
                saved.append(x)
            x = F.linear(x, w, b)
            if relu:
                x = torch.relu(x)
        if saved is not None:
            saved.append(x)
        return x.view(-1, self.num_actions, self.num_atoms)  # LinearHead's view

    def backward(self, grad_out: torch.Tensor, saved: list[torch.Tensor]) -> list[torch.Tensor]:
        """Gradients of the parameters given ``grad_out`` (shaped like ``forward``'s result).

        Autograd's formulas for ``addmm`` (``nn.Linear``), ``relu`` and ``view``, term by term:
        bias ``grad.sum(0)``, weight ``grad.t().mm(input)`` (the column-major branch
        ``mm_mat2_backward`` takes for ``weight.t()``), input ``grad.mm(weight)`` (or its
        column-major twin, as ``mm_mat1_backward`` picks), ReLU ``threshold_backward``.
        Call it with autograd off.
        """
        grad = grad_out.reshape(saved[-1].shape)
        grads: list[torch.Tensor] = [grad] * len(self.params)
        for i in range(len(self.weights) - 1, -1, -1):
            if self.relu_after[i]:
                grad = _relu_backward(grad, saved[i + 1], 0)
            x = saved[i]
            grads[2 * i] = grad.t().mm(x)
            grads[2 * i + 1] = grad.sum(0)
            if i:
                w = self.weights[i]
                stride, size = x.stride(), x.shape
                if stride[0] == 1 and stride[1] == size[0]:
                    grad = w.t().mm(grad.t()).t()
                else:
                    grad = grad.mm(w)
        return grads
