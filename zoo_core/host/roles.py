"""Asking an agent's plugins: role hooks (at most one answer), and which hooks have implementations.

Agents call these while they are built; the manager that holds the plugins is made in
:mod:`zoo_core.host.manager`.
"""

from __future__ import annotations

from typing import Any

import pluggy

from zoo_core.errors import PluginError


def call_each(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call every implementation of a hook separately; return ``(plugin name, result)`` pairs.

    Used where the host must know who answered: roles and registrations.
    """
    caller = getattr(pm.hook, hook_name)
    out = []
    for impl in reversed(caller.get_hookimpls()):  # pluggy's own call order
        args = {name: kwargs[name] for name in impl.argnames}
        out.append((impl.plugin_name, impl.function(**args)))
    return out


def resolve_role(pm: pluggy.PluginManager, hook_name: str, role: str, **kwargs: Any) -> Any | None:
    """Ask a role hook; at most one plugin may answer.

    :returns: the single answer, or None (the caller then uses the core default).
    :raises PluginError: two plugins answered; the message names both.
    """
    answers = [(name, r) for name, r in call_each(pm, hook_name, **kwargs) if r is not None]
    if len(answers) > 1:
        names = " and ".join(sorted(f"'{n}'" for n, _ in answers))
        raise PluginError(f"plugins {names} both provide the {role}; keep only one of them in the recipe")
    return answers[0][1] if answers else None


def has_impls(pm: pluggy.PluginManager, hook_name: str) -> bool:
    """Whether any plugin implements the hook (lets hot paths skip empty hook calls)."""
    return bool(getattr(pm.hook, hook_name).get_hookimpls())
