"""`bench tune`: run an optuna study over a solution's declared search space.

Counting: `trials=N` asks for N finished (COMPLETE or PRUNED) trials in the study, so
running the same command again continues a study and never goes past N. Any number
of workers may share a study on PostgreSQL or a journal file; before it starts, every
trial checks that fewer than N live trials are numbered below it (see
`Objective._claim`), so together they finish exactly N. When the study is complete,
the worker that finished its last trial reruns the best parameters as an ordinary run
(all folds, a run folder, a leaderboard row tagged `tuned;study=NAME`, or
`tuned-non-nested;study=NAME` on a cross-validated task). A cross-validated task is
tuned nested by default (see `bench.tuning.nested`): one study per outer fold, and
the outer-fold scores are the ranked result (`tuned-nested;study=NAME`).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from bench.core.config import ConfigError, stable_hash
from bench.run.folders import now_iso
from bench.run.resolve import resolve
from bench.tuning.nested import NON_NESTED_TAG, nested_run, outer_folds, study_name
from bench.tuning.objective import Objective
from bench.tuning.record import write_record
from bench.tuning.settings import TuneConfig, TuneSetup, split_pairs
from bench.tuning.space import describe, search_space
from bench.tuning.storage import (
    StorageSpec,
    check_workers,
    open_storage,
    parse_storage,
    warn_if_shared,
)

log = logging.getLogger("bench")

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class TuneOutcome:
    study: str
    record: Path
    finished: int
    requested: int
    best_run: Path | None


def tune(pairs: dict[str, str]) -> TuneOutcome:
    # bench logs each trial's parameters and score itself; optuna's own lines would repeat them
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    setup = split_pairs(pairs)
    cfg, base = setup.tune, setup.base
    space = search_space(f"solution {base.solution_cls.name}", base.solution_cls.Params, setup.fixed_solution_keys)
    name = cfg.study or default_study_name(setup)
    if not _NAME.match(name):
        raise ConfigError(f"tune: 'study={name}' must be letters, digits, '.', '_' or '-' (it names files)")
    spec = parse_storage(cfg.storage, cfg.studies_dir, name)
    check_workers(spec, cfg.jobs)
    timeout = cfg.timeout_seconds()
    cv = bool(getattr(base.task_cls, "n_folds", None))
    nested = cv if cfg.nested is None else cfg.nested
    if nested and not cv:
        raise ConfigError(f"tune: nested=true tunes inside each outer test fold, and task {base.task_cls.name} has"
                          " one validation split; leave nested unset")
    make_pruner(cfg, cv, base.task_cls.name)  # a bad pruner stops before any study is made
    storage = open_storage(spec, cfg.heartbeat, cfg.grace, cfg.max_retry)
    outers: list[int | None] = list(outer_folds(base)) if nested else [None]
    studies = {k: _open_study(setup, space, name if k is None else study_name(name, k), spec, storage, cv, k)
                for k in outers}

    ran: dict[int | None, list[int]] = {k: [] for k in outers}
    if all(_count(s, FINISHED) >= cfg.trials for s in studies.values()):
        pass  # complete already: on to the rerun, if it is not done yet
    elif cfg.jobs > 1:
        base.task_cls(base.task).load(base.cache_dir, log)  # write an embedded dataset once, not in every worker
        _spawn_workers(pairs, cfg.jobs)
    else:
        deadline = time.monotonic() + timeout if timeout else None
        objective = Objective(base, space, cfg.tune_folds, base.runner.runs_dir / f"tune-{name}", cfg.trials)
        for k, study in studies.items():
            if _count(study, FINISHED) >= cfg.trials:
                continue
            warn_if_shared(spec, study)
            obj = objective if k is None else objective.for_outer(k, objective.trial_root / f"outer{k}")
            for key, value in (("protocol", obj.protocol()), ("validation", obj.validation())):
                if study.user_attrs.get(key) != value:
                    study.set_user_attr(key, value)
            study.sampler = optuna.samplers.TPESampler(seed=_sampler_seed(study, base.runner.seed, spec))
            ran[k] = _work(study, obj, cfg, spec, deadline)

    paths = {k: write_record(s, cfg.studies_dir, spec.shown) for k, s in studies.items()}
    finished = min(_count(s, FINISHED) for s in studies.values())
    empty = [s.study_name for s in studies.values() if not _count(s, (TrialState.COMPLETE,))]
    best_run = None
    if finished >= cfg.trials and empty:
        log.warning("study %s has no COMPLETE trial (all pruned or failed): nothing to rerun", ", ".join(empty))
    elif finished >= cfg.trials and cfg.rerun and nested:
        best_run = _nested_once(studies, base, name, spec, paths)
        paths = {k: write_record(s, cfg.studies_dir, spec.shown) for k, s in studies.items()}
    elif finished >= cfg.trials and cfg.rerun and _owns_rerun(studies[None], ran[None]):
        tag = NON_NESTED_TAG if cv else "tuned"
        best_run = _rerun(studies[None], setup, spec, paths[None], tag)
        paths[None] = write_record(studies[None], cfg.studies_dir, spec.shown)
    elif finished < cfg.trials:
        running = sum(_count(s, (TrialState.RUNNING,)) for s in studies.values())
        log.info("study %s has %d of %d finished trials%s; run the same command again to continue it",
                 name, finished, cfg.trials, f" ({running} running in other workers)" if running else "")
    if base.runner.report:
        _render(base.runner.runs_dir, base.runner.reports_dir, cfg.studies_dir)
    return TuneOutcome(name, paths[outers[0]], finished, cfg.trials, best_run)


def _open_study(setup: TuneSetup, space: dict, name: str, spec: StorageSpec, storage: Any, cv: bool,
                outer: int | None) -> optuna.Study:
    cfg, base = setup.tune, setup.base
    pruner_name, pruner = make_pruner(cfg, cv, base.task_cls.name)
    metric = base.task_cls.metric
    meta = {"task": base.task_cls.name, "solution": base.solution_cls.name, "metric": metric.primary,
            "direction": metric.direction, "fixed": setup.identity, "space": describe(space)}
    if outer is not None:
        meta["outer_fold"] = outer
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True, pruner=pruner,
                                direction="maximize" if metric.direction == "max" else "minimize")
    _check_same_study(study, meta, spec)
    study.set_user_attr("requested_trials", cfg.trials)
    study.set_user_attr("pruner", pruner_name)
    log.info("study %s in %s: %d of %d trials finished", name, spec.shown, _count(study, FINISHED), cfg.trials)
    return study


def _nested_once(studies: dict, base, name: str, spec: StorageSpec, paths: dict) -> Path | None:
    """The outer-fold scoring, unless these very best trials were already scored."""
    best = {str(k): s.best_trial.number for k, s in studies.items()}
    first = next(iter(studies.values()))
    done = first.user_attrs.get("nested_run") or {}
    if done.get("best_trials") == best and Path(done.get("run", "")).joinpath("result.json").exists():
        log.info("the best trials of the nested studies were already scored as %s", done["run"])
        return None
    run_dir = nested_run(base, studies, name, spec.shown, paths)
    for s in studies.values():
        s.set_user_attr("tuned_run", str(run_dir))
        s.set_user_attr("tuned_for_trial", s.best_trial.number)
    first.set_user_attr("nested_run", {"run": str(run_dir), "best_trials": best})
    return run_dir


def _render(runs_dir: Path, reports_dir: Path, studies_dir: Path) -> None:
    """The study page and the tuned run's page link to each other, so both are written in one pass."""
    try:
        from bench.report.site import render_all

        site = render_all(runs_dir, reports_dir, studies_dir)
        log.info("report: %s", site.index)
    except Exception:
        log.exception("rendering the reports failed; the study record and runs are saved")


def default_study_name(setup: TuneSetup) -> str:
    base = f"{setup.base.task_cls.name}-{setup.base.solution_cls.name}"
    return f"{base}-{stable_hash(setup.identity, 6)}" if setup.identity else base


def make_pruner(cfg: TuneConfig, cv: bool, task: str) -> tuple[str, optuna.pruners.BasePruner]:
    kind = cfg.pruner if cfg.pruner != "auto" else ("wilcoxon" if cv else "median")
    if kind == "median":
        return kind, optuna.pruners.MedianPruner(n_startup_trials=cfg.startup_trials,
                                                 n_warmup_steps=cfg.warmup_steps or 0)
    if kind == "wilcoxon":
        if not cv:
            raise ConfigError(f"tune: pruner=wilcoxon compares scores fold by fold, and task {task} has one"
                              " validation split; use pruner=median (per epoch) or pruner=none")
        steps = 2 if cfg.warmup_steps is None else cfg.warmup_steps
        return kind, optuna.pruners.WilcoxonPruner(n_startup_steps=steps)
    return kind, optuna.pruners.NopPruner()


def _check_same_study(study: optuna.Study, meta: dict[str, Any], spec: StorageSpec) -> None:
    """A study name means one question; continuing it with other keys would mix answers."""
    old = study.user_attrs
    if "task" not in old:
        # one attribute per write: "task" goes last, so a worker that sees it sees the rest
        for key, value in sorted(meta.items(), key=lambda kv: kv[0] == "task"):
            study.set_user_attr(key, value)
        return
    diffs = [f"{k}: {old.get(k)!r} there, {v!r} here" for k, v in meta.items() if old.get(k) != v]
    if diffs:
        raise ConfigError(f"study={study.study_name} in {spec.shown} was made with other settings ({'; '.join(diffs)});"
                          " give the same keys to continue it, or another study=NAME")


def _count(study: optuna.Study, states: tuple[TrialState, ...]) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def _sampler_seed(study: optuna.Study, seed: int, spec: StorageSpec) -> int:
    """Reproducible for one worker; distinct per worker (and per continuation) otherwise."""
    material: list[Any] = [seed, len(study.get_trials(deepcopy=False))]
    if spec.multi_worker:
        material += [socket.gethostname(), os.getpid()]
    return int(stable_hash(material, 8), 16)


def _work(study: optuna.Study, objective: Objective, cfg: TuneConfig, spec: StorageSpec,
          deadline: float | None) -> list[int]:
    """Run trials until the study holds `cfg.trials` finished ones; the numbers of those run here."""
    ran: list[int] = []
    failures = 0
    while True:
        finished = _count(study, FINISHED)
        if finished >= cfg.trials:
            return ran
        if deadline is not None and time.monotonic() >= deadline:
            log.info("timeout=%s reached: no new trials from this worker", cfg.timeout)
            return ran
        waiting = _count(study, (TrialState.WAITING,))  # retries of failed trials: optimize runs those first
        if not waiting and finished + _count(study, (TrialState.RUNNING,)) >= cfg.trials:
            if not spec.heartbeat:
                log.warning("the remaining trials are running in other workers; %s keeps no heartbeat, so a"
                            " killed worker's trial would stay RUNNING: this worker stops here", spec.shown)
                return ran
            optuna.storages.fail_stale_trials(study)  # a killed worker's trial becomes FAIL and is retried
            time.sleep(1.0)
            continue
        got: list[optuna.trial.FrozenTrial] = []
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[lambda s, t: got.append(t)])
        write_record(study, cfg.studies_dir, spec.shown)
        trial = got[-1]
        if "surplus" in trial.user_attrs:
            continue
        ran.append(trial.number)
        failures = failures + 1 if trial.state == TrialState.FAIL else 0
        if failures >= cfg.max_failures:
            raise RuntimeError(f"{failures} trials in a row failed (the last is trial {trial.number}; its error is"
                               f" above and in {trial.user_attrs.get('run_dir')}/run.log); fix it and run the same"
                               " command again to continue the study")


def _spawn_workers(pairs: dict[str, str], jobs: int) -> None:
    """`jobs` worker processes of this very command; the caller reruns the best trial after them."""
    own = {"jobs", "tune.jobs", "rerun", "tune.rerun"}
    args = [f"{k}={v}" for k, v in pairs.items() if k not in own] + ["jobs=1", "rerun=false"]
    log.info("starting %d workers", jobs)
    procs = [subprocess.Popen([sys.executable, "-m", "bench", "tune", *args]) for _ in range(jobs)]
    codes = [p.wait() for p in procs]
    bad = [c for c in codes if c != 0]
    if bad:
        log.warning("%d of %d workers exited with an error (codes %s); their trials are in the study",
                    len(bad), jobs, ", ".join(map(str, bad)))


def _owns_rerun(study: optuna.Study, ran: list[int]) -> bool:
    """Exactly one worker reruns: the one that finished the study's last trial (or a later command)."""
    best = study.best_trial
    attrs = study.user_attrs
    if attrs.get("tuned_for_trial") == best.number and attrs.get("tuned_run"):
        log.info("the best trial (%d) was already rerun as %s", best.number, attrs["tuned_run"])
        return False
    done = study.get_trials(deepcopy=False, states=FINISHED)
    last = max(done, key=lambda t: (t.datetime_complete, t.number))
    if last.number in ran:
        return True
    if ran:
        return False  # another worker finished the last trial; it reruns
    started = attrs.get("rerun_started") or {}
    if started.get("trial") == best.number and _alive(started):
        log.info("the tuned rerun of trial %d was started by pid %s on %s at %s; if that process died, run this"
                 " command again there", best.number, started.get("pid"), started.get("host"), started.get("time"))
        return False
    return True


def _alive(started: dict[str, Any]) -> bool:
    if started.get("host") != socket.gethostname():
        return True  # cannot tell from here
    try:
        os.kill(int(started["pid"]), 0)
    except (ProcessLookupError, KeyError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _rerun(study: optuna.Study, setup: TuneSetup, spec: StorageSpec, record: Path, tag: str) -> Path:
    from bench.run.runner import run

    best = study.best_trial
    study.set_user_attr("rerun_started", {"trial": best.number, "host": socket.gethostname(),
                                          "pid": os.getpid(), "time": now_iso()})
    res = resolve({**setup.run_pairs, **{f"solution.{k}": v for k, v in best.params.items()}})
    log.info("rerunning the best trial (%d, %s=%.4f) as an ordinary run", best.number,
             study.user_attrs.get("metric"), best.value)
    run_dir = run(res, tuning={"tag": tag, "study": study.study_name, "storage": spec.shown, "trial": best.number,
                               "value": best.value, "params": best.params, "record": str(record)})
    study.set_user_attr("tuned_run", str(run_dir))
    study.set_user_attr("tuned_for_trial", best.number)
    return run_dir
