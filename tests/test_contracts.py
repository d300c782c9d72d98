"""Every registered task and solution passes the same contract; a new one is covered automatically."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from bench import registry
from bench.config import ConfigError, Section, apply_overrides, hints_of
from bench.contracts import AudioSpec, FitContext, MetricSpec, TaskInfo, TaskKind
from bench.resolve import check_solution_input

SOLUTION_CASES = [
    (name, kind) for name, cls in registry.solutions.items() for kind in sorted(cls.kinds, key=str)
]


def _params(cls, **extra):
    sec = [Section("solution", f"solution {cls.name}", cls.Params)]
    apply_overrides(sec, cls.presets.get("tiny", {}))
    if "epochs" in {f.name for f in dataclasses.fields(cls.Params)}:
        apply_overrides(sec, {"epochs": 1})
    apply_overrides(sec, extra)
    return sec[0].build()


def _info(kind: TaskKind) -> TaskInfo:
    classes = ("a", "b", "c")
    targets = ("valence", "arousal") if kind is TaskKind.REGRESSION else ()
    return TaskInfo("contract", kind, AudioSpec(8000, 1.0), classes if kind is not TaskKind.REGRESSION else (), targets)


def _data(spec, kind, n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *spec.shape)).astype(np.float32)
    if kind is TaskKind.REGRESSION:
        y = rng.normal(size=(n, 2)).astype(np.float32)
    else:
        y = np.arange(n) % 3
    return x, y


@pytest.mark.parametrize("name,kind", SOLUTION_CASES)
def test_solution_contract(name, kind, tmp_path):
    cls = registry.solutions.get(name)
    assert cls.description and cls.kinds and dataclasses.is_dataclass(cls.Params)
    info = _info(kind)
    sol = cls(_params(cls), info)
    spec = sol.feature_spec()
    assert (spec.sample_rate, spec.clip_seconds) == (8000, 1.0)
    x, y = _data(spec, kind)
    ctx = FitContext(workdir=tmp_path / "fit", progress=False, log=logging.getLogger("test"))
    sol.fit(x[:16], y[:16], x[16:], y[16:], ctx)
    out = sol.predict(x, ctx)
    assert out.shape == (len(x), info.n_outputs) and np.isfinite(out).all()
    if kind is TaskKind.CLASSIFICATION:
        np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-4)
    sol.save(tmp_path / "model")
    again = cls(_params(cls), info)
    again.load_state(tmp_path / "model")
    np.testing.assert_allclose(again.predict(x, ctx), out, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", registry.solutions.names())
def test_solution_takes_the_smallest_input_it_states(name, tmp_path):
    """min_frames is honest: a clip of exactly that many frames trains and predicts, and one frame
    fewer is refused with the settings, before any work."""
    cls = registry.solutions.get(name)
    kind = sorted(cls.kinds, key=str)[0]
    params = _params(cls)
    unbuilt = cls.unbuilt(params, _info(kind))
    assert unbuilt.feature_spec() == cls(params, _info(kind)).feature_spec(), "feature_spec may read only params and task"
    need, hop = unbuilt.min_frames(), unbuilt.feature_spec().hop_length

    def info(frames: int) -> TaskInfo:
        n_samples = (frames - 1) * hop if frames > 1 else hop // 2
        return dataclasses.replace(_info(kind), audio=AudioSpec(8000, n_samples / 8000))

    sol = cls(params, info(need))
    spec = sol.feature_spec()
    assert spec.n_frames == need
    x, y = _data(spec, kind)
    ctx = FitContext(workdir=tmp_path / "fit", progress=False, log=logging.getLogger("test"))
    sol.fit(x[:16], y[:16], x[16:], y[16:], ctx)
    assert np.isfinite(sol.predict(x, ctx)).all()
    assert check_solution_input(cls.unbuilt(params, info(need)), name) == spec
    if need > 1:
        with pytest.raises(ConfigError, match=f"gives {need - 1} feature frame.*needs at least {need}"):
            check_solution_input(cls.unbuilt(params, info(need - 1)), name)


@pytest.mark.parametrize("name", registry.solutions.names())
def test_solution_rejects_invalid_hyperparameters(name):
    cls = registry.solutions.get(name)
    hints = hints_of(cls.Params)
    numeric = [f.name for f in dataclasses.fields(cls.Params) if hints[f.name] in (int, float)]
    assert numeric, f"{name} declares no numeric hyperparameter"
    with pytest.raises(ConfigError, match=f"'{numeric[0]}"):
        _params(cls, **{numeric[0]: "not-a-number"})
    with pytest.raises(ConfigError, match="did you mean"):
        _params(cls, **{numeric[0] + "x": "1"})


@pytest.mark.parametrize("name", registry.solutions.names())
def test_every_search_space_fits_its_bounds(name):
    cls = registry.solutions.get(name)
    for f in dataclasses.fields(cls.Params):
        space = f.metadata.get("search")
        assert f.metadata.get("help"), f"{name}.{f.name} has no help text"
        if space is None or not hasattr(space, "low"):
            continue
        low, high = f.metadata.get("low"), f.metadata.get("high")
        assert low is None or space.low >= low, f"{name}.{f.name}: search below the allowed minimum"
        assert high is None or space.high <= high, f"{name}.{f.name}: search above the allowed maximum"


@pytest.mark.parametrize("name", registry.tasks.names())
def test_task_contract(name, cache_dir):
    cls = registry.tasks.get(name)
    assert cls.description and isinstance(cls.metric, MetricSpec) and isinstance(cls.kind, TaskKind)
    assert "tiny" in cls.presets, f"task {name} needs a tiny preset for smoke tests"
    sec = [Section("task", f"task {name}", cls.Config)]
    apply_overrides(sec, cls.presets["tiny"])
    task = cls(sec[0].build())
    data = task.load(cache_dir, logging.getLogger("test"))
    assert data.clips and all(c.path.exists() for c in data.clips)
    splits = task.splits(data, seed=0)
    assert splits
    for s in splits:
        parts = [set(s.train.tolist()), set(s.valid.tolist()), set(s.test.tolist())]
        assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
        groups = lambda idx: {data.clips[i].group for i in idx if data.clips[i].group is not None}
        assert not (groups(s.train) & groups(s.test)), "a grouping key spans train and test"
    y = task.targets(data)
    scored = splits[0].test if len(splits[0].test) else splits[0].valid
    if cls.kind is TaskKind.CLASSIFICATION:
        perfect = np.eye(len(data.classes))[y[scored]]
        metrics = task.score(y[scored], perfect, data)
        assert metrics[cls.metric.primary] == pytest.approx(1.0 if cls.metric.direction == "max" else 0.0)
