"""The ``zoo`` command.

Every user error (unknown recipe, env, plugin or hyperparameter, a bad or mismatched checkpoint)
is one line on stderr and exit code 2, never a traceback.

Plugins add subcommands through the ``zoo_register_commands`` hook (see
:func:`plugin_commands`); built-in commands always keep their names.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from zoo_core.cli.args import nonneg_int, positive_int, progress_default
from zoo_core.errors import ZooError
from zoo_core.version import __version__

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage too)
        # main() prints "zoo: error: "; a subcommand's parser points at its own help instead of
        # repeating the prefix ("zoo: error: zoo train: ...").
        hint = f" (see `{self.prog} --help`)" if self.prog != "zoo" else ""
        raise ZooError(f"{message}{hint}")


def _add_gym_packages(
    p: argparse.ArgumentParser,
    help: str = "modules to import first: a custom env's (an agent folder's own is never imported unasked)",
) -> None:
    p.add_argument("--gym-packages", nargs="+", default=[], metavar="MODULE", help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="zoo", description="Agent Zoo: train, evaluate and share deep RL agents.")

    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train a recipe on an environment")
    p.add_argument("recipe", help="recipe name, or a composition like dqn+dueling")
    p.add_argument("--env", required=True, help="environment id (see `zoo envs`)")
    p.add_argument("--steps", type=positive_int, default=50_000, help="total environment steps")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--out", help="run directory (default runs/<recipe>-<env>-s<seed>)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="hyperparameter, e.g. lr=1e-3 or run.eval_every=5000 (repeatable)",
    )
    p.add_argument(
        "--backend", choices=("local", "ray"), help="where an actor-learner algorithm (impala) runs its actors"
    )
    p.add_argument("--address", help="Ray cluster address for --backend ray (default: start a local Ray runtime)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_gym_packages(p, "modules to import first (they register custom envs); recorded in the run's env id")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config as JSON and exit; writes nothing")

    p = sub.add_parser("resume", help="continue a run from its latest checkpoint")
    p.add_argument("run_dir")
    p.add_argument("--steps", type=positive_int, help="new total environment steps")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"),
                   help="run.device for this resume (e.g. cpu for a run made with cuda; default: the run's own)")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("eval", help="evaluate an agent under an explicit protocol")
    p.add_argument("path", help="run directory, checkpoint, agent folder, registry:NAME or hf:org/name@rev")
    p.add_argument("--episodes", type=positive_int, default=20)
    p.add_argument("--env", help="evaluate on another env with the same spaces")
    p.add_argument("--seed", type=nonneg_int, default=0, help="episode i is seeded with seed+i")
    p.add_argument("--epsilon", type=float, default=0.0, help="ε of ε-greedy evaluation (0 = greedy)")
    p.add_argument("--sample", action="store_true",
                   help="draw actions from the agent's policy instead of its argmax (actor-critic agents)")
    p.add_argument("--max-steps", type=positive_int, help="cap on steps per episode")
    p.add_argument("--which", choices=("latest", "best"), default="latest", help="checkpoint of a run directory")
    p.add_argument("--out", help="JSON file of the results (default: a run directory's results-eval-WHICH.json; "
                                 "for anything else, only printed)")
    p.add_argument("--no-progress", action="store_true")
    _add_gym_packages(p)

    p = sub.add_parser("enjoy", help="watch an agent play and record a video")
    p.add_argument("path", help="run directory, checkpoint, agent folder, registry:NAME or hf:org/name@rev")
    p.add_argument("--video", help="MP4 file to write (default: a run directory's replay-WHICH.mp4; "
                                   "for anything else, needed to record)")
    p.add_argument("--env")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--max-steps", type=positive_int, default=10_000)
    p.add_argument("--which", choices=("latest", "best"), default="latest")
    _add_gym_packages(p)

    p = sub.add_parser("ablate", help="a recipe against each leave-one-out variant, over seeds")
    p.add_argument("recipe")
    p.add_argument("--env", required=True)
    p.add_argument("--steps", type=positive_int, required=True)
    p.add_argument("--seeds", type=positive_int, default=3)
    p.add_argument("--out", help="directory (default runs/ablate-<recipe>-<env>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--variants", type=lambda text: [v.strip() for v in text.split(",") if v.strip()], default=[],
                   metavar="NAME,...", help="train only these variants (with the reference); default: all")
    p.add_argument("--measure", choices=("eval", "train", "success"), default="eval",
                   help="compare the periodic greedy evaluations and the final one (default), the mean return "
                        "of the last 100 training episodes (the acting policy's own), or the evaluations' success "
                        "rates (envs that report info['is_success']); finished runs are re-read")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("export", help="write a shareable agent folder (weights, card, results, video, TorchScript)")
    p.add_argument("path", help="run directory, checkpoint, agent folder, registry:NAME or hf:org/name@rev")
    p.add_argument("--out", required=True, help="new folder to write")
    p.add_argument("--which", choices=("latest", "best"), default="best", help="agent of a run directory")
    p.add_argument("--episodes", type=positive_int, default=20, help="evaluation episodes for results.json")
    p.add_argument("--seed", type=nonneg_int, default=0, help="episode i is seeded with seed+i")
    p.add_argument("--no-video", action="store_true", help="skip replay.mp4")
    p.add_argument("--no-progress", action="store_true")
    _add_gym_packages(p)

    p = sub.add_parser("registry", help="list and search the registry of pretrained agents")
    p.add_argument("query", nargs="?", help="substring of the id, env or recipe")
    p.add_argument("--env", help="only agents for this env id")
    p.add_argument("--recipe", help="only agents of this recipe")
    p.add_argument("--plugin", help="only agents using this plugin")
    p.add_argument("--add", metavar="FOLDER", help="maintainers: register this agent folder (needs --id)")
    p.add_argument("--id", dest="agent_id", help="the new agent's registry id")
    p.add_argument("--hub-repo", help="with --add: org/name where it is published")
    p.add_argument("--revision", help="with --add: the pinned 40-hex Hub commit")
    p.add_argument("--no-bundle", action="store_true", help="with --add: index only; fetch from the Hub")
    p.add_argument("--refresh", action="store_true",
                   help="maintainers: take each bundled agent's score from the leaderboard that re-evaluated it")

    sub.add_parser("plugins", help="installed plugins, their versions and load status")
    p = sub.add_parser("recipes", help="what can be trained")
    p.add_argument("recipe", nargs="?", help="only this recipe (or composition, e.g. dqn+dueling)")
    p.add_argument("--env", help="with RECIPE: the values it trains with on this env (its family's settings)")
    p.add_argument("-v", "--verbose", action="store_true", help="also list every hyperparameter")
    sub.add_parser("envs", help="environment families and ids")
    p = sub.add_parser("native", help="the optional C++ update of plain MLP learners: status, or build it")
    p.add_argument("action", nargs="?", choices=["status", "build"], default="status")
    p.add_argument("--verbose", action="store_true", help="with build: show the compiler's output")
    from zoo_core.cli import hub as cli_hub
    from zoo_core.cli import leaderboard as cli_leaderboard

    cli_hub.add_parsers(sub)
    cli_leaderboard.add_parsers(sub)
    _add_plugin_commands(parser, sub)
    return parser


_RUN = "_zoo_plugin_run"  # where a plugin command's parser leaves its run function in the namespace
_COMMAND_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class PluginCommand:
    """A subcommand a plugin registered through ``zoo_register_commands``."""

    name: str
    help: str
    plugin: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int | None]


def plugin_commands(builtin: Collection[str]) -> tuple[list[PluginCommand], dict[str, str], list[str]]:
    """The subcommands of every installed plugin that loads (``zoo_core.host.manager.catalog_manager``).

    Conflicts are settled without looking at registration order: a plugin command named like a
    built-in is skipped (the built-in runs), and a name two plugins register goes to neither.
    A plugin whose hook raises, or that registers an invalid name, loses only those commands.

    :param builtin: the built-in command names.
    :returns: the commands to add; ``{name: error}`` for names that two plugins claim (running
        one is that error); notes saying what was skipped and why (shown in ``zoo --help``).
    """
    from zoo_core.host import manager as plugins

    found: dict[str, list[PluginCommand]] = {}
    notes: list[str] = []
    for plugin, run_hook in plugins._registrars(plugins.catalog_manager(), "zoo_register_commands"):
        mine: list[PluginCommand] = []

        def register(
            name: str,
            help: str,
            configure: Callable[[argparse.ArgumentParser], None],
            run: Callable[[argparse.Namespace], int | None],
            plugin: str = plugin,
            mine: list[PluginCommand] = mine,
        ) -> None:
            mine.append(PluginCommand(name, help, plugin, configure, run))

        try:
            run_hook(register)
        except Exception as exc:  # a broken plugin hides only its own commands
            notes.append(f"plugin '{plugin}' failed to register its commands ({type(exc).__name__}: {exc})")
            continue
        for cmd in mine:
            if not isinstance(cmd.name, str) or not _COMMAND_NAME.match(cmd.name):
                notes.append(f"plugin '{plugin}' registered an invalid command name {cmd.name!r}")
            elif cmd.name in builtin:
                notes.append(f"plugin '{plugin}' command '{cmd.name}' is skipped: '{cmd.name}' is a built-in command")
            elif not callable(cmd.configure) or not callable(cmd.run):
                notes.append(f"plugin '{plugin}' command '{cmd.name}' is skipped: configure and run must be callables")
            else:
                found.setdefault(cmd.name, []).append(cmd)
    commands, clashes = [], {}
    for name, cmds in sorted(found.items()):
        owners = sorted({c.plugin for c in cmds})
        if len(cmds) == 1:
            commands.append(cmds[0])
            continue
        who = " and ".join(f"'{o}'" for o in owners)
        if len(owners) == 1:
            who = f"{who} (twice)"
        clashes[name] = f"command '{name}' is registered by plugins {who}; uninstall one of them"
        notes.append(f"command '{name}' is skipped: registered by plugins {who}")
    return commands, clashes, notes


def _add_plugin_commands(parser: argparse.ArgumentParser, sub) -> None:
    """Add plugins' commands to ``zoo``'s subparsers; list what was skipped in ``zoo --help``."""
    commands, clashes, notes = plugin_commands(set(sub.choices))
    for cmd in commands:
        try:  # configure a scratch parser first: a failing plugin must leave no half-made command
            cmd.configure(_Parser(prog=f"zoo {cmd.name}"))
        except Exception as exc:
            notes.append(f"plugin '{cmd.plugin}' command '{cmd.name}' is skipped: its arguments failed "
                         f"({type(exc).__name__}: {exc})")
            continue
        # argparse %-formats help strings: a plugin's "95%" must not break `zoo --help`.
        p = sub.add_parser(cmd.name, help=f"{cmd.help} [plugin {cmd.plugin}]".replace("%", "%%"))
        cmd.configure(p)
        p.set_defaults(**{_RUN: cmd.run})
    for name, error in clashes.items():
        # No option prefix: whatever follows the name is taken as is, then refused by run.
        p = sub.add_parser(name, help="(unavailable: two plugins register it)", add_help=False, prefix_chars="\0")
        p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
        p.set_defaults(**{_RUN: _refuse(error)})
    if notes:
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = "plugin commands not added:\n" + "\n".join(f"  {n}" for n in notes)


def _refuse(message: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise ZooError(message)

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zoo`` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        from zoo_core.cli import hub as cli_hub
        from zoo_core.cli import leaderboard as cli_leaderboard

        commands = {**COMMANDS, **cli_hub.COMMANDS, **cli_leaderboard.COMMANDS}
        run = getattr(args, _RUN, None) or commands[args.command]
        return run(args) or 0
    except ZooError as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:  # RunInterrupted says which signal and where the run was saved
        print(f"zoo: {exc or 'interrupted'}", file=sys.stderr)
        return 128 + getattr(exc, "signum", signal.SIGINT)


def _train(args: argparse.Namespace) -> int:
    from zoo_core.envs.custom import with_gym_packages
    from zoo_core.running.training import train

    args.env = with_gym_packages(args.env, args.gym_packages)
    if args.dry_run:
        return _dry_run(args)
    overrides = list(args.overrides)
    if args.address and args.backend != "ray":
        raise ZooError("--address is the Ray cluster's address; it needs --backend ray")
    if args.backend:
        overrides.append(f"run.backend={args.backend}")
    if args.address:
        overrides.append(f"run.address={args.address}")
    result = train(
        args.recipe,
        args.env,
        args.steps,
        args.seed,
        args.out,
        overrides,
        progress=_progress() and not args.no_progress,
        rows=not sys.stdout.isatty(),
    )
    _report(result)
    return 0


def _progress() -> bool:
    return progress_default()


def _report(result) -> None:
    if result.complete:
        return  # resume said so: nothing was trained
    final = result.final.summary if result.final else None
    print(f"run: {result.run_dir}")
    if result.stopped_early:
        print(result.stopped_early)
    if result.best is not None:
        print(f"best periodic evaluation: {result.best:.4g} (the agent in {result.run_dir / 'best'})")
    if final and result.final.protocol.metric != "return":
        print(f"final evaluation: {result.final.headline()}")
    elif final:
        print(
            f"final evaluation over {final['episodes']} episodes: mean {final['mean']:.1f} "
            f"± {final['std']:.1f} (IQM {final['iqm']:.1f}"
            + (f", success {final['success_rate']:.0%})" if "success_rate" in final else ")")
        )


def _resume(args: argparse.Namespace) -> int:
    from zoo_core.running.training import resume

    _report(resume(args.run_dir, args.steps, progress=_progress() and not args.no_progress,
                   rows=not sys.stdout.isatty(), device=args.device))
    return 0


def _agent_and_env(path: str, which: str, env_id: str | None, gym_packages: Sequence[str] = ()):
    from zoo_core.host.session import check_signature, resolve
    from zoo_core.publishing.load import load

    agent = load(path, which=which, gym_packages=gym_packages)
    setup = agent.setup
    if env_id and env_id != setup.env_id:
        setup = resolve(agent.doc["recipe"], env_id, saved=agent.doc["config"])
        probe = setup.make_env(training=False)
        check_signature(agent.doc["signature"], probe, env_id)
        probe.close()
    return agent, setup


def _run_directory(path: str) -> Path | None:
    """``path`` as a run directory (config.json and checkpoints/), or None for anything else."""
    from zoo_core.running.checkpoint import CONFIG

    folder = Path(path)
    return folder if (folder / CONFIG).is_file() and (folder / "checkpoints").is_dir() else None


def _eval(args: argparse.Namespace) -> int:
    from zoo_core.running.evaluation import write_results

    agent, setup = _agent_and_env(args.path, args.which, args.env, args.gym_packages)
    protocol = setup.protocol(args.episodes, args.seed, args.epsilon, args.max_steps, sample=args.sample)
    result = setup.evaluate(agent, protocol, progress=_progress() and not args.no_progress)
    # Never the run's own results.json (its final evaluation), nor the working directory unasked;
    # an agent folder is left alone too (a file outside its manifest would fail its next load).
    run_dir = _run_directory(args.path)
    name = f"results-eval-{args.which}" + (f"-{re.sub(r'[^A-Za-z0-9.-]', '_', args.env)}" if args.env else "")
    out = Path(args.out) if args.out else (run_dir / f"{name}.json" if run_dir else None)
    if out is not None:
        write_results(result, out, extra={"agent": args.path, "recipe": agent.doc["recipe"]})
    print(f"{setup.env_id}: {result.headline()}" + (f" -> {out}" if out else ""))
    return 0


def _enjoy(args: argparse.Namespace) -> int:
    from zoo_core.running.video import write_video

    run_dir = _run_directory(args.path)
    video = Path(args.video) if args.video else (run_dir / f"replay-{args.which}.mp4" if run_dir else None)
    agent, setup = _agent_and_env(args.path, args.which, args.env, args.gym_packages)
    if setup.algorithm.metric != "return":
        raise ZooError(f"zoo enjoy watches episodes; the {setup.algorithm.name} algorithm is judged by "
                       f"{setup.algorithm.metric} on a held-out set (score it with zoo eval)")
    frames: list = []
    # As its runs evaluated it: a policy they sampled is sampled here too.
    protocol = setup.protocol(1, args.seed, max_steps=args.max_steps, sample=setup.config["run"].eval_sample)
    result = setup.evaluate(agent, protocol, record=frames.append if video else None)
    if video:
        write_video(frames, video)
    where = f" -> {video}" if video else " (no video: pass --video FILE.mp4 to record one)"
    outcome = "" if result.successes is None else (", solved" if result.successes[0] else ", not solved")
    print(f"{setup.env_id}: return {result.returns[0]:.1f} in {result.lengths[0]} steps{outcome}{where}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from zoo_core.publishing.agent_folder import export_agent
    from zoo_core.running.checkpoint import read_json

    out = export_agent(args.path, args.out, which=args.which, episodes=args.episodes, seed=args.seed,
                       video=not args.no_video, progress=_progress() and not args.no_progress,
                       gym_packages=args.gym_packages)
    from zoo_core.running.evaluation import EvalResult

    result = EvalResult.from_json(read_json(out / "results.json"))
    files = ", ".join(sorted(p.name for p in out.iterdir()))
    print(f"exported {out}: {result.headline()} ({files})")
    return 0


def _registry(args: argparse.Namespace) -> int:
    from zoo_core.publishing import registry

    if args.refresh:
        from zoo_core.publishing.publish import refresh_scores

        changed = refresh_scores()
        print(f"verified scores updated: {', '.join(changed) or 'none changed'}")
        return 0
    if args.add:
        from zoo_core.publishing.leaderboard import verified_score

        if not args.agent_id:
            raise ZooError("zoo registry --add FOLDER needs --id NAME")
        folder = Path(args.add)
        entry = registry.add(folder, args.agent_id, hub_repo=args.hub_repo, revision=args.revision,
                             bundle=not args.no_bundle, score=verified_score(folder))
        print(f"registered {registry.describe(entry)}")
        return 0
    from rich.table import Table

    from zoo_core.cli.tables import print_table

    entries = registry.search(args.query, env=args.env, recipe=args.recipe, plugin=args.plugin)
    table = Table(title=f"registry ({len(entries)} agents)")
    for column in ("id", "recipe", "env", "plugins", "score", "verified", "source"):
        table.add_column(column)
    for e in entries:
        s = e["score"]
        source = "bundled" if e.get("bundled") else f"hf:{e['hub_repo']}@{(e.get('revision') or '')[:8]}"
        table.add_row(e["id"], e["recipe"], e["env_id"], ",".join(e.get("plugins", [])) or "-",
                      registry.score_summary(s), "✓" if s.get("verified") else "-", source)
    print_table(table)
    return 0


def _ablate(args: argparse.Namespace) -> int:
    from zoo_core.running.ablation import run_ablation, summary_name

    out = Path(args.out or f"runs/ablate-{args.recipe}-{args.env.replace('/', '_')}")
    rows = run_ablation(args.recipe, args.env, args.steps, args.seeds, out, args.overrides,
                        progress=progress_default() and not args.no_progress, only=args.variants, measure=args.measure)
    name = out / summary_name(args.measure)
    print(name.with_suffix(".md").read_text())
    print(f"table: {name.with_suffix('.csv')}  plot: {name.with_suffix('.png')}  ({len(rows)} variants)")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zoo_core.cli.tables import print_table
    from zoo_core.host.manager import build_catalog, catalog_manager, plugin_statuses

    fits = build_catalog(catalog_manager()).fits  # what each plugin declares through zoo_fits
    table = Table("plugin", "version", "distribution", "fits", "status", "detail")
    for row in plugin_statuses():
        style = {"loaded": "green", "failed": "red"}.get(row.status, "yellow")
        fit = ", ".join(fits[row.name]) if row.name in fits else ("any" if row.status == "loaded" else "")
        table.add_row(row.name, row.version, row.distribution, fit, f"[{style}]{row.status}[/]", row.error)
    print_table(table)
    return 0


def _recipes(args: argparse.Namespace) -> int:
    import dataclasses

    from rich.console import Console
    from rich.table import Table

    from zoo_core.host.config import field_help, field_range
    from zoo_core.host.manager import build_catalog, catalog_manager, make_manager
    from zoo_core.host.recipes import parse_recipe
    from zoo_core.host.session import resolve

    if args.env and not args.recipe:
        raise ZooError("--env shows a recipe's values on that env: zoo recipes RECIPE --env ENV -v")
    catalog = build_catalog(catalog_manager())
    table = Table("recipe", "algorithm", "plugins", "description")
    if args.recipe:
        recipe, plugins = parse_recipe(args.recipe, catalog.recipes)
        shown = [(args.recipe, recipe.algorithm, plugins, recipe.description)]
    else:
        shown = [(n, r.algorithm, r.plugins, r.description) for n, r in sorted(catalog.recipes.items())]
    for name, algorithm, plugins, description in shown:
        table.add_row(name, algorithm, ", ".join(plugins) or "-", description)
    console = Console()
    console.print(table)
    if not args.verbose:
        return 0
    if args.env:  # what training would use: the recipe's layers for this env's family resolved
        setup = resolve(args.recipe, args.env)
        sections = {name: (type(value), value) for name, value in setup.config.items()}
        title = f"{args.recipe} on {setup.env_id} ({setup.family.name} family)"
    elif args.recipe:
        classes = build_catalog(make_manager(plugins)).config_classes
        sections = {name: (cls, None) for name, cls in classes.items()}
        title = "defaults"
    else:
        sections = {name: (cls, None) for name, cls in catalog.config_classes.items()}
        title = "defaults"
    for section, (cls, values) in sorted(sections.items()):
        columns = ("key", "value", "default", "range", "help") if values is not None else (
            "key", "default", "range", "help")
        params = Table(*columns, title=_shown_text(f"[{section}] {title}"))
        helps = field_help(cls)
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
            if values is None:
                params.add_row(f"{section}.{f.name}", _shown(default), field_range(f), helps[f.name])
                continue
            value = getattr(values, f.name)
            mark = "bold yellow" if value != default else ""
            params.add_row(f"{section}.{f.name}", f"[{mark}]{_shown(value)}[/]" if mark else _shown(value),
                           _shown(default), field_range(f), helps[f.name])
        console.print(params)
    if not args.env:
        console.print("Recipes change these per env family; `zoo recipes RECIPE --env ENV -v` shows the values "
                      "a recipe trains with on ENV.")
    return 0


def _shown(value: object) -> str:
    """A value as JSON (repr when it has none), safe from rich's markup."""
    import json

    try:
        return _shown_text(json.dumps(value))
    except (TypeError, ValueError):
        return _shown_text(repr(value))


def _shown_text(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _native(args: argparse.Namespace) -> int:
    from zoo_core.fast import native

    if args.action == "build":
        print("building the native update (about a minute, once per machine and torch version)...", file=sys.stderr)
        print(f"built: {native.build(verbose=args.verbose)}")
    print(native.status())
    return 0


def _envs(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zoo_core.cli.tables import print_table
    from zoo_core.host.manager import build_catalog, catalog_manager

    catalog = build_catalog(catalog_manager())
    table = Table("family", "prefix", "ids", "description")
    for name, family in sorted(catalog.env_families.items()):
        try:
            ids = family.list_ids()
            shown = ", ".join(ids[:8]) + (f", … ({len(ids)} in all)" if len(ids) > 8 else "")
        except ZooError as exc:  # e.g. the family's optional package is missing
            shown = f"unavailable: {exc}"
        table.add_row(name, family.prefix or "(any gymnasium id)", shown, family.description)
    table.caption = ("Only ids `zoo train` accepts are listed (discrete actions, array observations). "
                     "Your own env: --env mymodule:MyEnv-v0, or --gym-packages mymodule --env MyEnv-v0.")
    print_table(table)
    return 0


def _dry_run(args: argparse.Namespace) -> int:
    """``zoo train --dry-run``: the resolved run description as JSON; no folder is made."""
    import json

    from zoo_core.host.session import env_signature, resolve

    if args.address and args.backend != "ray":
        raise ZooError("--address is the Ray cluster's address; it needs --backend ray")
    extra = [f"run.backend={args.backend}"] * bool(args.backend) + [f"run.address={args.address}"] * bool(args.address)
    setup = resolve(args.recipe, args.env, [*args.overrides, *extra])
    probe = setup.make_env(training=True)  # an unknown or unbuildable env fails here, as train would
    try:
        signature = env_signature(probe)
    finally:
        probe.close()
    doc = {
        "recipe": setup.recipe_text, "algorithm": setup.algorithm.name, "plugins": list(setup.plugins),
        "env_id": setup.env_id, "env_family": setup.family.name, "seed": args.seed, "total_steps": args.steps,
        "out": args.out, "signature": signature, "config": setup.config.to_json(),
    }
    print(json.dumps(doc, indent=1))
    return 0


COMMANDS = {
    "train": _train,
    "resume": _resume,
    "eval": _eval,
    "enjoy": _enjoy,
    "ablate": _ablate,
    "export": _export,
    "registry": _registry,
    "plugins": _plugins,
    "recipes": _recipes,
    "envs": _envs,
    "native": _native,
}


if __name__ == "__main__":
    sys.exit(main())
