"""Overrides are typed and validated before any work; mistakes name the key and suggest one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.core.config import (
    ConfigError,
    FloatRange,
    Section,
    apply_overrides,
    from_dict,
    param,
    parse_cli_pairs,
    to_dict,
)
from bench.run.resolve import resolve


@dataclass
class A:
    lr: float = param(1e-3, "learning rate", low=0, search=FloatRange(1e-4, 1e-2, log=True))
    epochs: int = param(5, "epochs", low=1)
    mode: str = param("fast", "mode", choices=("fast", "slow"))
    folds: tuple[int, ...] = param((), "folds")
    out: Path | None = param(None, "folder")
    flag: bool = param(False, "flag")


@dataclass
class B:
    seed: int = param(0, "seed")
    epochs: int = param(3, "also epochs")


def build(**overrides):
    sec = [Section("solution", "solution x", A)]
    apply_overrides(sec, overrides)
    return sec[0].build()


def test_values_are_parsed_by_type():
    cfg = build(lr="3e-4", epochs="7", mode="slow", folds="1,4,7", out="~/x", flag="true")
    assert cfg.lr == pytest.approx(3e-4) and cfg.epochs == 7 and cfg.mode == "slow"
    assert cfg.folds == (1, 4, 7) and cfg.out == Path("~/x").expanduser() and cfg.flag is True
    assert build(out="none").out is None


@pytest.mark.parametrize(
    "key,value,needle",
    [
        ("lr", "fast", "'lr=fast' is not valid: expected a number"),
        ("epochs", "2.5", "expected an integer"),
        ("epochs", "0", "'epochs' must be at least 1"),
        ("flag", "maybe", "expected true or false"),
        ("mode", "slwo", "did you mean 'slow'"),
        ("folds", "1,x", "expected an integer"),
    ],
)
def test_wrong_types_and_ranges_fail_naming_the_key(key, value, needle):
    with pytest.raises(ConfigError) as info:
        build(**{key: value})
    assert needle in str(info.value)
    assert key in str(info.value)


def test_unknown_key_suggests_the_closest():
    with pytest.raises(ConfigError) as info:
        build(lerning_rate="1")
    with pytest.raises(ConfigError) as info2:
        build(epoch="3")
    assert "unknown key 'lerning_rate'" in str(info.value)
    assert "did you mean 'epochs'" in str(info2.value)


def test_shared_key_must_be_qualified():
    secs = [Section("solution", "solution x", A), Section("runner", "runner", B)]
    with pytest.raises(ConfigError, match="ambiguous: write solution.epochs or runner.epochs"):
        apply_overrides(secs, {"epochs": "2"})
    apply_overrides(secs, {"runner.epochs": "2", "seed": "9"})
    assert secs[1].build().epochs == 2 and secs[1].build().seed == 9


def test_cli_pairs_refuse_malformed_and_repeated():
    assert parse_cli_pairs(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_cli_pairs(["epochs"])
    with pytest.raises(ConfigError, match="given twice"):
        parse_cli_pairs(["a=1", "a=2"])


def test_roundtrip_through_json():
    cfg = build(folds="2,3", out="/tmp/o", lr="0.01")
    assert from_dict("solution x", A, to_dict(cfg)) == cfg


def test_resolve_checks_everything_before_work(tmp_path):
    res = resolve({"task": "kaggle5", "solution": "audiocnn", "epochs": "2", "batch_size": "8",
                   "lr": "0.01", "seed": "3", "device": "cpu", "runs_dir": str(tmp_path), "data_dir": str(tmp_path)})
    assert (res.solution.epochs, res.solution.batch_size, res.solution.lr) == (2, 8, 0.01)
    assert (res.runner.seed, res.runner.device, res.runner.runs_dir) == (3, "cpu", tmp_path)
    assert res.task.data_dir == tmp_path
    with pytest.raises(ConfigError, match="did you mean 'kaggle5'"):
        resolve({"task": "kagle5", "solution": "audiocnn"})
    with pytest.raises(ConfigError, match="did you mean 'audiocnn'"):
        resolve({"task": "kaggle5", "solution": "audiocn"})
    with pytest.raises(ConfigError, match="'device' must be auto, cpu, cuda"):
        resolve({"task": "kaggle5", "solution": "audiocnn", "device": "gpu"})
    with pytest.raises(ConfigError, match="unknown preset 'tinny'.*did you mean 'tiny'"):
        resolve({"task": "kaggle5", "solution": "audiocnn", "preset": "tinny"})
    with pytest.raises(ConfigError, match="multiple of 8"):
        from bench.core.contracts import AudioSpec, TaskInfo, TaskKind
        r = resolve({"task": "kaggle5", "solution": "audiocnn", "n_mels": "60"})
        r.solution_cls(r.solution, TaskInfo("kaggle5", TaskKind.CLASSIFICATION, AudioSpec(16000, 1.0), ("a", "b")))


def test_preset_values_yield_to_explicit_overrides():
    res = resolve({"task": "kaggle5", "solution": "audiocnn", "preset": "tiny", "epochs": "5"})
    assert res.solution.epochs == 5 and res.solution.n_mels == 32
    assert res.task.synthetic_train_per_class == 10


def test_config_hash_ignores_output_folders_but_not_hyperparameters(tmp_path):
    base = {"task": "kaggle5", "solution": "audiocnn"}
    h = resolve(base).hashed()
    assert resolve({**base, "runs_dir": str(tmp_path)}).hashed() == h
    assert resolve({**base, "lr": "0.002"}).hashed() != h
