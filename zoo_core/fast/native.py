"""The plain learner's scalar-value update as one C++ call, built once per machine on request.

A DQN update on a small MLP is ~50 ATen ops; from Python each costs a few microseconds of
interpreter and binding work on top of its arithmetic. ``native_update.cpp`` makes the same calls
in the same order from C++ (bit-identical gradients, ``tests/test_native.py``), which halves the
update on CartPole. It is optional: ``zoo native build`` compiles it with torch's extension builder
(a C++ compiler is needed; about a minute), into ``~/.cache/zoo-native/<python>-<torch version>-<source hash>``
(``ZOO_NATIVE_DIR`` moves it). A learner uses it when that build exists and ``ZOO_NATIVE`` is not
``0``; nothing ever compiles implicitly, so a machine without a compiler, or a build never made,
simply keeps the Python path (same results, slower).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import torch

from zoo_core.errors import ZooError

SOURCE = Path(__file__).with_name("native_update.cpp")
_UNSET = object()
_loaded: object = _UNSET  # the module, None (not built or disabled), or _UNSET (not looked for yet)


@functools.cache
def _digest() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]


def build_dir() -> Path:
    """Where this torch version's build of this source lives."""
    digest = _digest()
    root = Path(os.environ.get("ZOO_NATIVE_DIR") or Path.home() / ".cache" / "zoo-native")
    # An extension is tied to its Python ABI and torch build: each pair gets its own folder.
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    return root / f"{python}-torch-{torch.__version__.replace('+', '-')}-{digest}"


def module_name() -> str:
    return "zoo_native_" + build_dir().name.replace(".", "_").replace("-", "_")


def _libraries(folder: Path) -> list[Path]:
    """The extension's compiled libraries in ``folder`` (``.so``, or ``.pyd`` on Windows)."""
    name = module_name()
    return sorted(folder.glob(name + "*.so")) + sorted(folder.glob(name + "*.pyd"))


def _built_library() -> Path | None:
    candidates = _libraries(build_dir())
    return candidates[0] if candidates else None


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name(), path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def native() -> ModuleType | None:
    """The built extension, or None (not built, disabled with ``ZOO_NATIVE=0``, or unloadable)."""
    global _loaded
    if _loaded is _UNSET:
        _loaded = None
        library = _built_library() if os.environ.get("ZOO_NATIVE", "1") != "0" else None
        if library is not None:
            try:
                _loaded = sys.modules.get(module_name()) or _import(library)  # build() may have imported it
            except (ImportError, OSError) as exc:  # a build for another ABI: keep the Python path, say why once
                print(f"zoo: the native update in {library} does not load ({exc}); using the Python path",
                      file=sys.stderr)
    return _loaded  # type: ignore[return-value]


def build(verbose: bool = False) -> Path:
    """Compile the extension unless this source and torch version have a build; return the library.

    Compiles in ``<build_dir>/work`` (torch's builder locks it, so two builds wait for each other)
    and publishes the library into ``build_dir()`` with one rename, so a learner never loads a
    half-written file.

    :raises ZooError: no C++ compiler, or the compile failed (its output is shown with ``verbose``).
    """
    global _loaded
    _loaded = _UNSET  # whoever built it (this call or another process), look again on next use
    library = _built_library()
    if library is not None:
        return library
    from torch.utils import cpp_extension

    work = build_dir() / "work"
    work.mkdir(parents=True, exist_ok=True)
    try:
        cpp_extension.load(module_name(), [str(SOURCE)], build_directory=str(work), verbose=verbose,
                           extra_cflags=["-O2"])
    except (RuntimeError, OSError, ImportError, subprocess.CalledProcessError) as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ZooError(f"the native update did not build ({first.strip()}); --verbose shows the compiler's "
                       "output. Training works without it (the Python path, same results).") from None
    built = _libraries(work)
    if not built:
        raise ZooError(f"the native build left no library in {work}")
    target = build_dir() / built[0].name
    partial = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    shutil.copyfile(built[0], partial)
    os.replace(partial, target)
    _loaded = _UNSET
    return target


def status() -> str:
    """One line: whether learners use the native update here, and why not."""
    if os.environ.get("ZOO_NATIVE", "1") == "0":
        return "native update: off (ZOO_NATIVE=0)"
    library = _built_library()
    if library is None:
        return f"native update: not built (zoo native build; it would go to {build_dir()})"
    return f"native update: {'on' if native() is not None else 'built but not loadable'} ({library})"
