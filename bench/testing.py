"""The conformance kit: the contract every task and solution must pass, importable by plugins.

The built-ins are tested with it (`tests/test_contracts.py`), and a third-party package
proves its solution or task conforms with three lines of pytest:

    from bench.testing import SolutionConformance
    class TestMySolution(SolutionConformance):
        solution = "mysolution"

(`TaskConformance` with `task = "mytask"` likewise.) The checks are plain functions that
raise AssertionError, so they need no pytest and can be called from any test runner:
`check_solution`, `check_min_frames`, `check_params`, `check_metrics`, `check_task`,
`check_pair`. `solution_kinds()` and `pairs()` list what to parametrize over.

Nothing here branches on the task kind: toy data, the outputs a solution must give and
what perfect and constant outputs score all come from `bench.core.kinds`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.core import kinds, metrics, registry
from bench.core.config import ConfigError, Section, apply_overrides, hints_of
from bench.core.contracts import (
    AudioSpec,
    FitContext,
    MetricSpec,
    Task,
    TaskInfo,
    TaskKind,
)

_LOG = logging.getLogger("bench.testing")


def _columns(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a.reshape(len(a), -1)


def _share_of_first(truth: np.ndarray) -> float:
    return float(np.mean(np.asarray(truth) == 0))


# What a metric scores on its kind's constant outputs (`Kind.constant`: uniform class
# probabilities, whose argmax is the first class; the mean target; the mean feature map),
# as a function of the truth and the task info. A metric not named here is only held to
# "constant outputs score no better than perfect ones".
CHANCE: dict[str, Callable[[np.ndarray, TaskInfo], float]] = {
    "accuracy": lambda t, info: _share_of_first(t),
    # only class 0 is predicted: its F1 is 2s/(s+1), every other class present scores 0
    "macro_f1": lambda t, info: 2 * _share_of_first(t) / (_share_of_first(t) + 1) / len(set(np.asarray(t).tolist()) | {0}),
    "log_loss": lambda t, info: math.log(len(info.classes)),
    "ccc": lambda t, info: 0.0,
    "r2": lambda t, info: 0.0,
    "mse": lambda t, info: float(_columns(t).var(0).mean()),
    "rmse": lambda t, info: math.sqrt(_columns(t).var(0).mean()),
    "mae": lambda t, info: float(np.abs(_columns(t) - _columns(t).mean(0)).mean()),
    # identical generated clips: no spread, the same mean, so only the real clips' spread is left
    "frechet_logmel": lambda t, info: float(np.trace(np.atleast_2d(np.cov(metrics.pooled(t), rowvar=False)))),
}
# toy (C, F, T) features where a kind's truth is the features (generation); others ignore them
_TOY_FEATURES = (1, 4, 3)


def _solution(solution: str | type) -> type:
    return registry.solutions.get(solution) if isinstance(solution, str) else solution


def _task(task: str | type | Task) -> type:
    if isinstance(task, Task):
        return type(task)
    return registry.tasks.get(task) if isinstance(task, str) else task


def _kinds(cls: type) -> list[TaskKind]:
    return sorted(cls.kinds, key=str)


def solution_kinds() -> list[tuple[str, TaskKind]]:
    """Every registered (solution, kind it claims)."""
    return [(name, kind) for name, cls in registry.solutions.items() for kind in _kinds(cls)]


def pairs(kind: TaskKind | None = None) -> list[tuple[str, str]]:
    """Every registered (task, solution) that share a kind, the matrix `check_pair` runs over."""
    return [(t, s) for t, tcls in registry.tasks.items() for s, scls in registry.solutions.items()
            if tcls.kind in scls.kinds and (kind is None or tcls.kind is kind)]


def tiny_params(solution: str | type, **extra: Any) -> Any:
    """The solution's params under its `tiny` preset, one epoch where it has epochs, then `extra`."""
    cls = _solution(solution)
    sec = [Section("solution", f"solution {cls.name}", cls.Params)]
    apply_overrides(sec, cls.presets.get("tiny", {}))
    if "epochs" in {f.name for f in dataclasses.fields(cls.Params)}:
        apply_overrides(sec, {"epochs": 1})
    apply_overrides(sec, extra)
    return sec[0].build()


def toy_info(kind: TaskKind, audio: AudioSpec = AudioSpec(8000, 1.0)) -> TaskInfo:
    """A small task of `kind` (three classes, or two targets) a solution can be fitted on without any audio."""
    return kinds.of(kind).toy_info(audio)


def toy_data(shape: tuple[int, ...], kind: TaskKind, n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, *shape) random features and the kind's toy targets for them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    return x, kinds.of(kind).toy_targets(n, rng)


def _ctx(tmp_dir: Path) -> FitContext:
    return FitContext(workdir=Path(tmp_dir) / "fit", progress=False, log=_LOG)


def _refused(fn, match: str) -> None:
    import re

    try:
        fn()
    except ConfigError as exc:
        assert re.search(match, str(exc)), f"refused, but the message {str(exc)!r} does not match {match!r}"
        return
    raise AssertionError(f"not refused (expected a ConfigError matching {match!r})")


def _check_outputs(kind: kinds.Kind, info: TaskInfo, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """`out` has the shape of the kind's outputs for (x, y), is finite, and sums to 1 per clip where it is probabilities."""
    want = kind.perfect(kind.truth(x, y), info).shape
    assert out.shape == want, f"{kind.kind} outputs have shape {out.shape}, not {want}"
    assert np.isfinite(out).all(), "the solution gave a non-finite output"
    if kind.needs == "probabilities":
        assert out.min() >= 0, "class probabilities must not be negative"
        np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-4, err_msg="class probabilities must sum to 1")


def check_solution(solution: str | type, tmp_dir: Path, kind: TaskKind | None = None) -> None:
    """Fit on toy features, produce outputs (`predict`, or `generate` for generation), embed where
    the solution can (`Solution.embed`), save, reload into a fresh instance, produce the same.

    Every kind the solution claims, or only `kind`. The outputs must have the shape the
    kind's metrics read, be finite, and be probabilities summing to 1 where those
    metrics read probabilities.
    """
    cls = _solution(solution)
    assert cls.description and cls.kinds and dataclasses.is_dataclass(cls.Params), \
        f"{cls.__name__} needs a description, kinds and a dataclass Params"
    for k in [kind] if kind is not None else _kinds(cls):
        kd, info, folder = kinds.of(k), toy_info(k), Path(tmp_dir) / str(k)
        sol = cls(tiny_params(cls), info)
        spec = sol.feature_spec()
        assert (spec.sample_rate, spec.clip_seconds) == (8000, 1.0), "feature_spec must follow the task's audio"
        x, y = toy_data(spec.shape, k)
        ctx = _ctx(folder)
        sol.fit(x[:16], y[:16], x[16:], y[16:], ctx)
        out = kd.produce(sol, x, y, ctx)
        _check_outputs(kd, info, x, y, out)
        embedded = _embedding(sol, x, ctx)
        sol.save(folder / "model")
        again = cls(tiny_params(cls), info)
        again.load_state(folder / "model")
        np.testing.assert_allclose(kd.produce(again, x, y, ctx), out, rtol=1e-5, atol=1e-6,
                                   err_msg="a reloaded model predicts differently")
        if embedded is not None:
            np.testing.assert_allclose(again.embed(x, ctx), embedded, rtol=1e-5, atol=1e-6,
                                       err_msg="a reloaded model embeds differently")


def _embedding(sol, x: np.ndarray, ctx) -> np.ndarray | None:
    """`Solution.embed` (the scoring suite's run: embedding), where the solution has one: one finite
    row per clip, the same twice."""
    try:
        e = np.asarray(sol.embed(x, ctx))
    except TypeError:
        return None  # no embedding: `bench score-audio embedding=run:` refuses such runs
    assert e.ndim == 2 and len(e) == len(x) and e.shape[1] >= 1, f"embed gave {e.shape} for {len(x)} clips"
    assert np.isfinite(e).all(), "embed gave NaN or infinite values"
    np.testing.assert_allclose(np.asarray(sol.embed(x, ctx)), e, rtol=1e-6, atol=1e-7,
                               err_msg="embed is not deterministic")
    return e


def check_min_frames(solution: str | type, tmp_dir: Path) -> None:
    """min_frames is honest: a clip of exactly that many frames trains and predicts, and one
    frame fewer is refused with the settings, before any work."""
    from bench.run.resolve import check_solution_input

    cls = _solution(solution)
    kind, params = _kinds(cls)[0], tiny_params(cls)
    unbuilt = cls.unbuilt(params, toy_info(kind))
    assert unbuilt.feature_spec() == cls(params, toy_info(kind)).feature_spec(), \
        "feature_spec may read only params and task"
    need, hop = unbuilt.min_frames(), unbuilt.feature_spec().hop_length

    def info(frames: int) -> TaskInfo:
        n_samples = (frames - 1) * hop if frames > 1 else hop // 2
        return toy_info(kind, AudioSpec(8000, n_samples / 8000))

    sol = cls(params, info(need))
    spec = sol.feature_spec()
    assert spec.n_frames == need
    x, y = toy_data(spec.shape, kind)
    ctx = _ctx(tmp_dir)
    sol.fit(x[:16], y[:16], x[16:], y[16:], ctx)
    assert np.isfinite(kinds.of(kind).produce(sol, x, y, ctx)).all()
    assert check_solution_input(cls.unbuilt(params, info(need)), cls.name) == spec
    if need > 1:
        _refused(lambda: check_solution_input(cls.unbuilt(params, info(need - 1)), cls.name),
                 f"gives {need - 1} feature frame.*needs at least {need}")


def check_params(solution: str | type) -> None:
    """A wrong type or a misspelt key is refused by name; every field has help; search spaces fit the bounds."""
    cls = _solution(solution)
    hints = hints_of(cls.Params)
    numeric = [f.name for f in dataclasses.fields(cls.Params) if hints[f.name] in (int, float)]
    assert numeric, f"{cls.name} declares no numeric hyperparameter"
    _refused(lambda: tiny_params(cls, **{numeric[0]: "not-a-number"}), f"'{numeric[0]}")
    _refused(lambda: tiny_params(cls, **{numeric[0] + "x": "1"}), "did you mean")
    for f in dataclasses.fields(cls.Params):
        assert f.metadata.get("help"), f"{cls.name}.{f.name} has no help text"
        space = f.metadata.get("search")
        if space is None or not hasattr(space, "low"):
            continue
        low, high = f.metadata.get("low"), f.metadata.get("high")
        assert low is None or space.low >= low, f"{cls.name}.{f.name}: search below the allowed minimum"
        assert high is None or space.high <= high, f"{cls.name}.{f.name}: search above the allowed maximum"


def _toy_truth(kind: kinds.Kind, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """What the kind scores outputs against for targets `y` (toy features where that is the features)."""
    x = np.random.default_rng(seed).normal(size=(len(y), *_TOY_FEATURES)).astype(np.float32)
    return kind.truth(x, y)


def _check_outcomes(what: str, primary: str, kind: kinds.Kind, info: TaskInfo, truth: np.ndarray,
                    score: Callable[[np.ndarray], dict[str, float]]) -> None:
    """Perfect outputs score each registered metric's best; constant ones no better, and CHANCE where known."""
    perfect, constant = score(kind.perfect(truth, info)), score(kind.constant(truth, info))
    # an assessed primary comes from Task.assess, which needs a fitted solution: check_pair runs it
    assert primary in perfect or metrics.get(primary).assessed, f"{what}: score must return the primary metric {primary!r}"
    for name, value in perfect.items():
        m = metrics.METRICS.get(name)
        if m is None or m.needs != kind.needs:
            continue  # a task's own extra figure: nothing known to hold it to
        if m.best is not None:
            assert math.isclose(value, m.best, rel_tol=1e-6, abs_tol=1e-6), \
                f"{what}: {name} of perfect outputs is {value}, not its best value {m.best}"
        assert name in constant, f"{what}: {name} is scored on perfect outputs but not on constant ones"
        assert not m.better(constant[name], value), \
            f"{what}: {name} of constant outputs ({constant[name]}) beats perfect outputs ({value})"
        if name in CHANCE:
            expect = CHANCE[name](truth, info)
            assert math.isclose(constant[name], expect, rel_tol=1e-6, abs_tol=1e-6), \
                (f"{what}: {name} of constant outputs (the same output for every clip) is {constant[name]},"
                 f" not {expect}, what the metric gives a model that learnt nothing")


def check_metrics(task: str | type | Task, n: int = 24, seed: int = 0) -> None:
    """The task's metrics agree with the registry and score toy outputs of its kind as they should.

    Checked, with no data loaded:
    - every metric the task names (`metric.primary`, `metric.others`) is registered in
      `bench.core.metrics` and reads what the task's kind produces (probabilities,
      values or features), and `metric.direction` is the registry's for the primary;
    - on the kind's toy targets, each metric of perfect outputs (`Kind.perfect`) is the
      metric's `best` (where it has one), and of constant outputs (`Kind.constant`) no
      better than that;
    - where the value of constant outputs is known (`CHANCE`), exactly that value:
      accuracy of uniform probabilities is the share of the first class (the argmax of a
      tie), macro_f1 that class's F1 over the classes present, log_loss log(n_classes);
      the mean target has ccc 0 and r2 0, mse the targets' variance, rmse its root, mae
      the mean absolute deviation; identical generated clips have frechet_logmel equal to
      the trace of the real clips' feature covariance.
    `check_task` runs the same outcome checks through the task's own `score` on its data.
    """
    cls = _task(task)
    kind = kinds.of(cls)
    names = (cls.metric.primary, *cls.metric.others)
    for name in names:
        try:
            m = metrics.get(name)
        except KeyError as exc:
            raise AssertionError(f"task {cls.name}: {exc.args[0]}") from None
        assert m.needs == kind.needs, \
            f"task {cls.name}: metric {name!r} reads {m.needs}, but {kind.kind} tasks produce {kind.needs}"
    primary = metrics.get(cls.metric.primary)
    assert cls.metric.direction == primary.direction, \
        (f"task {cls.name}: its MetricSpec gives {cls.metric.primary!r} the direction {cls.metric.direction!r},"
         f" the metric registry {primary.direction!r}; make them agree")
    info = kind.toy_info(AudioSpec(8000, 1.0))
    truth = _toy_truth(kind, kind.toy_targets(n, np.random.default_rng(seed)), seed)
    _check_outcomes(f"task {cls.name}, toy outputs", cls.metric.primary, kind, info, truth,
                    lambda outputs: {name: metrics.get(name)(truth, outputs) for name in names
                                     if not metrics.get(name).assessed})


def tiny_task(task: str | type) -> Task:
    cls = _task(task)
    assert "tiny" in cls.presets, f"task {cls.name} needs a tiny preset for smoke tests"
    sec = [Section("task", f"task {cls.name}", cls.Config)]
    apply_overrides(sec, cls.presets["tiny"])
    return cls(sec[0].build())


def check_task(task: str | type, cache_dir: Path) -> None:
    """The task's metrics (`check_metrics`); then load the tiny embedded data into `cache_dir`:
    splits keep test apart from train and valid (indices and groups); targets match the
    info; the task's `score` of perfect and constant outputs is what `check_metrics` says."""
    cls = _task(task)
    assert cls.description and isinstance(cls.metric, MetricSpec) and isinstance(cls.kind, TaskKind)
    check_metrics(cls)
    kind = kinds.of(cls)
    t = tiny_task(cls)
    data = t.load(Path(cache_dir), _LOG)
    assert data.clips and all(c.path.exists() for c in data.clips), "load gave no clips, or missing files"
    info, y = t.info(data), t.targets(data)
    assert info.kind is cls.kind and info.audio == t.audio
    if kind.class_targets:
        assert y.shape == (len(data.clips),) and info.n_outputs == len(data.classes)
        assert y.min() >= 0 and y.max() < len(data.classes), "a target is not a class index"
    else:
        assert y.shape == (len(data.clips), info.n_outputs) and np.isfinite(y).all(), \
            f"targets have shape {y.shape}, not (clips, outputs) = {(len(data.clips), info.n_outputs)}, or are not finite"
    splits = t.splits(data, seed=0)
    assert splits, "the protocol has no split"
    for s in splits:
        _check_split(s, data, len(data.clips))
        scored = s.test if len(s.test) else s.valid
        truth = _toy_truth(kind, y[scored])
        _check_outcomes(f"task {cls.name}, split {s.name}", cls.metric.primary, kind, info, truth,
                        lambda outputs: t.score(truth, outputs, data))


def _check_split(s, data, n: int) -> None:
    train, valid, test = (set(np.asarray(p).tolist()) for p in (s.train, s.valid, s.test))
    assert train and (valid or test), f"split {s.name} trains or scores on nothing"
    assert all(0 <= i < n for i in train | valid | test), f"split {s.name} indexes past the clips"
    assert not (train & valid or train & test or valid & test), f"split {s.name}: a clip is in two parts"

    def groups(idx: set) -> set:
        return {data.clips[i].group for i in idx if data.clips[i].group is not None}

    assert not groups(test) & (groups(train) | groups(valid)), f"split {s.name}: a grouping key spans test and train/valid"


def check_pair(task: str | type, solution: str | type, tmp_dir: Path, cache_dir: Path | None = None) -> dict:
    """A real tiny run (preset=tiny, one epoch, one fold) of `solution` on `task` through
    `bench run`'s pipeline; returns the result record."""
    from bench.run.resolve import resolve
    from bench.run.runner import run

    tcls, scls = _task(task), _solution(solution)
    tmp_dir = Path(tmp_dir)
    keys = {"task": tcls.name, "solution": scls.name, "preset": "tiny", "progress": "false", "report": "false",
            "runs_dir": str(tmp_dir / "runs"), "reports_dir": str(tmp_dir / "reports"),
            "leaderboard": str(tmp_dir / "leaderboard.csv")}
    if cache_dir is not None:
        keys["cache_dir"] = str(cache_dir)
    if "epochs" in {f.name for f in dataclasses.fields(scls.Params)}:
        keys["epochs"] = "1"
    if "folds" in {f.name for f in dataclasses.fields(tcls.Config)}:
        folds = tcls.presets.get("tiny", {}).get("folds") or (1,)
        keys["folds"] = str(folds[0])
    run_dir = run(resolve(keys))
    result = json.loads((run_dir / "result.json").read_text())
    assert result["task"] == tcls.name and result["solution"] == scls.name
    assert result["metric"] == tcls.metric.primary and len(result["folds"]) == 1
    score = result["folds"][0]["score"]
    assert math.isfinite(score), f"{tcls.name} × {scls.name} scored {score}"
    primary = metrics.get(tcls.metric.primary)
    if primary.best is not None:
        assert not primary.better(score, primary.best), f"{primary.name}={score} is better than its best value {primary.best}"
    for rel in result.get("artifacts", {}).values():
        assert (run_dir / rel).exists(), f"the task named an output {rel} that was not written"
    return result


class SolutionConformance:
    """Subclass as `class TestMine(SolutionConformance): solution = "mine"` to run the contract.

    `tasks` narrows the tiny end-to-end runs (default: every registered task of a kind the
    solution claims); `cache_dir` None is bench's default cache ($BENCH_CACHE_DIR).
    """

    solution: str | type
    tasks: tuple[str, ...] | None = None
    cache_dir: Path | None = None

    def test_fit_predict_save_reload(self, tmp_path):
        check_solution(self.solution, tmp_path)

    def test_smallest_input_it_states(self, tmp_path):
        check_min_frames(self.solution, tmp_path)

    def test_settings(self):
        check_params(self.solution)

    def test_tiny_runs(self, tmp_path):
        name = _solution(self.solution).name
        chosen = [t for t, s in pairs() if s == name and (self.tasks is None or t in self.tasks)]
        assert chosen, f"no registered task shares a kind with {name}"
        for t in chosen:
            check_pair(t, self.solution, tmp_path / t, self.cache_dir)


class TaskConformance:
    """Subclass as `class TestMine(TaskConformance): task = "mine"`; `solutions` narrows the
    tiny end-to-end runs (default: every registered solution that claims the task's kind)."""

    task: str | type
    solutions: tuple[str, ...] | None = None
    cache_dir: Path | None = None

    def test_metrics(self):
        check_metrics(self.task)

    def test_contract(self):
        from bench.run.resolve import default_cache_dir

        check_task(self.task, self.cache_dir or default_cache_dir())

    def test_tiny_runs(self, tmp_path):
        name = _task(self.task).name
        chosen = [s for t, s in pairs() if t == name and (self.solutions is None or s in self.solutions)]
        assert chosen, f"no registered solution claims the kind of {name}"
        for s in chosen:
            check_pair(self.task, s, tmp_path / s, self.cache_dir)
