"""The task's metric drives the training loop; callbacks hook into it and are checkpointed.

Most tests fit `_Scripted`, a real TorchSolution whose one-parameter network is set to
a value of the test's choosing at each optimizer step (one batch per epoch), so which
epoch has the best metric and which the lowest loss is known in advance, while the
loop, the metric functions and the checkpoints are the real ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from bench import testing
from bench.core import metrics
from bench.core.contracts import AudioSpec, FeatureSpec, FitContext, TaskInfo, TaskKind
from bench.train.augment import AugmentConfig, BatchAugment
from bench.train.callbacks import BaseCallback, Callback, ReportTo
from bench.train.checkpoint import load_state
from bench.train.torch_solution import TorchSolution
from bench.train.trainer import CHECKPOINT
from solutions.audiocnn import AudioCNN

REGRESSION = TaskInfo("t", TaskKind.REGRESSION, AudioSpec(8000, 1.0), (), ("v",))
CLASSES = TaskInfo("t", TaskKind.CLASSIFICATION, AudioSpec(8000, 1.0), ("a", "b", "c"))
# outputs = scale * target: scale 3 has the better CCC (0.6 against 0.55), scale 0.3 the lower MSE
BEST_CCC_NOT_LOSS = (0.2, 3.0, 0.3)


class _Scale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * x[:, 0, 0, :1]


class _ScriptedSteps(torch.optim.Optimizer):
    """Step k sets every parameter to values[k]; the counter is in param_groups, so it is checkpointed."""

    def __init__(self, params, values) -> None:
        super().__init__(params, {"lr": 0.0, "values": list(values), "done": 0})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.fill_(group["values"][group["done"]])
            group["done"] += 1


@dataclass
class _Params:
    epochs: int = 3
    batch_size: int = 64  # more than the training clips: one step per epoch
    patience: int = 99
    scales: tuple[float, ...] = field(default=BEST_CCC_NOT_LOSS)


class _Scripted(TorchSolution):
    name = "scripted"
    description = "one scale parameter set by the test at each step"
    kinds = frozenset({TaskKind.REGRESSION})
    Params = _Params

    def feature_spec(self) -> FeatureSpec:
        return FeatureSpec("logmel", 8000, 1.0)

    def build_model(self) -> nn.Module:
        return _Scale()

    def make_optimizer(self):
        return _ScriptedSteps(self.model.parameters(), self.params.scales), None


def _data(n_train=40, n_valid=30, seed=0):
    """Targets are the standardised first feature: what `_Scale` multiplies."""
    x = np.random.default_rng(seed).normal(size=(n_train + n_valid, 1, 2, 3)).astype(np.float32)
    xt = x[:n_train]
    y = ((x[:, 0, 0, :1] - xt.mean()) / (xt.std() + 1e-6)).astype(np.float32)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _ctx(workdir: Path, metric=None, callbacks=()) -> FitContext:
    return FitContext(workdir=workdir, progress=False, log=logging.getLogger("test"),
                      metric=metric, callbacks=list(callbacks))


def _fit(workdir, metric=None, callbacks=(), **params):
    sol = _Scripted(_Params(**params), REGRESSION)
    return sol, sol.fit(*_data(), _ctx(workdir, metric, callbacks))


def _column(history, key):
    return np.array([row[key] for row in history])


def test_best_epoch_follows_the_metric_not_the_loss(tmp_path):
    reported = []
    sol, fit = _fit(tmp_path, metrics.get("ccc"), [ReportTo("valid_ccc", lambda e, v: reported.append((e, v)))])
    ccc, loss = _column(fit.history, "valid_ccc"), _column(fit.history, "valid_loss")
    assert np.argmin(loss) + 1 == 3 != int(np.argmax(ccc)) + 1  # the two really disagree here
    assert fit.best_epoch == int(np.argmax(ccc)) + 1 == 2
    assert sol.model[1].a.item() == pytest.approx(3.0)  # the best epoch's weights were restored
    x_valid, y_valid = _data()[2:]
    assert ccc[1] == pytest.approx(metrics.get("ccc")(y_valid, sol.predict(x_valid, _ctx(tmp_path))))
    assert reported == [(e + 1, v) for e, v in enumerate(ccc)]  # what a pruner sees


def test_without_a_metric_the_kind_default_drives_the_fit(tmp_path):
    _, fit = _fit(tmp_path)
    assert set(fit.history[0]) == {"epoch", "lr", "train_loss", "valid_loss", "valid_ccc", "seconds"}
    assert fit.best_epoch == 2


def test_a_metric_to_minimise_picks_its_lowest_epoch(tmp_path):
    _, fit = _fit(tmp_path, metrics.get("rmse"), scales=(0.2, 3.0, 0.3, 1.5))
    rmse = _column(fit.history, "valid_rmse")
    assert fit.best_epoch == int(np.argmin(rmse)) + 1 == 3 and np.argmax(rmse) + 1 != 3
    assert np.sqrt(_column(fit.history, "valid_loss")) == pytest.approx(rmse, rel=1e-5)


def test_early_stop_counts_epochs_without_a_better_metric(tmp_path, caplog):
    # the CCC peaks at epoch 2 while the loss falls in every later epoch
    scales = (0.05, 3.0, 0.1, 0.2, 0.3, 0.31, 0.32, 0.33)
    with caplog.at_level(logging.INFO, logger="test"):
        _, fit = _fit(tmp_path, metrics.get("ccc"), epochs=len(scales), patience=2, scales=scales)
    loss = _column(fit.history, "valid_loss")
    assert len(fit.history) == 4 and fit.best_epoch == 2  # epochs 3 and 4 did not beat epoch 2
    assert loss[3] < loss[2] < loss[0]  # stopping on the loss would have gone on
    assert "early stop: validation ccc has not improved for 2 epochs" in caplog.text


def test_a_metric_of_another_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="metric 'accuracy' reads probabilities, but regression tasks produce"):
        _fit(tmp_path, metrics.get("accuracy"))


class _Recorder(BaseCallback):
    """Counts epoch ends in its state; remembers, outside its state, what it was called with."""

    def __init__(self) -> None:
        self.state = {"ends": 0, "epochs": [], "sum": torch.zeros(())}
        self.starts: list[int] = []
        self.loaded: list[dict] = []
        self.returned: list[dict] = []

    def on_epoch_start(self, epoch, seed):
        self.starts.append(epoch)

    def on_epoch_end(self, epoch, row):
        self.state = {"ends": self.state["ends"] + 1, "epochs": [*self.state["epochs"], epoch],
                      "sum": self.state["sum"] + row["valid_ccc"]}

    def state_dict(self):
        self.returned.append(self.state)
        return self.state

    def load_state_dict(self, state):
        self.loaded.append(state)
        self.state = state


class _Stop(Exception):
    pass


class _StopAt(BaseCallback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, epoch, row):
        if epoch == self.epoch:
            raise _Stop(f"stopped at epoch {epoch}")


def test_callback_state_survives_a_resume(tmp_path):
    first = _Recorder()
    with pytest.raises(_Stop):
        _fit(tmp_path, callbacks=[first, _StopAt(2)], epochs=4, scales=(0.2, 3.0, 0.3, 0.25))
    assert first.starts == [1, 2] and first.returned[-1]["ends"] == 2

    again = _Recorder()
    sol, fit = _fit(tmp_path, callbacks=[again], epochs=4, scales=(0.2, 3.0, 0.3, 0.25))
    assert fit.resumed_from == 2 and len(fit.history) == 4
    assert len(again.loaded) == 1 and again.loaded[0]["epochs"] == first.returned[-1]["epochs"] == [1, 2]
    assert torch.equal(again.loaded[0]["sum"], first.returned[-1]["sum"])
    assert again.starts == [3, 4] and again.state["epochs"] == [1, 2, 3, 4]
    assert fit.best_epoch == 2 and sol.model[1].a.item() == pytest.approx(3.0)  # chosen before the resume


def test_a_raising_callback_ends_the_fit_after_its_epochs_checkpoint(tmp_path):
    recorder = _Recorder()
    with pytest.raises(_Stop, match="stopped at epoch 2"):
        _fit(tmp_path, callbacks=[recorder, _StopAt(2)], epochs=4, scales=(0.2, 3.0, 0.3, 0.25))
    state = load_state(tmp_path / CHECKPOINT)  # weights_only=True
    assert state["epoch"] == 2 and not state["done"] and len(state["history"]) == 2
    assert recorder.starts == [1, 2]  # epoch 3 never began
    saved = {entry["name"].rsplit(".", 1)[-1]: entry["state"] for entry in state["callbacks"]}
    assert saved["_Recorder"]["epochs"] == [1, 2] and saved["_StopAt"] == {}


def test_batch_augment_is_a_callback_that_reseeds_per_epoch():
    aug = BatchAugment(AugmentConfig(noise_p=1, noise_std=0.5), None)
    assert isinstance(aug, Callback)
    x = torch.zeros((4, 1, 3, 5)) + torch.arange(5.0)
    aug.on_epoch_start(3, seed=7)
    a = aug(x, None)[0]
    aug.reseed(7, 3)
    assert torch.equal(a, aug(x, None)[0])
    aug.on_epoch_start(4, seed=7)
    assert not torch.equal(a, aug(x, None)[0])
    assert aug.state_dict() == {}  # the draws come from (seed, epoch): nothing to checkpoint


def test_classification_reports_accuracy_and_the_chosen_metric(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 1, 32, 16)).astype(np.float32)
    y = np.arange(48) % 3
    x[:, 0, :4] += y[:, None, None] * 0.8
    sol = AudioCNN(testing.tiny_params("audiocnn", epochs=3), CLASSES)
    fit = sol.fit(x[:32], y[:32], x[32:], y[32:], _ctx(tmp_path, metrics.get("macro_f1")))
    assert list(fit.history[0]) == ["epoch", "lr", "train_loss", "train_accuracy", "valid_loss",
                                    "valid_accuracy", "valid_macro_f1", "seconds"]
    f1 = _column(fit.history, "valid_macro_f1")
    assert fit.best_epoch == int(np.argmax(f1)) + 1
    probs = sol.predict(x[32:], _ctx(tmp_path))
    assert probs.sum(1) == pytest.approx(np.ones(16), abs=1e-5)  # the kind's softmax
    assert f1[fit.best_epoch - 1] == pytest.approx(metrics.get("macro_f1")(y[32:], probs))


def test_balanced_sampling_needs_class_targets(tmp_path):
    class Balanced(_Scripted):
        def loop_config(self):
            import dataclasses

            return dataclasses.replace(super().loop_config(), balanced=True)

    with pytest.raises(ValueError, match="balanced sampling draws by class, and regression targets"):
        Balanced(_Params(), REGRESSION).fit(*_data(), _ctx(tmp_path))
