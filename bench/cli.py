"""The `bench` command: run, list, leaderboard, predict, generate, report, and the rest of USAGE."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bench.core.config import ConfigError, describe, parse_cli_pairs

log = logging.getLogger("bench")

USAGE = """bench COMMAND [key=value ...]

commands:
  run task=NAME solution=NAME [key=value ...]   train and score by the task's protocol
  list [NAME]                                   tasks and solutions; with a name, its settings
  leaderboard [task=NAME] [leaderboard=PATH]    the leaderboard, best first
  predict run=RUN_DIR [skip_bad=true] FILE ...  classify audio files with a finished run
  generate run=RUN_DIR [class=NAME] [n=16] out=DIR [fold=NAME] [seed=0]
                                                clips (WAV and log-mel) from a finished generation run
  report [runs_dir=DIR] [reports_dir=DIR] [studies_dir=DIR] [scores_dir=DIR]
                                                re-render every report from the run and study records
  compare RUN_A RUN_B                           per-fold scores side by side, paired tests
  tune task=NAME solution=NAME [trials=N] [storage=URL] [study=NAME] [key=value ...]
                                                optuna study over the solution's search space, then a tuned run
  study show study=NAME [storage=URL]           a study's best trials and parameter importances
  score-audio real=DIR generated=DIR [embedding=NAME] [per_class=true] [key=value ...]
                                                Fréchet/kernel audio distances with floors and ceilings
  data check task=NAME [data_dir=DIR] [solution=NAME]
                                                validate and describe a dataset before training
  data fetch NAME --to DIR                      download, verify and unpack an official dataset
  env [--json]                                  versions of the stack, devices, cache folder, system tools
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
    from bench.core.contracts import LayoutError
    from bench.core.registry import RegistryError
    from bench.data.audio import BadAudioError
    from bench.protocols.submission import SubmissionError
    from bench.train.checkpoint import CheckpointError

    return isinstance(exc, (BadAudioError, CheckpointError, RegistryError, SubmissionError, LayoutError, FileNotFoundError))


def _setup_logging() -> None:
    logger = logging.getLogger("bench")
    if not logger.handlers:
        # logs go to stderr so that stdout carries only results (a run folder, a table)
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.logging import RichHandler

            handler: logging.Handler = RichHandler(console=Console(stderr=True), show_path=False,
                                                   show_time=False, markup=False)
            handler.setFormatter(logging.Formatter("%(message)s"))
        else:
            # a pipe or a file gets whole lines, unpadded and unwrapped, so paths can be grepped
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(_PlainFormatter())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


class _PlainFormatter(logging.Formatter):
    """`message` for info, `warning: message` and `error: message` for the rest."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno == logging.INFO else f"{record.levelname.lower()}: {text}"


def cmd_run(args: list[str]) -> int:
    from bench.run.resolve import resolve
    from bench.run.runner import run

    resolved = resolve(parse_cli_pairs(args))
    run_dir = run(resolved)
    print(run_dir)
    return 0


def cmd_list(args: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from bench.core import registry
    from bench.run.resolve import RunnerConfig

    console = Console()
    if args:
        name = args[0]
        if name == "runner":
            schema, title, presets = RunnerConfig, "runner settings", {}
        elif name == "tune":
            from bench.tuning.settings import TuneConfig

            schema, title, presets = TuneConfig, "tune settings (bench tune)", {}
        elif name == "score-audio":
            from bench.scoring.command import ScoreConfig

            schema, title, presets = ScoreConfig, "score-audio settings (bench score-audio)", {}
        elif name in registry.tasks.names():
            cls = registry.tasks.get(name)
            schema, title, presets = cls.Config, f"task {name}: {cls.description}", cls.presets
        else:
            try:
                cls = registry.solutions.get(name)
            except registry.RegistryError as exc:
                raise ConfigError(f"{exc} (or 'runner', 'tune', 'score-audio')") from None
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

    from bench.results import leaderboard

    pairs = parse_cli_pairs(args)
    unknown = set(pairs) - {"task", "leaderboard", "limit"}
    if unknown:
        from bench.core.config import did_you_mean

        key = sorted(unknown)[0]
        raise ConfigError(f"unknown key '{key}' for leaderboard{did_you_mean(key, ['task', 'leaderboard', 'limit'])}")
    path = Path(pairs.get("leaderboard", "leaderboard.csv"))
    board = leaderboard.read(path)
    groups = leaderboard.groups(board.rows, pairs.get("task"))
    cols = ("solution", "metric", "score", "std", "n_folds", "params", "tags", "device", "wall_seconds", "run_id")
    console = Console(width=200)
    # one table per task and data set: a rank compares runs on the same clips
    for group in groups:
        table = Table(title=f"{group.title()} · {path}")
        for col in ("#",) + cols:
            table.add_column(col)
        for rank, r in enumerate(group.rows[: int(pairs["limit"])] if "limit" in pairs else group.rows, 1):
            table.add_row(str(rank), *(r.get(c, "") for c in cols))
        console.print(table)
    if not groups:
        print("no runs yet" + (f" for task {pairs['task']}" if "task" in pairs else ""))
    return 0


def cmd_predict(args: list[str]) -> int:
    from bench.core.config import did_you_mean, parse_value

    pairs = parse_cli_pairs([a for a in args if "=" in a])
    files = [Path(a) for a in args if "=" not in a]
    keys = ["run", "device", "skip_bad"]
    unknown = set(pairs) - set(keys)
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"unknown key '{key}' for predict{did_you_mean(key, keys)}; keys: {', '.join(keys)}")
    empty = [k for k, v in pairs.items() if not v.strip()]
    if empty:
        raise ConfigError(f"predict: '{empty[0]}=' has an empty value; give a value, or leave the key out")
    if "run" not in pairs:
        raise ConfigError("missing run=RUN_DIR (a folder under runs/)")
    if not files:
        raise ConfigError("give at least one audio file to predict")
    try:
        skip_bad = parse_value(pairs.get("skip_bad", "false"), bool)
    except ValueError as exc:
        raise ConfigError(f"predict: 'skip_bad={pairs['skip_bad']}' is not valid: {exc}") from None
    from bench.core import kinds
    from bench.run.predict import (
        predict_files,  # torch: only once the command is known good
    )

    got = predict_files(Path(pairs["run"]), files, pairs.get("device", "auto"), skip_bad=skip_bad)
    info, preds = got.info, got.predictions
    for path, reason in got.bad:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    kind = kinds.of(info)
    for p in preds:
        print(f"{p.path}\t{kind.describe(info, p.outputs)}")
    if not preds:
        print("error: no file could be predicted", file=sys.stderr)
        return 1
    return 0


def cmd_generate(args: list[str]) -> int:
    stray = [a for a in args if "=" not in a]
    if stray:
        raise ConfigError(f"generate: '{stray[0]}' is not key=value; usage: bench generate run=RUN_DIR"
                          " [class=NAME] [n=16] out=DIR [fold=NAME] [seed=0] [iters=32] [device=auto]")
    from bench.run.generate import generate, parse

    written = generate(parse(parse_cli_pairs(args)))
    print(f"wrote {len(written)} clip(s) (WAV and log-mel .npy) under {written[0].parent.parent}")
    return 0


def cmd_report(args: list[str]) -> int:
    from bench.report import render_all

    pairs = parse_cli_pairs(args)
    keys = {"runs_dir": "runs", "reports_dir": "reports", "studies_dir": "studies", "scores_dir": "scores"}
    unknown = set(pairs) - set(keys)
    if unknown:
        from bench.core.config import did_you_mean

        key = sorted(unknown)[0]
        raise ConfigError(f"unknown key '{key}' for report{did_you_mean(key, list(keys))}; keys: {', '.join(keys)}"
                          " (the leaderboard page is built from the run records, not leaderboard.csv)")
    dirs = {k: Path(pairs.get(k, default)) for k, default in keys.items()}
    site = render_all(dirs["runs_dir"], dirs["reports_dir"], dirs["studies_dir"], dirs["scores_dir"])
    print(f"rendered {len(site.runs)} run page(s), {len(site.studies)} study page(s), "
          f"{len(site.comparisons)} comparison page(s), {len(site.scores)} score page(s) and {site.index}")
    for problem in site.problems:
        print(f"error: left out: {problem}", file=sys.stderr)
    return 1 if site.problems else 0


def cmd_compare(args: list[str]) -> int:
    from bench.results.compare import compare
    from bench.results.record import load_result

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
    print(f"data: {c.data.text()}")
    if c.data.warning():
        print(f"warning: {c.data.warning()}", file=sys.stderr)
    if c.t is None:
        print(f"paired t-test: {c.t_note}")
    else:
        print(f"paired t-test over {n} folds: t = {c.t:.3f}, df = {n - 1}, p = {c.p_t:.4g}")
    if c.p_wilcoxon is not None:
        print(f"Wilcoxon signed-rank test: p = {c.p_wilcoxon:.4g}")
    return 0


def cmd_data(args: list[str]) -> int:
    if not args or args[0] not in ("check", "fetch"):
        raise ConfigError("usage: bench data check task=NAME [data_dir=DIR] [solution=NAME] | bench data fetch NAME --to DIR")
    if args[0] == "fetch":
        from bench.data.fetch import fetch_main

        return fetch_main(args[1:])
    import json

    from bench.data.check import check, default_spec
    from bench.run.resolve import default_cache_dir, resolve, resolve_task

    pairs = parse_cli_pairs(args[1:])
    if "solution" in pairs:
        # the solution's settings (n_fft=, hop_length=, ...) count, and are checked, as in `bench run`
        res = resolve(pairs)
        task, runner, spec = res.task_cls(res.task), res.runner, res.feature_spec()
        against = f"solution {res.solution_cls.name}'s features"
    else:
        task_cls, task_cfg, runner = resolve_task(pairs)
        task = task_cls(task_cfg)
        spec = default_spec(task)
        against = "the default features (add solution=NAME to check against that solution's settings)"
    report = check(task, runner.cache_dir or default_cache_dir(), spec, workers=runner.workers,
                   progress=runner.progress)
    print(f"dataset: {report.root}")
    print(f"per-file checks: {against}: {spec.kind}, n_fft={spec.n_fft} at {spec.sample_rate} Hz,"
          f" clips of {spec.clip_seconds:g} s")
    if report.summary:
        print(json.dumps(report.summary, indent=2))
    if report.ok:
        print("no problems found")
        return 0
    print(f"{len(report.problems)} problem(s):", file=sys.stderr)
    for p in report.problems:
        print(f"  {p}", file=sys.stderr)
    if not report.decoded:
        print("the audio files were not read: fix the layout problems, then check again", file=sys.stderr)
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


def cmd_score_audio(args: list[str]) -> int:
    from bench.scoring.command import main as score_audio

    return score_audio(args)


def cmd_env(args: list[str]) -> int:
    import json

    from bench.run.environment import collect

    if args not in ([], ["--json"]):
        raise ConfigError("usage: bench env [--json]")
    env = collect()
    if args:
        print(json.dumps(env.as_dict(), indent=2))
    else:
        width = max(len(what) for what, _ in env.rows)
        for what, value in env.rows:
            print(f"{what:<{width}}  {value}")
        for problem in env.problems:
            print(f"problem: {problem}", file=sys.stderr)
    return 1 if env.problems else 0


COMMANDS = {
    "compare": cmd_compare,
    "env": cmd_env,
    "generate": cmd_generate,
    "data": cmd_data,
    "run": cmd_run,
    "score-audio": cmd_score_audio,
    "list": cmd_list,
    "leaderboard": cmd_leaderboard,
    "predict": cmd_predict,
    "report": cmd_report,
    "study": cmd_study,
    "tune": cmd_tune,
}
