"""A tuning study as the report sees it: studies/<study>.json, and the numbers behind its figures.

The page is built from the JSON alone, so it renders when the study's storage (a
SQLite file, a PostgreSQL server) is gone or unreachable. Plain data only: no plotly
and no HTML here; `study_plots` draws it.

Parameter importances are optuna's fANOVA evaluator run on an in-memory study rebuilt
from the JSON's complete trials, with each parameter's distribution inferred from the
values the trials took (floats: the observed range, log-scaled when it spans more
than two decades or the search space text says "log"; ints: the observed range;
anything else: the categories seen). If optuna cannot evaluate them, the fallback is
the absolute Spearman rank correlation of each parameter with the objective
(categories ranked by their mean objective), normalised to sum to 1; the page says
which method it used.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report.figures import finite

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


@dataclass(frozen=True)
class Trial:
    number: int
    state: str  # one of STATES (anything else is kept as written, upper-cased)
    value: float | None
    params: dict[str, Any]
    run_dir: str | None
    intermediate: list[tuple[int, float]]  # (step, value), by step
    note: str = ""  # a retry of a failed trial, or what the tuner noted


@dataclass
class Study:
    name: str
    storage: str
    task: str
    solution: str
    metric: str
    direction: str  # "max" or "min"
    fixed: dict[str, Any]
    space: dict[str, str]
    protocol: str
    best_run: str | None  # the run bench tune made of the best trial
    updated: str
    facts: list[tuple[str, str]]  # other study settings the record has (pruner, validation, ...)
    trials: list[Trial]
    path: Path

    @property
    def complete(self) -> list[Trial]:
        return [t for t in self.trials if t.state == "COMPLETE" and t.value is not None]

    @property
    def best(self) -> Trial | None:
        done = self.complete
        if not done:
            return None
        return (min if self.direction == "min" else max)(done, key=lambda t: t.value)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATES[:3]}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "float", "int" or "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] = field(default_factory=list)

    def position(self, value: Any) -> float | None:
        """Where `value` sits on this parameter's axis, from 0 (low) to 1 (high)."""
        if self.kind == "categorical":
            key = _choice_key(value)
            keys = [_choice_key(c) for c in self.choices]
            if key not in keys:
                return None
            return keys.index(key) / (len(keys) - 1) if len(keys) > 1 else 0.5
        v = finite(value)
        if v is None or self.low is None or self.high is None:
            return None
        lo, hi = self.low, self.high
        if self.log:
            if v <= 0:
                return None
            v, lo, hi = math.log10(v), math.log10(lo), math.log10(hi)
        return (v - lo) / (hi - lo) if hi > lo else 0.5


@dataclass(frozen=True)
class History:
    numbers: list[int]  # complete trials
    values: list[float]
    best_so_far: list[float]
    pruned_numbers: list[int]  # pruned trials with a reported value
    pruned_values: list[float]  # their last intermediate value
    failed: list[int]
    best_number: int | None


@dataclass(frozen=True)
class Curve:
    number: int
    state: str
    steps: list[int]
    values: list[float]


@dataclass(frozen=True)
class Importances:
    params: list[str]  # most important first
    values: list[float]  # sum to 1 (or all 0)
    method: str | None  # how they were computed; None when they could not be
    note: str | None  # why they are missing, or what to keep in mind


@dataclass(frozen=True)
class Parallel:
    axes: list[Param]  # the study's parameters; the objective is the last axis
    lines: list[tuple[int, list[float | None], float]]  # (trial number, positions, objective)
    objective: Param


@dataclass(frozen=True)
class Slice:
    param: Param
    x: list[Any]
    y: list[float]
    numbers: list[int]


# ---------------------------------------------------------------- loading

def load_study(path: Path) -> Study:
    """Read studies/<study>.json; a file that is not a study raises ValueError naming it."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("trials", []), list):
        raise ValueError(f"{path}: not a study record (a JSON object with a list of 'trials')")
    direction = str(raw.get("direction") or "max").lower()
    direction = "min" if direction in ("min", "minimize") else "max"
    trials = [_trial(t, n) for n, t in enumerate(raw.get("trials") or []) if isinstance(t, dict)]
    return Study(
        name=str(raw.get("study") or path.stem), storage=str(raw.get("storage") or ""),
        task=str(raw.get("task") or "?"), solution=str(raw.get("solution") or "?"),
        metric=str(raw.get("metric") or "objective"), direction=direction,
        fixed=raw["fixed"] if isinstance(raw.get("fixed"), dict) else {},
        space={str(k): str(v) for k, v in (raw.get("space") or {}).items()} if isinstance(raw.get("space"), dict) else {},
        protocol=str(raw.get("protocol") or ""), best_run=str(raw["best_run"]) if raw.get("best_run") else None,
        updated=str(raw.get("updated") or ""), facts=_facts(raw), trials=sorted(trials, key=lambda t: t.number), path=path,
    )


def _facts(raw: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key in ("pruner", "validation", "requested_trials"):
        value = raw.get(key)
        if value not in (None, "", {}, []):
            text = _validation_text(value) if key == "validation" and isinstance(value, dict) else None
            out.append((key.replace("_", " "), text or (value if isinstance(value, str) else json.dumps(value, default=str))))
    return out


def _validation_text(value: dict[str, Any]) -> str:
    """One line per split the objective used; the protocol sentence already says why."""
    lines = []
    for s in value.get("splits") or []:
        if not isinstance(s, dict):
            return ""
        where = f"test fold {s['test_fold']} left out, " if s.get("test_fold") is not None else ""
        train = f" from folds {', '.join(map(str, s['train_folds']))}" if s.get("train_folds") else ""
        lines.append(f"split {s.get('split', '?')}: {where}{s.get('n_train', '?')} training clips{train},"
                     f" {s.get('n_valid', '?')} validation clips")
    if "test_data_used" in value:
        lines.append("test data used: " + ("yes" if value["test_data_used"] else "no"))
    return "; ".join(lines)


def _trial(raw: dict[str, Any], index: int) -> Trial:
    steps = []
    for step, value in (raw.get("intermediate") or {}).items() if isinstance(raw.get("intermediate"), dict) else []:
        try:
            s = int(step)
        except (TypeError, ValueError):
            continue
        if finite(value) is not None:
            steps.append((s, finite(value)))
    number = raw.get("number")
    return Trial(
        number=int(number) if isinstance(number, int) else index,
        state=str(raw.get("state") or "?").upper().removeprefix("TRIALSTATE."),
        value=finite(raw.get("value")),
        params=raw["params"] if isinstance(raw.get("params"), dict) else {},
        run_dir=str(raw["run_dir"]) if raw.get("run_dir") else None,
        intermediate=sorted(steps),
        note=" ".join(filter(None, [f"retry of trial {raw['retry_of']}" if raw.get("retry_of") is not None else "",
                                    str(raw.get("note") or "")])),
    )


# ---------------------------------------------------------------- parameters

def infer_params(study: Study) -> list[Param]:
    """Each parameter's kind and range from the values the trials took (all states)."""
    names = list(dict.fromkeys([*study.space, *(k for t in study.trials for k in t.params)]))
    out = []
    for name in names:
        values = [t.params[name] for t in study.trials if name in t.params]
        if not values:
            continue
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) and finite(v) is not None
                      for v in values)
        if numeric:
            lo, hi = float(min(values)), float(max(values))
            if all(isinstance(v, int) for v in values):
                out.append(Param(name, "int", lo, hi))
            else:
                hinted = "log" in study.space.get(name, "").lower()
                log = lo > 0 and (hinted or hi / lo > 100)
                out.append(Param(name, "float", lo, hi, log))
        else:
            choices = list({_choice_key(v): _choice(v) for v in values}.values())
            out.append(Param(name, "categorical", choices=sorted(choices, key=_choice_key)))
    return out


def _choice(v: Any) -> Any:
    # optuna's categories are None, bool, int, float or str; anything else is shown as text
    return v if v is None or isinstance(v, (bool, int, float, str)) else json.dumps(v, sort_keys=True)


def _choice_key(v: Any) -> str:
    return json.dumps(_choice(v), sort_keys=True)


# ---------------------------------------------------------------- figure data

def history(study: Study) -> History:
    done = study.complete
    best, best_so_far = None, []
    for t in done:
        better = best is None or (t.value < best if study.direction == "min" else t.value > best)
        best = t.value if better else best
        best_so_far.append(best)
    pruned = [t for t in study.trials if t.state == "PRUNED" and t.intermediate]
    top = study.best
    return History([t.number for t in done], [t.value for t in done], best_so_far,
                   [t.number for t in pruned], [t.intermediate[-1][1] for t in pruned],
                   [t.number for t in study.trials if t.state == "FAIL"], top.number if top else None)


def curves(study: Study) -> list[Curve]:
    return [Curve(t.number, t.state, [s for s, _ in t.intermediate], [v for _, v in t.intermediate])
            for t in study.trials if t.intermediate]


def parallel(study: Study) -> Parallel | None:
    """None unless at least two complete trials and one parameter."""
    params, done = infer_params(study), study.complete
    if len(done) < 2 or not params:
        return None
    values = [t.value for t in done]
    objective = Param(study.metric, "float", min(values), max(values))
    lines = [(t.number, [p.position(t.params.get(p.name)) if p.name in t.params else None for p in params]
              + [objective.position(t.value)], t.value) for t in done]
    return Parallel(params, lines, objective)


def slices(study: Study) -> list[Slice]:
    out = []
    for p in infer_params(study):
        done = [t for t in study.complete if p.name in t.params]
        if done:
            out.append(Slice(p, [_choice(t.params[p.name]) for t in done], [t.value for t in done],
                             [t.number for t in done]))
    return out


def importances(study: Study) -> Importances:
    done, params = study.complete, infer_params(study)
    if len(done) < 2:
        return Importances([], [], None, f"Parameter importances need at least two complete trials; "
                                         f"this study has {len(done)}.")
    if not params:
        return Importances([], [], None, "The trials record no parameters.")
    if len({t.value for t in done}) < 2:
        return Importances([], [], None, f"All {len(done)} complete trials have the same {study.metric}, "
                                         "so no parameter explains a difference.")
    try:
        found, method = _optuna_importances(study, params), "optuna fANOVA (FanovaImportanceEvaluator, seed 0)"
        note = None
    except Exception as exc:  # optuna's evaluators refuse some studies; say so and fall back
        found = _spearman_importances(study, params)
        method = "absolute Spearman rank correlation with the objective, normalised"
        note = f"optuna's fANOVA evaluator failed ({type(exc).__name__}: {exc}), so a simpler measure is shown."
    if len(done) < 10:
        note = (note + " " if note else "") + (f"Based on only {len(done)} complete trials: "
                                                "treat the ranking as a rough hint.")
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    return Importances([k for k, _ in ranked], [v for _, v in ranked], method, note)


def _optuna_importances(study: Study, params: list[Param]) -> dict[str, float]:
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from optuna.importance import FanovaImportanceEvaluator

    dists = {}
    for p in params:
        if p.kind == "categorical":
            dists[p.name] = CategoricalDistribution(p.choices)
        elif p.kind == "int":
            dists[p.name] = IntDistribution(int(p.low), int(p.high))
        else:
            dists[p.name] = FloatDistribution(p.low, p.high, log=p.log)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        mem = optuna.create_study(direction="minimize" if study.direction == "min" else "maximize")
        mem.add_trials([
            optuna.trial.create_trial(
                value=t.value, params={k: _choice(v) if isinstance(dists[k], CategoricalDistribution) else v
                                       for k, v in t.params.items() if k in dists},
                distributions={k: dists[k] for k in t.params if k in dists})
            for t in study.complete])
        found = optuna.importance.get_param_importances(mem, evaluator=FanovaImportanceEvaluator(seed=0))
    finally:
        optuna.logging.set_verbosity(verbosity)
    if not found or any(finite(v) is None for v in found.values()):
        raise ValueError("no finite importances")
    return {p.name: float(found.get(p.name, 0.0)) for p in params}


def _spearman_importances(study: Study, params: list[Param]) -> dict[str, float]:
    from scipy.stats import spearmanr

    raw = {}
    for p in params:
        done = [t for t in study.complete if p.name in t.params]
        xs = [p.position(t.params[p.name]) for t in done]
        if p.kind == "categorical":  # rank categories by their mean objective
            means: dict[float, list[float]] = {}
            for x, t in zip(xs, done):
                means.setdefault(x, []).append(t.value)
            xs = [sum(means[x]) / len(means[x]) for x in xs]
        rho = spearmanr(xs, [t.value for t in done]).statistic if len(set(xs)) > 1 else 0.0
        raw[p.name] = abs(float(rho)) if finite(rho) is not None else 0.0
    total = sum(raw.values())
    return {k: v / total if total else 0.0 for k, v in raw.items()}
