"""`bench study show`: the best trials, the state counts and parameter importances of a study.

`summarize` computes plain data (what the tests check); `render` draws it with rich.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from bench.core.config import ConfigError, Section, apply_overrides, did_you_mean, param
from bench.tuning.storage import StorageSpec, open_storage, parse_storage


@dataclass
class ShowConfig:
    study: str | None = param(None, "the study to show (required)")
    storage: str | None = param(None, "the study's storage URL (none: STUDIES_DIR/STUDY.db)")
    studies_dir: Path = param(Path("studies"), "where the default SQLite storages are")
    top: int = param(10, "best trials shown", low=1)


@dataclass
class StudySummary:
    name: str
    storage: str
    metric: str
    direction: str
    counts: dict[str, int]
    best: list[dict[str, Any]]  # COMPLETE trials, best first
    others: list[dict[str, Any]]  # PRUNED, FAIL, RUNNING and WAITING trials, newest first
    importances: dict[str, float] = field(default_factory=dict)
    importance_note: str = ""
    tuned_run: str | None = None


def show_config(pairs: dict[str, str]) -> ShowConfig:
    section = Section("show", "study show", ShowConfig)
    apply_overrides([section], pairs)
    cfg = section.build()
    if not cfg.study:
        raise ConfigError("missing study=NAME; `bench tune` prints the names of the studies it writes")
    return cfg


def load(cfg: ShowConfig) -> tuple[optuna.Study, StorageSpec]:
    spec = parse_storage(cfg.storage, cfg.studies_dir, cfg.study)
    if spec.sqlite_file is not None and not spec.sqlite_file.exists():
        known = sorted(p.stem for p in cfg.studies_dir.glob("*.db"))
        raise ConfigError(f"no study '{cfg.study}': {spec.sqlite_file} does not exist{did_you_mean(cfg.study, known)};"
                          f" studies in {cfg.studies_dir}: {', '.join(known) or 'none'} (give storage= for others)")
    storage = open_storage(spec, heartbeat=60, grace=180, max_retry=0)
    try:
        return optuna.load_study(study_name=cfg.study, storage=storage), spec
    except KeyError:
        names = optuna.get_all_study_names(storage)
        raise ConfigError(f"no study '{cfg.study}' in {spec.shown}{did_you_mean(cfg.study, names)};"
                          f" studies there: {', '.join(names) or 'none'}") from None


def summarize(study: optuna.Study, storage_shown: str, top: int) -> StudySummary:
    trials = study.get_trials(deepcopy=False)
    counts = {s.name: sum(t.state == s for t in trials) for s in TrialState}
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    complete = sorted((t for t in trials if t.state == TrialState.COMPLETE),
                      key=lambda t: (-t.value if maximize else t.value, t.number))
    others = sorted((t for t in trials if t.state != TrialState.COMPLETE), key=lambda t: -t.number)
    summary = StudySummary(
        study.study_name, storage_shown, study.user_attrs.get("metric", "value"), "max" if maximize else "min",
        {k: v for k, v in counts.items() if v}, [_row(t) for t in complete[:top]], [_row(t) for t in others[:top]],
        tuned_run=study.user_attrs.get("tuned_run"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "importances will be equal" on tiny studies: the numbers say so
            summary.importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as exc:
        summary.importance_note = f"parameter importances need finished trials whose parameters vary ({exc})"
    return summary


def _row(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
    return {"number": t.number, "state": t.state.name, "value": t.value if t.values else None,
            "params": t.params, "steps": len(t.intermediate_values), "run_dir": t.user_attrs.get("run_dir")}


def render(s: StudySummary, console) -> None:
    from rich.table import Table

    params = sorted({k for r in s.best + s.others for k in r["params"]})
    arrow = "↑" if s.direction == "max" else "↓"
    console.print(f"study {s.name} in {s.storage}: " + ", ".join(f"{n} {k.lower()}" for k, n in s.counts.items()))
    for title, rows in ((f"best trials ({s.metric} {arrow})", s.best), ("pruned, failed and unfinished trials", s.others)):
        if not rows:
            continue
        table = Table(title=title)
        for col in ("#", "trial", "state", s.metric, *params, "steps", "run_dir"):
            table.add_column(col)
        for i, r in enumerate(rows, start=1):
            value = "" if r["value"] is None else f"{r['value']:.4f}"
            table.add_row(str(i), str(r["number"]), r["state"], value, *(_fmt(r["params"].get(p)) for p in params),
                          str(r["steps"]), r["run_dir"] or "")
        console.print(table)
    if s.importances:
        table = Table(title="parameter importances (optuna's default evaluator)")
        table.add_column("parameter")
        table.add_column("importance")
        for name, value in s.importances.items():
            table.add_row(name, f"{value:.3f}")
        console.print(table)
    elif s.importance_note:
        console.print(s.importance_note)
    if s.tuned_run:
        console.print(f"tuned run of the best trial: {s.tuned_run}")


def _fmt(v: Any) -> str:
    return "" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def show(pairs: dict[str, str]) -> StudySummary:
    from rich.console import Console

    cfg = show_config(pairs)
    study, spec = load(cfg)
    summary = summarize(study, spec.shown, cfg.top)
    render(summary, Console(width=200))
    return summary
