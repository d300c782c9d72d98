"""The conformance kit: the contract every task and solution must pass, importable by plugins.

The built-ins are tested with it (`tests/test_contracts.py`), and a third-party package
proves its solution or task conforms with three lines of pytest:

    from bench.testing import SolutionConformance
    class TestMySolution(SolutionConformance):
        solution = "mysolution"

(`TaskConformance` with `task = "mytask"` likewise.) The checks are plain functions that
raise AssertionError, so they need no pytest and can be called from any test runner:
`check_solution`, `check_min_frames`, `check_params`, `check_task`, `check_pair`.
`solution_kinds()` and `pairs()` list what to parametrize over.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from bench import registry
from bench.config import ConfigError, Section, apply_overrides, hints_of
from bench.contracts import AudioSpec, FitContext, MetricSpec, Task, TaskInfo, TaskKind

_LOG = logging.getLogger("bench.testing")
# the value a metric takes on perfect outputs; a metric not named here is only held to
# "perfect outputs score at least as well as constant ones"
BEST = {"accuracy": 1.0, "macro_f1": 1.0, "log_loss": 0.0, "ccc": 1.0, "mse": 0.0, "rmse": 0.0, "mae": 0.0}


def _solution(solution: str | type) -> type:
    return registry.solutions.get(solution) if isinstance(solution, str) else solution


def _task(task: str | type) -> type:
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
    """A three-class (or two-target) task the solution can be fitted on without any audio."""
    if kind is TaskKind.REGRESSION:
        return TaskInfo("contract", kind, audio, (), ("valence", "arousal"))
    return TaskInfo("contract", kind, audio, ("a", "b", "c"))


def toy_data(shape: tuple[int, ...], kind: TaskKind, n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    y = rng.normal(size=(n, 2)).astype(np.float32) if kind is TaskKind.REGRESSION else np.arange(n) % 3
    return x, y


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


def check_solution(solution: str | type, tmp_dir: Path, kind: TaskKind | None = None) -> None:
    """Fit on toy features, predict, save, reload into a fresh instance, predict the same.

    Every kind the solution claims, or only `kind`.
    """
    cls = _solution(solution)
    assert cls.description and cls.kinds and dataclasses.is_dataclass(cls.Params), \
        f"{cls.__name__} needs a description, kinds and a dataclass Params"
    for k in [kind] if kind is not None else _kinds(cls):
        info, folder = toy_info(k), Path(tmp_dir) / str(k)
        sol = cls(tiny_params(cls), info)
        spec = sol.feature_spec()
        assert (spec.sample_rate, spec.clip_seconds) == (8000, 1.0), "feature_spec must follow the task's audio"
        x, y = toy_data(spec.shape, k)
        ctx = _ctx(folder)
        sol.fit(x[:16], y[:16], x[16:], y[16:], ctx)
        out = sol.predict(x, ctx)
        assert out.shape == (len(x), info.n_outputs), f"predict gave {out.shape}, not {(len(x), info.n_outputs)}"
        assert np.isfinite(out).all(), "predict gave a non-finite output"
        if k is TaskKind.CLASSIFICATION:
            np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-4, err_msg="class probabilities must sum to 1")
        sol.save(folder / "model")
        again = cls(tiny_params(cls), info)
        again.load_state(folder / "model")
        np.testing.assert_allclose(again.predict(x, ctx), out, rtol=1e-5, atol=1e-6,
                                   err_msg="a reloaded model predicts differently")


def check_min_frames(solution: str | type, tmp_dir: Path) -> None:
    """min_frames is honest: a clip of exactly that many frames trains and predicts, and one
    frame fewer is refused with the settings, before any work."""
    from bench.resolve import check_solution_input

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
    assert np.isfinite(sol.predict(x, ctx)).all()
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


def tiny_task(task: str | type) -> Task:
    cls = _task(task)
    assert "tiny" in cls.presets, f"task {cls.name} needs a tiny preset for smoke tests"
    sec = [Section("task", f"task {cls.name}", cls.Config)]
    apply_overrides(sec, cls.presets["tiny"])
    return cls(sec[0].build())


def check_task(task: str | type, cache_dir: Path) -> None:
    """Load the tiny embedded data into `cache_dir`; splits keep test apart from train and valid
    (indices and groups); targets match the info; perfect and constant outputs score as the
    metric says."""
    cls = _task(task)
    assert cls.description and isinstance(cls.metric, MetricSpec) and isinstance(cls.kind, TaskKind)
    t = tiny_task(cls)
    data = t.load(Path(cache_dir), _LOG)
    assert data.clips and all(c.path.exists() for c in data.clips), "load gave no clips, or missing files"
    info, y = t.info(data), t.targets(data)
    assert info.kind is cls.kind and info.audio == t.audio
    if cls.kind is TaskKind.REGRESSION:
        assert y.shape == (len(data.clips), len(info.targets)) and np.isfinite(y).all()
    else:
        assert y.shape == (len(data.clips),) and info.n_outputs == len(data.classes)
        assert y.min() >= 0 and y.max() < len(data.classes), "a target is not a class index"
    splits = t.splits(data, seed=0)
    assert splits, "the protocol has no split"
    for s in splits:
        _check_split(s, data, len(data.clips))
        scored = s.test if len(s.test) else s.valid
        _check_scores(t, y[scored], data)


def _check_split(s, data, n: int) -> None:
    train, valid, test = (set(np.asarray(p).tolist()) for p in (s.train, s.valid, s.test))
    assert train and (valid or test), f"split {s.name} trains or scores on nothing"
    assert all(0 <= i < n for i in train | valid | test), f"split {s.name} indexes past the clips"
    assert not (train & valid or train & test or valid & test), f"split {s.name}: a clip is in two parts"

    def groups(idx: set) -> set:
        return {data.clips[i].group for i in idx if data.clips[i].group is not None}

    assert not groups(test) & (groups(train) | groups(valid)), f"split {s.name}: a grouping key spans test and train/valid"


def _check_scores(t: Task, y: np.ndarray, data) -> None:
    metric = t.metric
    if t.kind is TaskKind.CLASSIFICATION:
        n = len(data.classes)
        perfect = t.score(y, np.eye(n)[y], data)
        constants = {c: t.score(y, np.tile(np.eye(n)[c], (len(y), 1)), data) for c in range(n)}
        for c, got in constants.items():
            share = float(np.mean(y == c))
            present = len(set(y.tolist()) | {c})
            expect = {"accuracy": share, "macro_f1": 2 * share / (share + 1) / present}
            for name, value in expect.items():
                if name in got:
                    assert math.isclose(got[name], value, abs_tol=1e-9), \
                        f"{name} of always predicting class {c} is {got[name]}, not {value}"
    else:
        perfect = t.score(y, y.copy(), data)
        constants = {"mean": t.score(y, np.tile(y.mean(0), (len(y), 1)), data)}
        if "ccc" in constants["mean"]:
            assert math.isclose(constants["mean"]["ccc"], 0.0, abs_tol=1e-9), "ccc of a constant guess must be 0"
    assert metric.primary in perfect, f"score must return the primary metric {metric.primary!r}"
    best = BEST.get(metric.primary)
    if best is not None:
        assert math.isclose(perfect[metric.primary], best, abs_tol=1e-9), \
            f"{metric.primary} of perfect outputs is {perfect[metric.primary]}, not {best}"
    for got in constants.values():
        assert not metric.better(got[metric.primary], perfect[metric.primary]), "a constant guess beats perfect outputs"


def check_pair(task: str | type, solution: str | type, tmp_dir: Path, cache_dir: Path | None = None) -> dict:
    """A real tiny run (preset=tiny, one epoch, one fold) of `solution` on `task` through
    `bench run`'s pipeline; returns the result record."""
    from bench.resolve import resolve
    from bench.runner import run

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
    if tcls.metric.primary in ("accuracy", "macro_f1"):
        assert 0.0 <= score <= 1.0, f"{tcls.metric.primary}={score} out of range"
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

    def test_contract(self):
        from bench.resolve import default_cache_dir

        check_task(self.task, self.cache_dir or default_cache_dir())

    def test_tiny_runs(self, tmp_path):
        name = _task(self.task).name
        chosen = [s for t, s in pairs() if t == name and (self.solutions is None or s in self.solutions)]
        assert chosen, f"no registered solution claims the kind of {name}"
        for s in chosen:
            check_pair(self.task, s, tmp_path / s, self.cache_dir)
