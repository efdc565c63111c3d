"""Network building blocks and the one builder that turns a :class:`NetworkSpec` into a module.

Factory signatures (what ``zoo_register_modules`` registers):

* ``linear(in_features, out_features, **spec.linear_args) -> nn.Module``
* ``torso(obs_shape, linear, **spec.torso_args) -> nn.Module`` with an ``out_features`` attribute;
  input ``[B, *obs_shape]`` (any dtype), output ``[B, out_features]``
* ``head(in_features, num_actions, num_atoms, linear, **spec.head_args) -> nn.Module``;
  output ``[B, num_actions, num_atoms]``
* ``value(in_features, num_outputs, **args) -> nn.Module``, a state-value head for actor-critic
  agents (one output per task): ``forward(x [..., F]) -> (normalized, unnormalized)`` each
  ``[..., K]``, ``normalize(targets [..., K]) -> [..., K]`` (the scale the value loss works on) and
  ``update_stats(targets [B], task [B])`` (called after each update; a plain head ignores it).
* ``aux(spec, torso_features, core_features, linear, **args) -> nn.Module``, an auxiliary-task head
  (``spec.add_aux_head``); it reads whichever features its task needs (:class:`AuxFeatures`), and
  what it returns is its plugin's business.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

from zoo_core.errors import ZooError
from zoo_core.learning.network_spec import NetworkSpec

LinearFactory = Callable[[int, int], nn.Module]


def linear_layer(in_features: int, out_features: int) -> nn.Module:
    """The plain fully connected layer."""
    return nn.Linear(in_features, out_features)


class RunningNorm(nn.Module):
    """Standardise inputs ``[B, D]`` by running statistics of everything the learner has seen.

    The statistics are buffers (saved with the weights, sent to actors with them) and move only in
    a training-mode forward with gradients enabled, i.e. in the learner's update; acting and
    evaluation (inference mode or ``eval()``) only read them. Outputs are clipped to ±``clip``.
    """

    count: torch.Tensor
    mean: torch.Tensor
    var: torch.Tensor

    def __init__(self, features: int, clip: float = 5.0, eps: float = 1e-8):
        super().__init__()
        self.clip, self.eps = clip, eps
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(features, dtype=torch.float64))
        self.register_buffer("var", torch.ones(features, dtype=torch.float64))

    @torch.no_grad()
    def _update(self, x: torch.Tensor) -> None:
        # Chan et al.'s parallel merge of (count, mean, var) with the batch's, in float64.
        x = x.double()
        n, batch_mean, batch_var = x.shape[0], x.mean(0), x.var(0, unbiased=False)
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * n + delta**2 * self.count * n / total
        self.mean += delta * n / total
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if self.training and torch.is_grad_enabled():
            self._update(x)
        scaled = (x - self.mean.float()) / torch.sqrt(self.var.float() + self.eps)
        return scaled.clamp(-self.clip, self.clip)


class MLPTorso(nn.Module):
    """Fully connected torso with ReLUs: ``[B, D] -> [B, hidden[-1]]``, optionally standardising its
    inputs first (:class:`RunningNorm`; for observations of very different or tiny scales)."""

    def __init__(
        self, obs_shape: tuple[int, ...], linear: LinearFactory, hidden: tuple[int, ...] = (256, 256),
        normalize: bool = False,
    ):
        super().__init__()
        if len(obs_shape) != 1:
            raise ZooError(f"the mlp torso needs flat observations; got shape {tuple(obs_shape)}")
        layers: list[nn.Module] = [RunningNorm(obs_shape[0])] if normalize else []
        width = obs_shape[0]
        for size in hidden:
            layers += [linear(width, int(size)), nn.ReLU()]
            width = int(size)
        self.body = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.body(obs.float())


class _PixelCNN(nn.Module):
    """Convolutions, then one fully connected layer with a ReLU: ``[B, *obs_shape]`` uint8 images
    -> ``[B, features]``; frames are stored as uint8 to keep replay small and scaled only here."""

    def __init__(self, conv: nn.Sequential, obs_shape: tuple[int, ...], linear: LinearFactory, features: int):
        super().__init__()
        self.conv = conv
        with torch.no_grad():
            flat = self.conv(torch.zeros(1, *obs_shape)).shape[1]
        self.fc = nn.Sequential(linear(flat, features), nn.ReLU())
        self.out_features = features

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(obs.float() / 255.0))


class NatureCNNTorso(_PixelCNN):
    """Mnih et al. 2015's torso: ``[B, 4, 84, 84]`` uint8 frames -> ``[B, 512]``."""

    def __init__(self, obs_shape: tuple[int, ...], linear: LinearFactory, features: int = 512):
        conv = nn.Sequential(
            nn.Conv2d(obs_shape[0], 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        super().__init__(conv, obs_shape, linear, features)


class A3CCNNTorso(_PixelCNN):
    """Mnih et al. 2016's A3C encoder (UNREAL's too): ``[B, C, H, W]`` uint8 images of any size ->
    conv 16 8x8 stride 4 -> conv 32 4x4 stride 2 -> ``[B, 256]``; the default for images that are
    neither Atari's nor MinAtar's (MiniGrid's 56x56 view)."""

    def __init__(self, obs_shape: tuple[int, ...], linear: LinearFactory, features: int = 256):
        if len(obs_shape) != 3 or min(obs_shape[1:]) < 12:
            raise ZooError(f"the a3c_cnn torso needs images [C, H, W] of at least 12x12; got {tuple(obs_shape)}")
        conv = nn.Sequential(
            nn.Conv2d(obs_shape[0], 16, 8, stride=4), nn.ReLU(),
            nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(),
            nn.Flatten(),
        )
        super().__init__(conv, obs_shape, linear, features)


class MinAtarCNNTorso(nn.Module):
    """Young & Tian 2019's MinAtar torso: ``[B, C, 10, 10]`` -> one 3x3 conv (16) -> ``[B, 128]``."""

    def __init__(self, obs_shape: tuple[int, ...], linear: LinearFactory, features: int = 128):
        super().__init__()
        channels, height, width = obs_shape
        self.conv = nn.Sequential(nn.Conv2d(channels, 16, 3, stride=1), nn.ReLU(), nn.Flatten())
        flat = 16 * (height - 2) * (width - 2)
        self.fc = nn.Sequential(linear(flat, features), nn.ReLU())
        self.out_features = features

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(obs.float()))


class LinearHead(nn.Module):
    """Features ``[B, F]`` -> action values ``[B, num_actions, num_atoms]``."""

    def __init__(self, in_features: int, num_actions: int, num_atoms: int, linear: LinearFactory):
        super().__init__()
        self.num_actions, self.num_atoms = num_actions, num_atoms
        self.out = linear(in_features, num_actions * num_atoms)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(features).view(-1, self.num_actions, self.num_atoms)


class PlainValue(nn.Module):
    """The plain state-value head: one linear layer whose outputs are the values (no normalisation)."""

    def __init__(self, in_features: int, num_outputs: int = 1):
        super().__init__()
        self.linear = nn.Linear(in_features, num_outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        value = self.linear(x)
        return value, value

    def normalize(self, targets: torch.Tensor) -> torch.Tensor:
        return targets

    def update_stats(self, targets: torch.Tensor, task: torch.Tensor | None = None) -> None:
        """Nothing to track."""


class RecurrentCore(nn.Module):
    """An LSTM or GRU over time, whose state is reset where an episode starts.

    Input ``[T, B, F]`` with ``first [T, B]`` (1 where a step begins an episode) and a state
    (``(h, c)`` each ``[B, H]`` for LSTM, ``h [B, H]`` for GRU); output ``[T, B, H]`` and the state
    after the last step.
    """

    def __init__(self, kind: str, in_features: int, size: int):
        super().__init__()
        if kind not in ("lstm", "gru"):
            raise ZooError(f"unknown recurrent core '{kind}'; valid: lstm, gru")
        self.kind, self.size = kind, size
        self.cell = nn.LSTMCell(in_features, size) if kind == "lstm" else nn.GRUCell(in_features, size)
        self.out_features = size

    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        """Zero state for ``batch`` sequences (always a tuple: ``(h, c)`` or ``(h,)``), on the core's device."""
        zeros = torch.zeros(batch, self.size, device=self.cell.weight_hh.device)
        return (zeros, zeros.clone()) if self.kind == "lstm" else (zeros,)

    def forward(
        self, x: torch.Tensor, first: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        outputs = []
        for t in range(x.shape[0]):
            keep = (1.0 - first[t].float()).unsqueeze(-1)  # zero the state at episode starts
            state = tuple(s * keep for s in state)
            if self.kind == "lstm":
                h, c = self.cell(x[t], state)
                state = (h, c)
            else:
                h = self.cell(x[t], state[0])
                state = (h,)
            outputs.append(h)
        return torch.stack(outputs), state


class AuxFeatures(NamedTuple):
    """What auxiliary heads read from a network run over sequences.

    torso: ``[T, B, F]`` the torso's features of each observation (no memory).
    core: ``[T, B, H]`` the recurrent core's output (the torso's features again without a core).
    state: the core's state after the last step (``()`` without a core).
    """

    torso: torch.Tensor
    core: torch.Tensor
    state: tuple[torch.Tensor, ...]


def build_aux_heads(
    spec: NetworkSpec, modules: Mapping[str, Mapping[str, Callable[..., Any]]], torso_features: int,
    core_features: int, linear: LinearFactory,
) -> nn.ModuleDict:
    """The auxiliary heads ``spec.aux_heads`` asks for, by name (each network of the zoo has them as ``.aux``)."""
    return nn.ModuleDict({
        name: lookup_module(modules, "aux", head["kind"])(spec, torso_features, core_features, linear, **head["args"])
        for name, head in spec.aux_heads.items()
    })


def run_core(
    torso: nn.Module, core: RecurrentCore | None, obs: torch.Tensor, first: torch.Tensor | None,
    state: tuple[torch.Tensor, ...] | None,
) -> AuxFeatures:
    """A torso and optional core over sequences ``obs [T, B, *obs_shape]`` (``first [T, B]`` zeroes
    the core's state at episode starts; None: no starts; ``state`` None: the zero state)."""
    steps, batch = obs.shape[:2]
    x = torso(obs.reshape(steps * batch, *obs.shape[2:])).view(steps, batch, -1)
    if core is None:
        return AuxFeatures(x, x, ())
    if first is None:
        first = torch.zeros(steps, batch, device=obs.device)
    h, state = core(x, first, core.initial_state(batch) if state is None else state)
    return AuxFeatures(x, h, state)


def torso_and_core(
    spec: NetworkSpec, modules: Mapping[str, Mapping[str, Callable[..., Any]]]
) -> tuple[LinearFactory, nn.Module, RecurrentCore | None, int]:
    """What every network of the zoo starts with: the spec's linear layer kind, its torso, its
    recurrent core (or None), and the number of features the heads read."""
    linear = functools.partial(lookup_module(modules, "linear", spec.linear), **spec.linear_args)
    torso = lookup_module(modules, "torso", spec.torso)(spec.obs_shape, linear, **spec.torso_args)
    features = torso.out_features
    core = RecurrentCore(spec.recurrent, features, spec.recurrent_size) if spec.recurrent else None
    return linear, torso, core, core.out_features if core is not None else features


class QNetwork(nn.Module):
    """Torso (+ optional recurrent core) + head, built from a spec.

    Feed-forward: ``forward(obs [B, *obs_shape]) -> [B, A, atoms]``.
    Recurrent: ``forward(obs [T, B, *obs_shape], first [T, B], state) -> ([T, B, A, atoms], state)``.
    """

    def __init__(self, spec: NetworkSpec, modules: Mapping[str, Mapping[str, Callable[..., Any]]]):
        super().__init__()
        linear, self.torso, self.core, features = torso_and_core(spec, modules)
        self.head = lookup_module(modules, "head", spec.head)(
            features, spec.num_actions, spec.num_atoms, linear, **spec.head_args
        )
        self.aux = build_aux_heads(spec, modules, self.torso.out_features, features, linear)

    @property
    def recurrent(self) -> bool:
        return self.core is not None

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """Torso features ``[B, F]`` of a feed-forward network (what auxiliary heads read)."""
        return self.torso(obs)

    def forward(self, obs: torch.Tensor, first: torch.Tensor | None = None, state: Any = None):
        if self.core is None:
            return self.head(self.torso(obs))
        steps, batch = obs.shape[:2]
        _, h, state = run_core(self.torso, self.core, obs, first, state)
        out = self.head(h.reshape(steps * batch, -1))
        return out.view(steps, batch, *out.shape[1:]), state

    # --- what auxiliary tasks read (zoo_core.api.AuxInputs) --------------------------------------

    def aux_features(self, obs: torch.Tensor, first: torch.Tensor | None = None, state: Any = None) -> AuxFeatures:
        """Torso and core features over sequences ``obs [T, B, *obs_shape]``."""
        return run_core(self.torso, self.core, obs, first, state)


def lookup_module(modules: Mapping[str, Mapping[str, Callable[..., Any]]], kind: str, name: str) -> Callable[..., Any]:
    table = modules[kind]
    if name not in table:
        raise ZooError(
            f"unknown {kind} '{name}'; registered: {', '.join(sorted(table)) or '(none)'} "
            "(is the plugin that provides it installed and in the recipe?)"
        )
    return table[name]


BUILTIN_MODULES: dict[str, dict[str, Callable[..., Any]]] = {
    "torso": {"mlp": MLPTorso, "nature_cnn": NatureCNNTorso, "minatar_cnn": MinAtarCNNTorso, "a3c_cnn": A3CCNNTorso},
    "head": {"linear": LinearHead},
    "linear": {"linear": linear_layer},
    "value": {"linear": PlainValue},
    "aux": {},
}


def build_network(spec: NetworkSpec, modules: Mapping[str, Mapping[str, Callable[..., Any]]]) -> QNetwork:
    """Build the module a spec describes, looking each block up by name in ``modules``."""
    return QNetwork(spec, modules)
