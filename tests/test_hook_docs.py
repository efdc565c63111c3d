"""Every hook is documented in pytest's style (as datasette's tests/test_docs.py insists): when it is
called, each parameter, and what a return value means or that it is ignored."""

from __future__ import annotations

import inspect

import pytest

from zoo_core.host import hookspecs

HOOKS = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("zoo_")]


def test_there_are_hooks():
    assert len(HOOKS) >= 14


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: h.__name__)
def test_hook_is_documented(hook):
    doc = inspect.getdoc(hook) or ""
    assert "Called" in doc, f"{hook.__name__}: say when it is called"
    for name in inspect.signature(hook).parameters:
        assert f":param {name}:" in doc, f"{hook.__name__}: no :param {name}:"
    firstresult = bool(getattr(hook, "agent_zoo_spec", {}).get("firstresult"))
    if firstresult:
        assert "first non-None result" in doc, f"{hook.__name__}: say that the first result wins"
    assert ":return:" in doc or "ignored" in doc, f"{hook.__name__}: say what a return value means"
