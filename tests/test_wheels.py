"""Built wheels work outside the repository: the bundled registry and leaderboards ship inside them.

The wheels of the core and the Rainbow plugins are built (no network: no build isolation) and installed into
a fresh virtual environment whose only other packages are this interpreter's dependencies (torch,
gymnasium, ...), none of the zoo's; every command then runs from a temporary folder outside the
checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The rainbow recipe and the plugins it composes: every shipped board entry can then be re-evaluated.
PLUGINS = ("zoo-rainbow", "zoo-dueling", "zoo-per", "zoo-noisy", "zoo-c51")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """``(zoo executable, environment)`` of a fresh venv holding only the built wheels."""
    tmp = tmp_path_factory.mktemp("wheels")
    dist = tmp / "dist"
    # Built from copies: an in-tree build would leave build/ folders in the checkout.
    skip = shutil.ignore_patterns(".venv", ".git", "runs", "build", "*.egg-info", "__pycache__", "plugins")
    shutil.copytree(ROOT, tmp / "src" / "core", ignore=skip)
    for name in PLUGINS:
        shutil.copytree(ROOT / "plugins" / name, tmp / "src" / name, ignore=skip)
    sources = [str(tmp / "src" / "core"), *(str(tmp / "src" / name) for name in PLUGINS)]
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(dist), *sources], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == 1 + len(PLUGINS)

    # The dependencies, without any zoo distribution or editable-install hook of this checkout.
    deps = tmp / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name.lower().startswith(("zoo", "__editable__")) or entry.suffix == ".pth":
            continue
        (deps / entry.name).symlink_to(entry)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.check_output([str(python), "-c", purelib], text=True).strip())
    (site / "_zoo_test_deps.pth").write_text(f"{deps}\n")
    inst = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                           *map(str, wheels)], capture_output=True, text=True, timeout=600)
    assert inst.returncode == 0, inst.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "PYTHON", "VIRTUAL_ENV"))}
    env["HF_HUB_OFFLINE"] = "1"
    return venv / "bin" / "zoo", env


def test_installed_wheels_serve_the_registry_and_leaderboards(installed, tmp_path):
    zoo, env = installed
    work = tmp_path / "elsewhere"
    work.mkdir()

    located = _run([str(zoo.parent / "python"), "-c", "import zoo_core; print(zoo_core.__file__)"], work, env)
    assert "site-packages" in located.stdout and str(ROOT) not in located.stdout, located.stdout + located.stderr

    # the optional native update ships its source (`zoo native build` compiles it on the user's machine)
    source = _run([str(zoo.parent / "python"), "-c",
                   "from zoo_core.fast import native; print(native.SOURCE.is_file())"], work, env)
    assert source.stdout.strip() == "True", source.stdout + source.stderr
    status = _run([str(zoo), "native"], work, env)
    assert status.returncode == 0 and status.stdout.startswith("native update: "), status.stdout + status.stderr

    plugins = _run([str(zoo), "plugins"], work, env)
    assert plugins.returncode == 0, plugins.stderr
    assert "c51" in plugins.stdout and "dueling" in plugins.stdout and "impala" not in plugins.stdout

    listed = _run([str(zoo), "registry"], work, env)
    assert listed.returncode == 0, listed.stderr
    assert "dqn-cartpole-v1" in listed.stdout and "rainbow-cartpole-v1" in listed.stdout

    pulled = _run([str(zoo), "pull", "registry:dqn-cartpole-v1", "--out", "agent"], work, env)
    assert pulled.returncode == 0, pulled.stderr
    assert (work / "agent" / "model.safetensors").is_file()

    evaluated = _run([str(zoo), "eval", "registry:dqn-cartpole-v1", "--episodes", "3"], work, env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "500" in evaluated.stdout

    shown = _run([str(zoo), "leaderboard", "show", "CartPole-v1", "--no-verify"], work, env)
    assert shown.returncode == 0, shown.stderr
    assert "dqn-cartpole-v1" in shown.stdout

    verified = _run([str(zoo), "leaderboard", "verify", "Acrobot-v1"], work, env, timeout=600)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    refused = _run([str(zoo), "leaderboard", "submit", "agent"], work, env)
    assert refused.returncode == 2 and "read-only" in refused.stderr and "--leaderboards DIR" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
