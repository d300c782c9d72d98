"""The CUDA paths, where a GPU is present (benchmarks/gpu_check.sh runs them on a lent GPU; skipped elsewhere).

Batch augmentation from a device generator, bf16 autocast training, predictions on the
device agreeing with the CPU, and a whole `bench run` on the GPU with its peak device
memory in the record.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from torch import nn

from bench.core import kinds, registry
from bench.core.contracts import FitContext, TaskKind
from bench.train.augment import AugmentConfig, BatchAugment
from bench.train.trainer import LoopConfig, Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _batch(n=16):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 1, 32, 40, generator=g).cuda(), torch.arange(n).cuda() % 4


def test_batch_augmentation_on_the_device_is_seeded_per_epoch():
    cfg = AugmentConfig(gain_p=0.5, gain_db=6, noise_p=0.5, noise_std=0.1, freq_masks=2, freq_width=4,
                        time_masks=2, time_width=4, mix_p=0.5, mixup_alpha=0.4)
    x, y = _batch()

    def augmented(epoch: int):
        aug = BatchAugment(cfg, 4, "cuda", seed=3)
        aug.on_epoch_start(epoch, 3)
        return aug(x.clone(), y.clone())

    (a, ya), (b, yb), (c, _) = augmented(1), augmented(1), augmented(2)
    assert a.is_cuda and torch.equal(a, b) and torch.equal(ya, yb)
    assert not torch.equal(a, c)


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def test_bf16_autocast_training_learns_and_predicts_like_the_cpu(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 64)
    x = (rng.normal(size=(64, 1, 16, 20)) + y[:, None, None, None]).astype(np.float32)
    torch.manual_seed(0)
    model = _Net()
    ctx = FitContext(workdir=tmp_path, device="cuda", amp=True, progress=False, log=logging.getLogger("test"))
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=1e-2), None, nn.CrossEntropyLoss(), ctx,
                      LoopConfig(6, 16, patience=99), kind=kinds.of(TaskKind.CLASSIFICATION))
    assert trainer.amp and trainer.amp_dtype in (torch.bfloat16, torch.float16)
    result = trainer.fit(x[:48], y[:48], x[48:], y[48:])
    losses = [h["train_loss"] for h in result.history]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    on_gpu = trainer.predict(x).float()
    with torch.no_grad():
        on_cpu = model.to("cpu").eval()(torch.from_numpy(x))
    assert torch.allclose(on_gpu, on_cpu, atol=0.1, rtol=0.05)  # bf16 rounding, not a different model


def test_a_run_on_the_gpu_records_its_device_and_peak_memory(cli, tmp_path):
    out = cli("run", "task=kaggle5", "solution=audiocnn", "preset=tiny", "device=cuda", "progress=false")
    result = json.loads((tmp_path / out.stdout.strip().splitlines()[-1] / "result.json").read_text())
    assert result["device"].startswith("cuda") and torch.cuda.get_device_name(0) in result["device"]
    assert result["memory"]["cuda_peak_allocated_mb"] > 0
    assert 0.0 <= result["score"] <= 1.0


def test_score_audio_embeds_on_the_gpu(cli, tmp_path):
    cli("score-audio", "real=task:esc50:5", "generated=task:esc50:4", "embedding=crepe", "crepe_model=tiny",
        "device=cuda", "controls=false", "bootstrap=5", "name=gpu")
    record = json.loads((tmp_path / "scores" / "gpu.json").read_text())
    assert record["dim"] == 256 and record["n"] == 20


@pytest.mark.parametrize("solution", ["cgan", "bcegan"])
def test_gans_train_in_bf16_on_the_gpu_and_generate_reproducibly(solution, tmp_path):
    from bench import testing

    cls = registry.solutions.get(solution)
    info = testing.toy_info(TaskKind.GENERATION)
    params = testing.tiny_params(solution, epochs=2)
    x, y = testing.toy_data((1, params.n_mels, 32), TaskKind.GENERATION, n=24)
    sol = cls(params, info)
    ctx = FitContext(workdir=tmp_path / "fit", device="cuda", amp=True, progress=False,
                     log=logging.getLogger("test"))
    fit = sol.fit(x[:16], y[:16], x[16:], y[16:], ctx)
    assert all(np.isfinite(row["train_loss_g"]) for row in fit.history)
    a, b = sol.generate(y, ctx), sol.generate(y, ctx)
    assert a.shape == x.shape and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
