"""efficientnet: model-name checks, local pretrained weights, random-init tagging, TTA, CLI runs."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from safetensors.torch import save_file

from bench.core.config import ConfigError, Section, apply_overrides
from bench.core.contracts import AudioSpec, FitContext, TaskInfo, TaskKind
from solutions.efficientnet import EfficientNet, PretrainedMismatch

INFO = TaskInfo("t", TaskKind.CLASSIFICATION, AudioSpec(8000, 1.0), ("a", "b", "c"))


def _params(**extra):
    sec = [Section("solution", "solution efficientnet", EfficientNet.Params)]
    apply_overrides(sec, EfficientNet.presets["tiny"])
    apply_overrides(sec, {"epochs": 1, **extra})
    return sec[0].build()


def _ctx(tmp_path, **kw):
    return FitContext(workdir=tmp_path / "fit", progress=False, log=logging.getLogger("test"), **kw)


def _data(sol, n=24):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, *sol.feature_spec().shape)).astype(np.float32) - 40, np.arange(n) % 3


def test_a_misspelt_model_name_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match="'tf_efficientnetv2_mm' is not a timm model.*did you mean 'tf_efficientnetv2_m"):
        _params(model_name="tf_efficientnetv2_mm")


def _load(path: Path) -> str:
    """What fit does first with pretrained=path."""
    sol = EfficientNet(_params(pretrained=str(path)), INFO)  # building never reads the file
    return sol.load_pretrained(sol.build_model(), path)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_pretrained_file_loads_and_a_head_of_another_class_count_is_reinitialised(tmp_path, suffix, caplog):
    source = timm.create_model("test_efficientnet", pretrained=False, num_classes=10)
    state = {k: v.clone() for k, v in source.state_dict().items()}
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save({"state_dict": state, "epoch": 3}, path)  # a training checkpoint, unwrapped on load
    sol = EfficientNet(_params(pretrained=str(path)), INFO)
    built = sol.build_model()
    with caplog.at_level(logging.INFO, logger="bench"):
        loaded = sol.load_pretrained(built, path)
    net = built[1]
    for k, v in net.state_dict().items():
        if k.startswith("classifier."):
            assert v.shape[0] == 3
        else:
            assert torch.equal(v, state[k]), k
    assert "classifier head re-initialised (the file has 10 classes, the task 3)" in caplog.text
    assert loaded == f"pretrained:{path.name} (classifier head re-initialised)"


def test_a_checkpoint_of_another_model_names_the_file_and_the_keys(tmp_path):
    other = timm.create_model("test_efficientnet_gn", pretrained=False, num_classes=3)
    path = tmp_path / "other.pth"
    torch.save(other.state_dict(), path)
    with pytest.raises(PretrainedMismatch) as err:
        _load(path)
    text = str(err.value)
    assert str(path) in text and "does not fit model" in text
    assert "missing (first: [" in text and "bn1.running_mean" in text


def test_a_shape_mismatch_outside_the_head_is_refused_with_both_shapes(tmp_path):
    mono = timm.create_model("test_efficientnet", pretrained=False, num_classes=3, in_chans=1)
    path = tmp_path / "mono.safetensors"
    save_file(mono.state_dict(), str(path))
    with pytest.raises(PretrainedMismatch, match=r"shape mismatches \(first: conv_stem.weight: file \(\d+, 1, 3, 3\)"
                       r" vs model \(\d+, 3, 3, 3\)"):
        _load(path)


def test_unreadable_or_absent_pretrained_files_fail_clearly(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match=f"pretrained={bad}: cannot read it"):
        _load(bad)
    with pytest.raises(ConfigError, match="absent.pth: file not found"):
        _load(tmp_path / "absent.pth")


def test_random_init_is_noted_and_tta_averages_probabilities(tmp_path):
    sol = EfficientNet(_params(tta=3), INFO)
    x, y = _data(sol)
    ctx = _ctx(tmp_path)
    fit = sol.fit(x[:16], y[:16], x[16:], y[16:], ctx)
    assert fit.notes["tags"] == ["random-init"] and fit.notes["init"] == "random-init"
    out = sol.predict(x, ctx)
    assert out.shape == (24, 3) and np.allclose(out.sum(1), 1, atol=1e-5)
    np.testing.assert_array_equal(out, sol.predict(x, ctx))  # seeded: the same every time
    sol.params.tta = 1
    clean = sol.predict(x, ctx)
    assert not np.allclose(out, clean)  # the noisy passes count


def test_a_pretrained_start_is_tagged_and_its_file_is_not_needed_to_predict(tmp_path):
    source = timm.create_model("test_efficientnet", pretrained=False, num_classes=3)
    path = tmp_path / "start.safetensors"
    save_file(source.state_dict(), str(path))
    sol = EfficientNet(_params(pretrained=str(path)), INFO)
    x, y = _data(sol)
    ctx = _ctx(tmp_path)
    fit = sol.fit(x[:16], y[:16], x[16:], y[16:], ctx)
    assert fit.notes == {**fit.notes, "tags": ["pretrained"], "init": f"pretrained:{path}"}
    sol.save(tmp_path / "model")
    path.unlink()  # a run's weights must not depend on the starting file staying put
    again = EfficientNet(_params(pretrained=str(path)), INFO)
    again.load_state(tmp_path / "model")
    np.testing.assert_allclose(again.predict(x, ctx), sol.predict(x, ctx), rtol=1e-5, atol=1e-6)


def test_complexity_counts_macs_at_the_image_size():
    small = EfficientNet(_params(img_size=32), INFO).complexity()
    large = EfficientNet(_params(img_size=64), INFO).complexity()
    assert small["params"] == large["params"] > 0
    assert large["macs"] == pytest.approx(4 * small["macs"], rel=0.25)


def _result(cwd):
    return json.loads(next(cwd.glob("runs/*/result.json")).read_text())


def test_tiny_cli_run_on_kaggle5(cli, tmp_path):
    cli("run", "task=kaggle5", "solution=efficientnet", "preset=tiny", "progress=false", "report=false", "device=cpu")
    result = _result(tmp_path)
    assert result["tags"] == ["random-init"] and result["folds"][0]["notes"]["init"] == "random-init"
    assert result["complexity"]["macs"] > 0 and result["complexity"]["params"] > 0
    assert (next(tmp_path.glob("runs/*")) / "submission.csv").exists()
    row = list(csv.DictReader(open(tmp_path / "leaderboard.csv")))[-1]
    assert "random-init" in row["tags"].split(";") and int(row["macs"]) > 0
    assert "model_name=test_efficientnet" in row["params"]


def test_tiny_cli_run_on_one_fold_of_a_cross_validated_task(cli, tmp_path):
    cli("run", "task=esc50", "solution=efficientnet", "preset=tiny", "folds=1", "progress=false",
        "report=false", "device=cpu")
    result = _result(tmp_path)
    assert result["partial"] and [f["name"] for f in result["folds"]] == ["fold1"]
    assert result["folds"][0]["scored_on"] == "test" and result["tags"] == ["random-init"]
