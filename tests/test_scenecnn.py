"""scenecnn: stacked log-mel + MFCC input, any clip length, training-only noise, the parameter budget."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.core.config import ConfigError
from bench.core.contracts import AudioSpec, FitContext, TaskInfo, TaskKind
from bench.data.frontend import compute_features
from solutions.scenecnn import GaussianNoise, SceneCNN, SceneCNNParams

INFO = TaskInfo("t", TaskKind.CLASSIFICATION, AudioSpec(8000, 1.0), classes=("a", "b", "c"))


def make(**overrides) -> SceneCNN:
    return SceneCNN(SceneCNNParams(**{**SceneCNN.presets["tiny"], **overrides}), INFO)


def test_features_are_the_logmel_and_the_mfcc_stacked():
    spec = make().feature_spec()
    assert spec.kind == "logmel+mfcc" and spec.n_mfcc == spec.n_mels and spec.shape[0] == 2
    t = np.arange(8000) / 8000
    wave = torch.from_numpy((np.sin(2 * np.pi * 440 * t) + 0.1 * np.random.default_rng(0).normal(size=8000))
                            .astype(np.float32))
    both = compute_features(wave, spec)
    logmel = compute_features(wave, dataclasses.replace(spec, kind="logmel"))
    mfcc = compute_features(wave, dataclasses.replace(spec, kind="mfcc"))
    assert both.shape == spec.shape
    np.testing.assert_array_equal(both[0], logmel[0])
    np.testing.assert_allclose(both[1], mfcc[0], atol=1e-4)  # all n_mels rows: nothing padded
    assert np.abs(both[1] - both[0]).max() > 1.0


def test_the_same_weights_predict_clips_of_any_length(tmp_path):
    sol = make()
    rng = np.random.default_rng(0)
    ctx = FitContext(workdir=tmp_path, progress=False, log=logging.getLogger("test"))
    n_mels = sol.feature_spec().n_mels
    sol.fit(rng.normal(size=(12, 2, n_mels, 16)).astype(np.float32), np.arange(12) % 3, None, None, ctx)
    for frames in (16, 5, 61):
        out = sol.predict(rng.normal(size=(4, 2, n_mels, frames)).astype(np.float32), ctx)
        assert out.shape == (4, 3)
        np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-5)
    # a clip repeated in time is pooled to nearly the same summary as the clip itself
    x = rng.normal(size=(1, 2, n_mels, 16)).astype(np.float32)
    np.testing.assert_allclose(sol.predict(np.tile(x, (1, 1, 1, 4)), ctx), sol.predict(x, ctx), atol=0.05)


def test_noise_only_in_training():
    x = torch.randn(4, 2, 32, 16)
    net = make(dropout=0.0).build_model()
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))
    quiet = make(dropout=0.0, noise_std=0.0).build_model().train()
    assert torch.equal(quiet(x), quiet(x))  # the randomness in training is the noise and nothing else
    noise = GaussianNoise(0.5).train()
    assert abs(float(noise(torch.zeros(20000)).std()) - 0.5) < 0.02


def test_parameter_budget_is_checked_before_training():
    count = sum(p.numel() for p in make().build_model().parameters())
    assert make(max_params=count)  # exactly at the budget is allowed
    with pytest.raises(ConfigError, match=rf"{count:,} trainable parameters.*max_params={count - 1:,}"):
        make(max_params=count - 1)


@pytest.mark.slow
def test_cli_run_on_kaggle5(cli, tmp_path):
    proc = cli("run", "task=kaggle5", "solution=scenecnn", "preset=tiny", "progress=false", "report=false")
    run_dir = tmp_path / Path(proc.stdout.strip().splitlines()[-1])
    result = json.loads((run_dir / "result.json").read_text())
    assert result["solution"] == "scenecnn" and result["config"]["solution"]["width"] == 8
    history = result["folds"][0]["history"]
    assert len(history) == 3 and history[-1]["train_loss"] < history[0]["train_loss"]
    info = TaskInfo.from_dict(result["task_info"])
    net = SceneCNN(SceneCNNParams(**result["config"]["solution"]), info).build_model()
    assert result["complexity"]["params"] == sum(t.numel() for t in net.parameters())
    assert result["score"] == pytest.approx(max(h["valid_accuracy"] for h in history))  # the best epoch's weights
    rows = (run_dir / "submission.csv").read_text().splitlines()
    assert rows[0] == "filename,label" and len(rows) == 11  # the tiny preset's 10 test clips
    submitted = dict(r.split(",") for r in rows[1:])
    assert set(submitted.values()) <= set(result["classes"])
    root = Path(result["data"]["root"])
    answers = dict(r.split(",") for r in (root / "answers.csv").read_text().splitlines()[1:])
    assert result["extra"]["test_accuracy_hidden_labels"] == pytest.approx(
        np.mean([answers[name] == label for name, label in submitted.items()]))

    # the saved weights, reloaded by `bench predict`, label a clip as the run's own submission did
    clip = sorted((root / "test").glob("*.wav"))[0]
    path, label, conf, dist = cli("predict", f"run={run_dir}", str(clip)).stdout.strip().splitlines()[-1].split("\t")
    probs = {item.split("=")[0]: float(item.split("=")[1]) for item in dist.split()}
    assert label == submitted[clip.name] == max(probs, key=probs.get) and float(conf) == pytest.approx(probs[label])
    assert sum(probs.values()) == pytest.approx(1.0, abs=0.01)
