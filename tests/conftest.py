"""Shared fixtures: a fake installed-plugin site, small training settings, the CLI runner, and a
check that the test run leaves nothing in the repository."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What a command writes by default into its working directory; a test that leaves one of these
# in the repository wrote where it should not (tests write under tmp_path).
STRAY = ("runs", "results.json", "arena.json", "replay.mp4")
_present_at_start: set[str] = set()


def _stray() -> set[str]:
    return {name for name in STRAY if (ROOT / name).exists()}


def pytest_sessionstart(session: pytest.Session) -> None:
    _present_at_start.update(_stray())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):  # under xdist the controller checks once, at the end
        return
    gained = sorted(_stray() - _present_at_start)
    if gained:
        where = ", ".join(str(ROOT / name) for name in gained)
        print(f"\nERROR: the tests left {where} in the repository; write under tmp_path", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

# Small, fast DQN settings for tests that only need a few hundred steps of real training.
TINY = [
    "hidden=32,32",
    "batch_size=16",
    "buffer_size=2000",
    "learning_starts=100",
    "train_freq=1",
    "gradient_steps=1",
    "target_update_interval=50",
    "eps_decay_steps=500",
    "run.eval_every=0",
    "run.eval_episodes=2",
    "run.log_every=100",
    "run.checkpoint_every=0",
]


def make_site(root: Path, plugins: dict[str, str]) -> Path:
    """Write fake installed distributions (one module + dist-info with an agent_zoo entry point each).

    :param plugins: plugin name -> module source.
    :returns: the directory to put on ``sys.path`` / ``PYTHONPATH``.
    """
    site = root / "site"
    site.mkdir(parents=True, exist_ok=True)
    for name, source in plugins.items():
        module = f"fake_zoo_{name}"
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"zoo_{name}-0.0.1.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: zoo-{name}\nVersion: 0.0.1\n")
        (info / "entry_points.txt").write_text(f"[agent_zoo]\n{name} = {module}\n")
    return site


WIDEN = """
    from zoo_core import hookimpl

    @hookimpl
    def zoo_network_spec(spec, config):
        spec.claim("torso_args", {"hidden": [17]}, "widen")
"""

BROKEN = """
    raise ImportError("this plugin needs the package 'nonexistent_dep'")
"""

TINYRECIPE = """
    from zoo_core import Recipe, hookimpl

    @hookimpl
    def zoo_register_agents(register):
        register(Recipe("tinydqn", "dqn", ("widen",), {"dqn": {"batch_size": 8}}, {}, "a test recipe"))
"""


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    """Installs fake plugins 'widen' (edits the network), 'broken' (fails to import) and
    'tinyrecipe' (registers a recipe) for this process and its subprocesses."""
    import importlib

    site = make_site(tmp_path, {"widen": WIDEN, "broken": BROKEN, "tinyrecipe": TINYRECIPE})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    importlib.invalidate_caches()
    yield site
    for name in ("widen", "broken", "tinyrecipe"):
        sys.modules.pop(f"fake_zoo_{name}", None)


_SCRATCH: list[Path] = []


def _scratch_dir() -> Path:
    if not _SCRATCH:
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="zoo-cli-cwd-")))
        atexit.register(shutil.rmtree, _SCRATCH[0], True)
    return _SCRATCH[0]


def zoo_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess:
    """The ``zoo`` CLI in this process (``main([...])``), as a CompletedProcess for the asserts here."""
    from zoo_core.cli.main import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


def run_zoo(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    """Run the ``zoo`` CLI in a subprocess (the console script's code path).

    :param cwd: working directory; by default a scratch folder, so a default output path (``runs/``)
        never lands in the repository.
    """
    full_env = dict(os.environ, CI="1", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "zoo_core.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd or _scratch_dir(),
        env=full_env,
        timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """A user error: exit code 2, one line on stderr, no traceback, containing each needle."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
