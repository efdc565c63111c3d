"""One network specification that plugins edit and the core builds once (DESIGN.md, Network).

The specification names its building blocks (torso, head, linear layer kind) instead of holding
classes, so it is plain JSON in ``config.json`` and checkpoints and a saved network is rebuilt by
looking names up in the zoo's own module registry, never by importing a path from a file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from zoo_core.errors import PluginError, ZooError


@dataclass
class NetworkSpec:
    """What to build. Shapes: observation ``obs_shape``; output ``[B, num_actions, num_atoms]``."""

    obs_shape: tuple[int, ...]
    num_actions: int
    torso: str = "mlp"
    """Registered torso: ``mlp``, ``nature_cnn`` (Atari 84x84), ``minatar_cnn`` (10x10), ``a3c_cnn``
    (other images)."""
    torso_args: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the torso factory (``hidden`` for the MLP)."""
    recurrent: str | None = None
    """``lstm`` or ``gru`` core after the torso, or None."""
    recurrent_size: int = 256
    head: str = "linear"
    """Registered head mapping features to ``[B, A, atoms]`` (``linear``; plugins add more)."""
    head_args: dict[str, Any] = field(default_factory=dict)
    linear: str = "linear"
    """Registered linear layer kind used by the torso's and head's fully connected layers."""
    linear_args: dict[str, Any] = field(default_factory=dict)
    num_atoms: int = 1
    """Outputs per action, set by the value distribution (1 for scalar values)."""
    aux_heads: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Auxiliary heads by name: ``name -> {"kind": registered aux module, "plugin": who added it,
    "args": {...}}`` (added with :meth:`add_aux_head`; built as ``network.aux[name]``)."""
    claims: dict[str, str] = field(default_factory=dict)
    """Which plugin set which field (so two plugins editing one field is caught)."""

    def claim(self, name: str, value: Any, plugin: str) -> None:
        """Set field ``name`` to ``value`` on behalf of ``plugin``.

        :raises PluginError: another plugin already claimed the field.
        """
        if name not in {f.name for f in dataclasses.fields(self)} or name == "claims":
            raise PluginError(f"plugin '{plugin}' edits unknown network field '{name}'")
        owner = self.claims.get(name)
        if owner is not None and owner != plugin:
            first, second = sorted((owner, plugin))
            raise PluginError(
                f"plugins '{first}' and '{second}' both change the network's {name}; "
                "keep only one of them in the recipe"
            )
        self.claims[name] = plugin
        setattr(self, name, value)

    def add_aux_head(self, name: str, kind: str, plugin: str, **args: Any) -> None:
        """Add auxiliary head ``name``, built by the registered ``aux`` module ``kind`` with ``args``,
        on behalf of ``plugin``.

        :raises PluginError: another plugin already added a head of that name.
        """
        owner = self.aux_heads.get(name, {}).get("plugin")
        if owner is not None and owner != plugin:
            first, second = sorted((owner, plugin))
            raise PluginError(
                f"plugins '{first}' and '{second}' both add the auxiliary head '{name}'; "
                "keep only one of them in the recipe"
            )
        self.aux_heads[name] = {"kind": kind, "plugin": plugin, "args": dict(args)}

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkSpec:
        """Rebuild from :meth:`to_json` output, refusing unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ZooError(f"network spec has unknown keys: {', '.join(sorted(unknown))}")
        data = dict(data)
        data["obs_shape"] = tuple(data["obs_shape"])
        return cls(**data)


def default_torso(obs_shape: tuple[int, ...]) -> str:
    """The torso that fits an observation shape: MLP for vectors, CNNs for Atari, MinAtar and other images."""
    if len(obs_shape) == 1:
        return "mlp"
    if len(obs_shape) == 3 and obs_shape[1:] == (84, 84):
        return "nature_cnn"
    if len(obs_shape) == 3 and obs_shape[1:] == (10, 10):
        return "minatar_cnn"
    if len(obs_shape) == 3 and min(obs_shape[1:]) >= 12:
        return "a3c_cnn"
    raise ZooError(f"no default network for observations of shape {obs_shape}; set dqn.torso explicitly")
