"""The plugin host: discovery, one plugin manager per agent, roles and the catalog.

Plugins are found through the ``agent_zoo`` entry-point group. An agent's manager loads exactly
the plugins its recipe names (installing a plugin never changes other agents). A plugin that fails
to import is reported, never fatal to the CLI: ``zoo plugins`` shows it as failed, and only an
agent that needs it stops, with an error naming the plugin and how to install it.

``ZOO_DISABLE_PLUGIN_AUTOLOAD=1`` stops the catalog (``zoo recipes``, ``zoo envs``) from loading
installed plugins, as ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` does for pytest; plugins a recipe names
explicitly still load.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from zoo_core.errors import PluginError
from zoo_core.host import builtins, hookspecs
from zoo_core.host.recipes import Algorithm, Recipe
from zoo_core.version import __version__

ENTRY_POINT_GROUP = "agent_zoo"
AUTOLOAD_ENV = "ZOO_DISABLE_PLUGIN_AUTOLOAD"
CORE = "core"
_REPO_PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


@dataclass(frozen=True)
class PluginStatus:
    """One line of ``zoo plugins``."""

    name: str
    version: str
    distribution: str
    status: str  # "loaded", "failed" or "disabled"
    error: str = ""


def installed_plugins() -> dict[str, metadata.EntryPoint]:
    """Entry points of the ``agent_zoo`` group by name (one per name; first distribution wins)."""
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


def install_hint(name: str) -> str:
    """How to install plugin ``name``: from the index, or from this checkout when it is here."""
    local = _REPO_PLUGINS / f"zoo-{name}"
    if local.is_dir():
        return f"pip install -e {local}"
    return f"pip install zoo-{name}"


def _version(ep: metadata.EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "?", "?"
    return dist.version, dist.metadata["Name"]


def load_plugin(name: str) -> ModuleType:
    """Import plugin ``name`` from its entry point.

    :raises PluginError: it is not installed, or importing it failed (the message names the
        plugin, the reason and how to install it).
    """
    eps = installed_plugins()
    if name not in eps:
        raise PluginError(f"plugin '{name}' is not installed; install it with: {install_hint(name)}")
    try:
        return eps[name].load()
    except Exception as exc:  # a broken plugin must never take the host down
        raise PluginError(
            f"plugin '{name}' failed to load ({type(exc).__name__}: {exc}); reinstall it with: {install_hint(name)}"
        ) from exc


def plugin_statuses(autoload: bool | None = None) -> list[PluginStatus]:
    """Try to load every installed plugin; report each as loaded, failed (with reason) or disabled."""
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    rows = [PluginStatus(CORE, _core_version(), "zoo-core", "loaded")]
    for name, ep in sorted(installed_plugins().items()):
        version, dist = _version(ep)
        if not autoload:
            rows.append(PluginStatus(name, version, dist, "disabled", f"{AUTOLOAD_ENV} is set"))
            continue
        try:
            module = ep.load()
            _validate(name, module)
        except Exception as exc:
            rows.append(PluginStatus(name, version, dist, "failed", f"{type(exc).__name__}: {exc}"))
        else:
            rows.append(PluginStatus(name, version, dist, "loaded"))
    return rows


def plugin_versions(names: Iterable[str]) -> dict[str, str]:
    """Versions of the named plugins (and the core), for config.json and checkpoints."""
    eps = installed_plugins()
    out = {CORE: _core_version()}
    for name in names:
        out[name] = _version(eps[name])[0] if name in eps else "in-process"
    return out


def _core_version() -> str:
    return __version__


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(builtins, name=CORE)
    return pm


def _check(pm: pluggy.PluginManager) -> None:
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"plugin '{exc.plugin_name if hasattr(exc, 'plugin_name') else '?'}' "
            f"implements a hook that does not exist: {exc}"
        ) from exc


def _validate(name: str, plugin: object) -> None:
    pm = _new_manager()
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin '{name}' has an invalid hook: {exc}") from exc
    _check(pm)


def make_manager(plugins: Sequence[str] = (), extra: Sequence[object] = ()) -> pluggy.PluginManager:
    """A plugin manager holding the core, exactly the named plugins, and in-process ``extra``.

    :param plugins: entry-point names to load.
    :param extra: plugin objects or modules registered directly (tests, notebooks); each may
        carry a ``name`` attribute.
    :raises PluginError: a plugin is missing, fails to import, or implements an unknown hook.
    """
    pm = _new_manager()
    for name in plugins:
        module = load_plugin(name)
        try:
            pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin '{name}' has an invalid hook: {exc}") from exc
    for obj in extra:
        name = getattr(obj, "name", None) or getattr(obj, "__name__", None) or type(obj).__name__
        try:
            pm.register(obj, name=str(name))
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin '{name}' has an invalid hook: {exc}") from exc
        except ValueError as exc:
            raise PluginError(f"plugin '{name}' is registered twice: {exc}") from exc
    _check(pm)
    return pm


def catalog_manager() -> pluggy.PluginManager:
    """The core plus every installed plugin that loads (none when autoload is disabled)."""
    pm = _new_manager()
    if os.environ.get(AUTOLOAD_ENV):
        return pm
    for name, ep in sorted(installed_plugins().items()):
        try:
            module = ep.load()
            pm.register(module, name=name)
            _check(pm)
        except Exception:  # reported by `zoo plugins`; a broken plugin hides only itself
            if pm.has_plugin(name):
                pm.unregister(name=name)
    return pm


@dataclass
class Catalog:
    """Everything the plugins of one manager registered."""

    algorithms: dict[str, Algorithm] = field(default_factory=dict)
    recipes: dict[str, Recipe] = field(default_factory=dict)
    env_families: dict[str, Any] = field(default_factory=dict)
    config_classes: dict[str, type] = field(default_factory=dict)
    modules: dict[str, dict[str, Callable[..., Any]]] = field(
        default_factory=lambda: {"torso": {}, "head": {}, "linear": {}, "value": {}, "aux": {}}
    )
    owners: dict[str, str] = field(default_factory=dict)  # "kind:name" -> plugin
    fits: dict[str, tuple[str, ...]] = field(default_factory=dict)  # plugin -> algorithms (``zoo_fits``)


def build_catalog(pm: pluggy.PluginManager) -> Catalog:
    """Run the registration hooks of ``pm`` and collect what they register.

    :raises PluginError: two plugins register the same name (the message names both).
    """
    cat = Catalog()

    def claim(kind: str, name: str, plugin: str) -> None:
        key = f"{kind}:{name}"
        if key in cat.owners and cat.owners[key] != plugin:
            first, second = sorted((cat.owners[key], plugin))
            raise PluginError(f"plugins '{first}' and '{second}' both register the {kind} '{name}'")
        cat.owners[key] = plugin

    for plugin, register in _registrars(pm, "zoo_register_agents"):

        def add_agent(item: Any, plugin: str = plugin) -> None:
            if isinstance(item, Algorithm):
                claim("algorithm", item.name, plugin)
                cat.algorithms[item.name] = item
                claim("config section", item.name, plugin)
                cat.config_classes[item.name] = item.config_class
            elif isinstance(item, Recipe):
                claim("recipe", item.name, plugin)
                cat.recipes[item.name] = item
            else:
                raise PluginError(f"plugin '{plugin}' registered {item!r}; expected Algorithm or Recipe")

        register(add_agent)

    for plugin, register in _registrars(pm, "zoo_register_envs"):

        def add_env(family: Any, plugin: str = plugin) -> None:
            claim("env family", family.name, plugin)
            cat.env_families[family.name] = family

        register(add_env)

    for plugin, register in _registrars(pm, "zoo_config"):

        def add_config(section: str, cls: type, plugin: str = plugin) -> None:
            claim("config section", section, plugin)
            cat.config_classes[section] = cls

        register(add_config)

    for plugin, register in _registrars(pm, "zoo_register_modules"):

        def add_module(kind: str, name: str, factory: Callable[..., Any], plugin: str = plugin) -> None:
            if kind not in cat.modules:
                raise PluginError(
                    f"plugin '{plugin}' registered a module of unknown kind '{kind}'; "
                    f"valid kinds: {', '.join(cat.modules)}"
                )
            claim(kind, name, plugin)
            cat.modules[kind][name] = factory

        register(add_module)

    for impl in pm.hook.zoo_fits.get_hookimpls():
        fits = impl.function()
        if fits is None:
            continue
        if isinstance(fits, str) or not all(isinstance(name, str) for name in fits):
            raise PluginError(f"plugin '{impl.plugin_name}' answered zoo_fits with {fits!r}; expected algorithm names")
        cat.fits[impl.plugin_name] = tuple(fits)
    return cat


def check_fits(catalog: Catalog, algorithm: str) -> None:
    """Refuse a composition where a plugin does not fit the recipe's algorithm (``impala+dueling``).

    :raises PluginError: naming the plugin, the algorithm and the algorithms the plugin fits.
    """
    for plugin, fits in sorted(catalog.fits.items()):
        if algorithm not in fits:
            raise PluginError(
                f"plugin '{plugin}' does not fit algorithm '{algorithm}' (it fits: {', '.join(fits) or 'none'})"
            )


def _registrars(pm: pluggy.PluginManager, hook_name: str):
    """Yield ``(plugin name, run)`` where ``run(register)`` calls that plugin's implementation."""
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        yield impl.plugin_name, (lambda register, impl=impl: impl.function(register=register))
