"""The `bench` command: run, list, leaderboard, predict, report."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bench.config import ConfigError, describe, parse_cli_pairs

log = logging.getLogger("bench")

USAGE = """bench COMMAND [key=value ...]

commands:
  run task=NAME solution=NAME [key=value ...]   train and score by the task's protocol
  list [NAME]                                   tasks and solutions; with a name, its settings
  leaderboard [task=NAME] [leaderboard=PATH]    the leaderboard, best first
  predict run=RUN_DIR FILE [FILE ...]           classify audio files with a finished run
  report [runs_dir=DIR] [reports_dir=DIR] [studies_dir=DIR]
                                                re-render every report from the run and study records
  compare RUN_A RUN_B                           per-fold scores side by side, paired tests
  tune task=NAME solution=NAME [trials=N] [storage=URL] [study=NAME] [key=value ...]
                                                optuna study over the solution's search space, then a tuned run
  study show study=NAME [storage=URL]           a study's best trials and parameter importances
  data check task=NAME [data_dir=DIR]           validate and describe a dataset before training
  data fetch NAME --to DIR                      download, verify and unpack an official dataset
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", usage=USAGE, add_help=True)
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    _setup_logging()
    try:
        return COMMANDS[ns.command](ns.args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except (ValueError, LookupError, RuntimeError, OSError) as exc:
        if not _is_user_error(exc):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _is_user_error(exc: BaseException) -> bool:
    from bench.audio import BadAudioError
    from bench.checkpoint import CheckpointError
    from bench.registry import RegistryError
    from bench.submission import SubmissionError
    from bench.contracts import LayoutError

    return isinstance(exc, (BadAudioError, CheckpointError, RegistryError, SubmissionError, LayoutError, FileNotFoundError))


def _setup_logging() -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    logger = logging.getLogger("bench")
    if not logger.handlers:
        # logs go to stderr so that stdout carries only results (a run folder, a table)
        handler = RichHandler(console=Console(stderr=True), show_path=False, show_time=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def cmd_run(args: list[str]) -> int:
    from bench.resolve import resolve
    from bench.runner import run

    resolved = resolve(parse_cli_pairs(args))
    run_dir = run(resolved)
    print(run_dir)
    return 0


def cmd_list(args: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from bench import registry
    from bench.resolve import RunnerConfig

    console = Console()
    if args:
        name = args[0]
        if name == "runner":
            schema, title, presets = RunnerConfig, "runner settings", {}
        elif name == "tune":
            from bench.tuning.settings import TuneConfig

            schema, title, presets = TuneConfig, "tune settings (bench tune)", {}
        elif name in registry.tasks.names():
            cls = registry.tasks.get(name)
            schema, title, presets = cls.Config, f"task {name}: {cls.description}", cls.presets
        else:
            try:
                cls = registry.solutions.get(name)
            except registry.RegistryError as exc:
                raise ConfigError(f"{exc} (or 'runner')") from None
            schema, title, presets = cls.Params, f"solution {name}: {cls.description}", cls.presets
        table = Table(title=title)
        for col in ("key", "type", "default", "meaning"):
            table.add_column(col)
        for key, tp, default, help_ in describe(schema):
            table.add_row(key, tp, str(default), help_)
        console.print(table)
        for preset, values in presets.items():
            console.print(f"preset {preset}: " + " ".join(f"{k}={v}" for k, v in values.items()))
        return 0
    tasks = Table(title="tasks")
    for col in ("task", "kind", "metric", "description"):
        tasks.add_column(col)
    for name, cls in registry.tasks.items():
        arrow = "↑" if cls.metric.direction == "max" else "↓"
        tasks.add_row(name, cls.kind.value, f"{cls.metric.primary} {arrow}", cls.description)
    sols = Table(title="solutions")
    for col in ("solution", "task kinds", "description"):
        sols.add_column(col)
    for name, cls in registry.solutions.items():
        sols.add_row(name, ", ".join(sorted(k.value for k in cls.kinds)), cls.description)
    console.print(tasks)
    console.print(sols)
    for module, err in {**registry.tasks.failures, **registry.solutions.failures}.items():
        console.print(f"[red]plugin {module} failed to load:[/red]\n{err}")
    console.print("`bench list NAME` shows the settings of a task, a solution or the runner.")
    return 0


def cmd_leaderboard(args: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from bench import leaderboard

    pairs = parse_cli_pairs(args)
    unknown = set(pairs) - {"task", "leaderboard", "limit"}
    if unknown:
        from bench.config import did_you_mean

        key = sorted(unknown)[0]
        raise ConfigError(f"unknown key '{key}' for leaderboard{did_you_mean(key, ['task', 'leaderboard', 'limit'])}")
    path = Path(pairs.get("leaderboard", "leaderboard.csv"))
    board = leaderboard.read(path)
    rows = leaderboard.ranked(board.rows, pairs.get("task"))
    if "limit" in pairs:
        rows = rows[: int(pairs["limit"])]
    table = Table(title=f"leaderboard ({path})")
    cols = ("task", "solution", "metric", "score", "std", "n_folds", "params", "tags", "device", "wall_seconds", "run_id")
    for col in ("#",) + cols:
        table.add_column(col)
    rank, last_task = 0, None
    for r in rows:
        rank = rank + 1 if r.get("task") == last_task else 1
        last_task = r.get("task")
        table.add_row(str(rank), *(r.get(c, "") for c in cols))
    Console(width=200).print(table)
    if not rows:
        print("no runs yet" + (f" for task {pairs['task']}" if "task" in pairs else ""))
    return 0


def cmd_predict(args: list[str]) -> int:
    from bench.predict import is_classification, predict_files

    pairs = parse_cli_pairs([a for a in args if "=" in a])
    files = [Path(a) for a in args if "=" not in a]
    if "run" not in pairs:
        raise ConfigError("missing run=RUN_DIR (a folder under runs/)")
    if not files:
        raise ConfigError("give at least one audio file to predict")
    unknown = set(pairs) - {"run", "device"}
    if unknown:
        raise ConfigError(f"unknown key '{sorted(unknown)[0]}' for predict; keys: run, device")
    info, preds = predict_files(Path(pairs["run"]), files, pairs.get("device", "auto"))
    for p in preds:
        if is_classification(info):
            best = int(p.outputs.argmax())
            dist = "  ".join(f"{c}={v:.3f}" for c, v in zip(info.classes, p.outputs))
            print(f"{p.path}\t{info.classes[best]}\t{p.outputs[best]:.3f}\t{dist}")
        else:
            print(f"{p.path}\t" + "  ".join(f"{t}={v:.4f}" for t, v in zip(info.targets, p.outputs)))
    return 0


def cmd_report(args: list[str]) -> int:
    from bench.report import render_all

    pairs = parse_cli_pairs(args)
    keys = {"runs_dir": "runs", "reports_dir": "reports", "studies_dir": "studies"}
    unknown = set(pairs) - set(keys)
    if unknown:
        from bench.config import did_you_mean

        key = sorted(unknown)[0]
        raise ConfigError(f"unknown key '{key}' for report{did_you_mean(key, list(keys))}; keys: {', '.join(keys)}"
                          " (the leaderboard page is built from the run records, not leaderboard.csv)")
    dirs = {k: Path(pairs.get(k, default)) for k, default in keys.items()}
    site = render_all(dirs["runs_dir"], dirs["reports_dir"], dirs["studies_dir"])
    print(f"rendered {len(site.runs)} run page(s), {len(site.studies)} study page(s), "
          f"{len(site.comparisons)} comparison page(s) and {site.index}")
    for problem in site.problems:
        print(f"error: left out: {problem}", file=sys.stderr)
    return 1 if site.problems else 0


def cmd_compare(args: list[str]) -> int:
    from bench.compare import compare, load_result

    if len(args) != 2:
        raise ConfigError("usage: bench compare RUN_A RUN_B (two run folders of one task)")
    c = compare(load_result(Path(args[0])), load_result(Path(args[1])))
    print(f"task {c.task}, {c.metric} ({'higher' if c.direction == 'max' else 'lower'} is better)")
    print(f"A = {c.names[0]}\nB = {c.names[1]}\n")
    print(f"{'fold':<10}{'A':>10}{'B':>10}{'A - B':>10}")
    for name, a, b in zip(c.folds, c.a, c.b):
        print(f"{name:<10}{a:>10.4f}{b:>10.4f}{a - b:>+10.4f}")
    n = len(c.folds)
    mean = lambda xs: sum(xs) / len(xs)
    print(f"{'mean':<10}{mean(c.a):>10.4f}{mean(c.b):>10.4f}{c.mean_diff:>+10.4f}\n")
    if c.t is None:
        print(f"paired t-test: not defined ({n} shared fold(s) or no spread in the differences)")
    else:
        print(f"paired t-test over {n} folds: t = {c.t:.3f}, df = {n - 1}, p = {c.p_t:.4g}")
    if c.p_wilcoxon is not None:
        print(f"Wilcoxon signed-rank test: p = {c.p_wilcoxon:.4g}")
    return 0


def cmd_data(args: list[str]) -> int:
    if not args or args[0] not in ("check", "fetch"):
        raise ConfigError("usage: bench data check task=NAME [data_dir=DIR] | bench data fetch NAME --to DIR")
    if args[0] == "fetch":
        from bench.fetch import fetch_main

        return fetch_main(args[1:])
    import json

    from bench.datacheck import check
    from bench.resolve import default_cache_dir, resolve_task

    task_cls, task_cfg, runner = resolve_task(parse_cli_pairs(args[1:]))
    report = check(task_cls(task_cfg), runner.cache_dir or default_cache_dir(), workers=runner.workers,
                   progress=runner.progress)
    print(f"dataset: {report.root}")
    if report.summary:
        print(json.dumps(report.summary, indent=2))
    if report.ok:
        print("no problems found")
        return 0
    print(f"{len(report.problems)} problem(s):", file=sys.stderr)
    for p in report.problems:
        print(f"  {p}", file=sys.stderr)
    return 1


def cmd_tune(args: list[str]) -> int:
    from bench.tuning import tune

    outcome = tune(parse_cli_pairs(args))
    print(f"study {outcome.study}: {outcome.finished} of {outcome.requested} trials finished; record {outcome.record}")
    if outcome.best_run:
        print(outcome.best_run)
    return 0


def cmd_study(args: list[str]) -> int:
    if not args or args[0] != "show":
        raise ConfigError("usage: bench study show study=NAME [storage=URL] [studies_dir=DIR] [top=N]")
    from bench.tuning.show import show

    show(parse_cli_pairs(args[1:]))
    return 0


COMMANDS = {
    "compare": cmd_compare,
    "data": cmd_data,
    "run": cmd_run,
    "list": cmd_list,
    "leaderboard": cmd_leaderboard,
    "predict": cmd_predict,
    "report": cmd_report,
    "study": cmd_study,
    "tune": cmd_tune,
}
