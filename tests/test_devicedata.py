"""The device-resident training path: placement, batching, per-batch schedules, exact resume."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn

from bench.core import kinds
from bench.core.contracts import FitContext, TaskKind
from bench.train.augment import AugmentConfig, BatchAugment
from bench.train.callbacks import BaseCallback
from bench.train.complexity import measure
from bench.train.devicedata import DeviceData, choose_placement
from bench.train.trainer import LoopConfig, Trainer, balanced_order

GiB = 1 << 30


def test_placement_prefers_the_gpu_and_leaves_headroom():
    cuda = torch.device("cuda")
    assert choose_placement(10 * GiB, torch.device("cpu")) == "host"
    assert choose_placement(2 * GiB, cuda, free_bytes=40 * GiB) == "device"
    assert choose_placement(30 * GiB, cuda, free_bytes=40 * GiB) == "pinned"  # would leave too little


def test_host_data_is_the_feature_array_itself():
    x = np.random.default_rng(0).normal(size=(10, 1, 4, 6)).astype(np.float32)
    data = DeviceData(x, np.arange(10), "cpu")
    assert data.placement == "host" and data.x.data_ptr() == x.ctypes.data  # no copy
    xb, yb = data.take(np.array([7, 2, 2]))
    assert torch.equal(xb, torch.from_numpy(x[[7, 2, 2]])) and yb.tolist() == [7, 2, 2]
    assert torch.equal(data.slice(8, 20), torch.from_numpy(x[8:]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("placement", ["device", "pinned"])
def test_cuda_placements_give_the_same_batches(placement):
    x = np.random.default_rng(0).normal(size=(50, 1, 8, 9)).astype(np.float32)
    data = DeviceData(x, np.arange(50), "cuda", placement=placement)
    for idx in (np.arange(0, 50, 3), np.arange(49, 0, -2), np.arange(5)):  # buffers of changing size
        xb, yb = data.take(idx)
        assert xb.is_cuda and torch.equal(xb.cpu(), torch.from_numpy(x[idx])) and yb.tolist() == idx.tolist()
    assert torch.equal(data.slice(40, 60).cpu(), torch.from_numpy(x[40:]))


def test_balanced_order_evens_out_the_classes():
    y = np.array([0] * 90 + [1] * 9 + [2] * 1)
    order = balanced_order(y, np.random.default_rng(0))
    counts = np.bincount(y[order], minlength=3)
    assert len(order) == len(y) and counts.min() > 20
    assert np.array_equal(order, balanced_order(y, np.random.default_rng(0)))


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.drop(self.conv(x).mean(dim=(2, 3))))


def _trainer(workdir, epochs=4, callbacks=(), stop_after=None):
    torch.manual_seed(0)
    model = _Net()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    steps = -(-40 // 8)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=epochs * steps)
    ctx = FitContext(workdir=workdir, progress=False, log=logging.getLogger("test"), seed=5,
                     callbacks=list(callbacks))
    aug = BatchAugment(AugmentConfig(gain_p=0.5, gain_db=3, freq_masks=1, freq_width=2, mix_p=0.5), 3)
    cfg = LoopConfig(epochs, 8, patience=99, sched_step="batch", balanced=True)
    return Trainer(model, opt, sched, nn.CrossEntropyLoss(label_smoothing=0.1), ctx, cfg, augment=aug,
                   kind=kinds.of(TaskKind.CLASSIFICATION))


def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 1, 6, 10)).astype(np.float32)
    y = np.array([0] * 25 + [1] * 15 + [2] * 10)
    x[:, 0, 0, 0] += y * 2
    return x[:40], y[:40], x[40:], y[40:]


def test_per_batch_schedule_runs_its_whole_cycle(tmp_path):
    trainer = _trainer(tmp_path)
    fit = trainer.fit(*_data())
    assert trainer.sched.last_epoch == 4 * 5  # stepped once per batch
    assert trainer.opt.param_groups[0]["lr"] < 1e-2 / 25  # annealed below the cycle's starting lr
    assert len(fit.history) == 4 and 0 <= fit.history[-1]["train_accuracy"] <= 1


class _Killed(Exception):
    pass


def test_resume_after_a_kill_equals_an_uninterrupted_fit(tmp_path):
    """OneCycle state, the balanced order and the augmentation draws all survive a restart."""
    clean = _trainer(tmp_path / "clean")
    clean_fit = clean.fit(*_data())

    class Kill(BaseCallback):
        def on_epoch_end(self, epoch, row):
            if epoch == 2:
                raise _Killed

    with pytest.raises(_Killed):
        _trainer(tmp_path / "killed", callbacks=[Kill()]).fit(*_data())
    again = _trainer(tmp_path / "killed")
    fit = again.fit(*_data())
    assert fit.resumed_from == 2
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(fit.history) == strip(clean_fit.history)
    for (k, a), b in zip(clean.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_prediction_transform_is_applied_on_the_batch(tmp_path):
    trainer = _trainer(tmp_path, epochs=1)
    x = _data()[2]
    plain = trainer.predict(x)
    shifted = trainer.predict(x, transform=lambda xb: xb + 100)
    assert plain.shape == shifted.shape == (10, 3) and not torch.allclose(plain, shifted)


def test_complexity_counts_parameters_and_macs_of_one_clip():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    net.train()
    got = measure(net, (1, 8, 8))
    assert got["params"] == 4 * 9 + 4 + 256 * 5 + 5
    assert got["macs"] == 4 * 9 * 64 + 256 * 5  # conv: out channels x kernel x positions; linear: in x out
    assert net.training  # restored after the counting pass
