"""The README's two commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    return re.findall(r"```bash\n(python3 -m venv .*?)\n```", (ROOT / "README.md").read_text())


def test_readme_starts_with_two_commands_that_pin_torch():
    setup_and_demo, tests = _commands()[:2]
    for command in (setup_and_demo, tests):
        assert "-c constraints.txt" in command
    assert "zoo train" in setup_and_demo and "zoo eval" in setup_and_demo
    assert "zoo pull registry:" in setup_and_demo and "zoo leaderboard show" in setup_and_demo
    assert "pytest" in tests
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text().split()


def test_ci_runs_the_readme_test_command():
    tests = _commands()[1]
    assert tests in (ROOT / ".ci" / "run").read_text()
