"""Plugins add `zoo` subcommands through `zoo_register_commands`; built-ins keep their names."""

from __future__ import annotations

import types

import pytest
from conftest import make_site, run_zoo

from zoo_core import hookimpl
from zoo_core.cli.main import build_parser, main
from zoo_core.host import manager as plugins
from zoo_core.host.manager import AUTOLOAD_ENV, make_manager


def command_plugin(name: str, *commands: tuple[str, str]):
    """An in-process plugin registering ``(command, message)`` pairs: each command takes
    ``--times N`` and prints its message N times; the message ``raise`` makes it a user error."""

    def configure(parser):
        parser.add_argument("--times", type=int, default=1)

    def runner(message: str):
        def run(args):
            if message == "raise":
                from zoo_core.errors import ZooError

                raise ZooError("the plugin refuses")
            print(" ".join([message] * args.times))
            return 0

        return run

    @hookimpl
    def zoo_register_commands(register):
        for command, message in commands:
            register(command, f"say {message} 100% of the time", configure, runner(message))

    return types.SimpleNamespace(name=name, zoo_register_commands=zoo_register_commands)


@pytest.fixture
def installed(monkeypatch):
    """Make the catalog (what `zoo` loads its commands from) hold exactly the given plugins."""

    def install(*extra):
        monkeypatch.setattr(plugins, "catalog_manager", lambda: make_manager(extra=extra))

    return install


def test_plugin_command_runs_and_is_listed(installed, capsys):
    installed(command_plugin("greet", ("hello", "hi")))
    assert main(["hello", "--times", "3"]) == 0
    assert capsys.readouterr().out == "hi hi hi\n"
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "hello" in out and "say hi 100% of the time [plugin greet]" in out and "not added" not in out


def test_plugin_command_errors_are_one_line_exit_2(installed, capsys):
    installed(command_plugin("greet", ("hello", "raise")))
    assert main(["hello"]) == 2
    assert capsys.readouterr().err == "zoo: error: the plugin refuses\n"
    assert main(["hello", "--times", "many"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: argument --times") and err.count("\n") == 1
    assert err.rstrip().endswith("(see `zoo hello --help`)")


def test_builtin_names_win_and_the_skip_is_shown(installed, capsys):
    installed(command_plugin("hijack", ("train", "hijacked"), ("fine", "ok")))
    assert main(["train", "dqn"]) == 2  # the built-in parser: --env is required
    assert "--env" in capsys.readouterr().err
    assert main(["fine"]) == 0  # the plugin's other command still works
    help_text = build_parser().format_help()
    assert "plugin 'hijack' command 'train' is skipped: 'train' is a built-in command" in help_text


def test_two_plugins_with_one_name_get_neither(installed, capsys):
    installed(command_plugin("one", ("dup", "first")), command_plugin("two", ("dup", "second")))
    assert main(["dup", "--times", "2"]) == 2
    err = capsys.readouterr().err
    assert err == "zoo: error: command 'dup' is registered by plugins 'one' and 'two'; uninstall one of them\n"
    assert "command 'dup' is skipped: registered by plugins 'one' and 'two'" in build_parser().format_help()


def test_broken_registration_hides_only_that_plugin(installed, capsys):
    @hookimpl
    def zoo_register_commands(register):
        raise RuntimeError("boom")

    broken = types.SimpleNamespace(name="broken", zoo_register_commands=zoo_register_commands)
    installed(broken, command_plugin("bad-name", ("Bad Name", "x")), command_plugin("greet", ("hello", "hi")))
    assert main(["hello"]) == 0
    help_text = build_parser().format_help()
    assert "plugin 'broken' failed to register its commands (RuntimeError: boom)" in help_text
    assert "plugin 'bad-name' registered an invalid command name 'Bad Name'" in help_text


def test_failing_configure_skips_the_command(installed):
    @hookimpl
    def zoo_register_commands(register):
        def configure(parser):
            parser.add_argument("--x")
            parser.add_argument("--x")  # argparse refuses a repeated option

        register("twice", "broken arguments", configure, lambda args: 0)

    installed(types.SimpleNamespace(name="clumsy", zoo_register_commands=zoo_register_commands))
    help_text = build_parser().format_help()
    assert "plugin 'clumsy' command 'twice' is skipped: its arguments failed (ArgumentError" in help_text
    assert main(["twice"]) == 2


def test_help_without_plugin_commands(installed, capsys):
    installed()
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "train" in out and "not added" not in out


GREET = """
    from zoo_core import hookimpl

    @hookimpl
    def zoo_register_commands(register):
        register("greet", "print a greeting", lambda p: p.add_argument("who"), lambda a: print("hello " + a.who))
"""


def test_installed_plugin_command_and_autoload_switch(tmp_path, monkeypatch):
    import os

    site = make_site(tmp_path, {"greeter": GREET})
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    proc = run_zoo("greet", "world", env=env)
    assert proc.returncode == 0 and proc.stdout == "hello world\n", proc.stderr
    proc = run_zoo("--help", env={**env, AUTOLOAD_ENV: "1"})
    assert proc.returncode == 0 and "greet" not in proc.stdout and "train" in proc.stdout


def test_every_hook_is_typed_and_documented():
    import inspect

    from zoo_core.host import hookspecs

    hooks = [f for name, f in vars(hookspecs).items() if name.startswith("zoo_") and callable(f)]
    assert "zoo_register_commands" in {f.__name__ for f in hooks}
    for hook in hooks:
        assert (hook.__doc__ or "").strip(), f"{hook.__name__} has no docstring"
        params = inspect.signature(hook).parameters.values()
        assert all(p.annotation is not inspect.Parameter.empty for p in params), hook.__name__
