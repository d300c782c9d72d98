"""The spectrogram GANs (solutions/gan): losses by hand, conditioning, EMA, resume, selection, reproducibility.

The conformance kit (tests/test_contracts.py) already fits, generates, saves and
reloads both; these tests check what the kit cannot: the gradient penalty's value,
the label map and the projection term, the EMA arithmetic, that a killed and resumed
fit ends bitwise equal to an uninterrupted one, that the best generator is the one
with the lowest valid_kernel, and that the condition changes what is generated.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from bench.core import metrics
from bench.core.contracts import AudioSpec, FitContext, TaskInfo, TaskKind
from bench.testing import tiny_params
from bench.train.callbacks import BaseCallback, ReportTo
from bench.train.checkpoint import CheckpointError, load_state
from solutions.gan import loop
from solutions.gan.base import GANSolution
from solutions.gan.bcegan import BCEGAN
from solutions.gan.cgan import CGAN
from solutions.gan.losses import EMA, gradient_penalty
from solutions.gan.nets import Critic, Generator, one_hot

INFO = TaskInfo("t", TaskKind.GENERATION, AudioSpec(8000, 1.0), ("a", "b", "c"))  # 16 frames at hop 512
BOTH = [CGAN, BCEGAN]


def _ctx(workdir: Path, seed: int = 0, **kw) -> FitContext:
    return FitContext(workdir=workdir, seed=seed, progress=False, log=logging.getLogger("test_gan"), **kw)


def _data(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 1, 16, 16)) * 10 - 40).astype(np.float32), np.arange(n) % 3


def _fit(cls, workdir: Path, epochs: int = 3, callbacks=(), x_valid=True, **params) -> tuple[GANSolution, object]:
    sol = cls(tiny_params(cls, epochs=epochs, **params), INFO)
    x, y = _data()
    valid = (x[16:], y[16:]) if x_valid else (None, None)
    return sol, sol.fit(x[:16], y[:16], *valid, _ctx(workdir, callbacks=list(callbacks)))


# -- the gradient penalty ---------------------------------------------------------------


def test_gradient_penalty_of_a_linear_critic_is_lambda_times_squared_norm_gap():
    w = torch.tensor([1.0, -2.0, 0.0, 2.0], requires_grad=True)  # ||w|| = 3

    def critic(x, cond):
        return (x.flatten(1) * w).sum(1)

    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    gp = gradient_penalty(critic, real, fake, torch.zeros(5, 3), weight=10.0)
    assert gp.item() == pytest.approx(10 * (3 - 1) ** 2, rel=1e-5)
    gp.backward()  # the penalty trains the critic: d/dw of 10 (||w|| - 1)^2 is 20 (||w|| - 1) w / ||w||
    torch.testing.assert_close(w.grad, 20 * 2 * w.detach() / 3)


def test_gradient_penalty_of_a_quadratic_critic_at_given_interpolates():
    # f(x) = ||x||^2 / 2 has gradient x: the norm is that of the interpolate itself
    def critic(x, cond):
        return 0.5 * x.flatten(1).pow(2).sum(1)

    real = torch.tensor([[2.0, 0.0], [3.0, 4.0], [0.0, 0.0]]).view(3, 1, 1, 2)
    fake = torch.tensor([[0.0, 0.0], [0.0, 0.0], [6.0, 8.0]]).view(3, 1, 1, 2)
    alpha = torch.tensor([0.5, 1.0, 0.5]).view(3, 1, 1, 1)
    # interpolates (1, 0), (3, 4), (3, 4): norms 1, 5, 5 -> (0 + 16 + 16) / 3, times lambda
    gp = gradient_penalty(critic, real, fake, torch.zeros(3, 1), weight=10.0, alpha=alpha)
    assert gp.item() == pytest.approx(10 * 32 / 3, rel=1e-6)


# -- the EMA --------------------------------------------------------------------------------


def test_ema_step_by_hand_and_warmup():
    net = nn.Linear(3, 2)
    ema = EMA(net, decay=0.9, warmup=False)
    before = {k: v.clone() for k, v in ema.model.state_dict().items()}
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    ema.update(net)
    for k, v in net.state_dict().items():
        torch.testing.assert_close(ema.model.state_dict()[k], 0.9 * before[k] + 0.1 * v)
    warm = EMA(net, decay=0.999)
    assert warm.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0) before the first update
    warm.updates = 100_000
    assert warm.current_decay() == 0.999


def test_ema_with_decay_zero_follows_weights_and_batchnorm_buffers_exactly():
    gen = Generator(4, 3, (8, 8), 2, 4, batchnorm=True)
    ema = EMA(gen, decay=0.0)
    opt = torch.optim.Adam(gen.parameters(), lr=1e-2)
    for step in range(5):
        out = gen(torch.randn(6, 4), one_hot(torch.arange(6) % 3, 3))
        opt.zero_grad()
        out.pow(2).mean().backward()
        opt.step()
        ema.update(gen)
    live, avg = gen.state_dict(), ema.model.state_dict()
    assert any("running_mean" in k for k in live)
    assert all(torch.equal(live[k], avg[k]) for k in live)


# -- conditioning -----------------------------------------------------------------------


def test_concat_critic_reads_a_label_map_per_class_as_second_channel():
    critic = Critic(n_cond=3, blocks=2, width=4, condition="concat")
    seen = []
    critic.convs.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    x = torch.randn(3, 1, 16, 12)
    critic(x, one_hot(torch.tensor([0, 1, 2]), 3))
    (inp,) = seen
    assert inp.shape == (3, 2, 16, 12)
    torch.testing.assert_close(inp[:, :1], x)
    for c, value in enumerate([-1.0, 0.0, 1.0]):  # the class index scaled into [-1, 1]
        torch.testing.assert_close(inp[c, 1], torch.full((16, 12), value))


def test_projection_critic_score_differs_between_classes_by_the_projection_term():
    torch.manual_seed(0)
    critic = Critic(n_cond=3, blocks=2, width=4, condition="projection").eval()
    x = torch.randn(4, 1, 16, 12)
    y, y2 = one_hot(torch.tensor([0, 1, 2, 0]), 3), one_hot(torch.tensor([1, 2, 0, 2]), 3)
    with torch.no_grad():
        h = critic.features(x, y)
        diff = critic(x, y) - critic(x, y2)
        expected = ((critic.embed(y) - critic.embed(y2)) * h).sum(1)
    assert diff.abs().min() > 0
    torch.testing.assert_close(diff, expected)


# -- fit, resume, selection -------------------------------------------------------------


def _timeless(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


class _Stop(BaseCallback):
    def __init__(self, after: int) -> None:
        self.after = after

    def on_epoch_end(self, epoch, row):
        if epoch == self.after:
            raise KeyboardInterrupt(f"killed after epoch {epoch}")


@pytest.mark.parametrize("cls", BOTH, ids=lambda c: c.name)
def test_killed_and_resumed_fit_equals_uninterrupted(cls, tmp_path):
    clean, clean_fit = _fit(cls, tmp_path / "clean", epochs=4)
    with pytest.raises(KeyboardInterrupt):
        _fit(cls, tmp_path / "killed", epochs=4, callbacks=[_Stop(2)])
    resumed, resumed_fit = _fit(cls, tmp_path / "killed", epochs=4)
    assert clean_fit.resumed_from is None and resumed_fit.resumed_from == 2
    assert _timeless(clean_fit.history) == _timeless(resumed_fit.history)
    assert all(row["g_steps"] >= 1 for row in clean_fit.history)  # 16 clips: two critic batches per epoch
    for a, b in ((clean.gen, resumed.gen), (clean.critic, resumed.critic), (clean.ema.model, resumed.ema.model)):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    labels = np.array([0, 1, 2, 2])
    assert np.array_equal(clean.generate(labels, _ctx(tmp_path)), resumed.generate(labels, _ctx(tmp_path)))


def test_best_epoch_is_the_lowest_valid_kernel_and_its_ema_is_kept(tmp_path, monkeypatch):
    scripted = iter([3.0, 1.0, 2.0, 4.0, 5.0, 6.0])
    monkeypatch.setattr(loop.GANLoop, "_per_class", lambda self, fake: next(scripted))
    snapshots = {}

    class Snapshot(BaseCallback):
        def on_epoch_end(self, epoch, row):
            snapshots[epoch] = {k: v.clone() for k, v in sol.ema.model.state_dict().items()}

    sol = CGAN(tiny_params(CGAN, epochs=6, patience=2), INFO)
    x, y = _data()
    fit = sol.fit(x[:16], y[:16], x[16:], y[16:], _ctx(tmp_path, callbacks=[Snapshot()]))
    assert [r["valid_kernel"] for r in fit.history] == [3.0, 1.0, 2.0, 4.0]  # patience 2 ends it at epoch 4
    assert fit.best_epoch == 2
    final = sol.ema.model.state_dict()
    assert all(torch.equal(final[k], snapshots[2][k]) for k in final)
    assert not all(torch.equal(final[k], snapshots[4][k]) for k in final)


def test_valid_kernel_every_eval_every_epochs_and_the_last_epoch_without_validation(tmp_path):
    _, fit = _fit(CGAN, tmp_path / "a", epochs=5, eval_every=2)
    assert [r["epoch"] for r in fit.history if "valid_kernel" in r] == [2, 4, 5]
    kernels = {r["epoch"]: r["valid_kernel"] for r in fit.history if "valid_kernel" in r}
    assert fit.best_epoch == min(kernels, key=kernels.get)
    _, fit = _fit(BCEGAN, tmp_path / "b", epochs=3, x_valid=False)
    assert fit.best_epoch == 3 and not any("valid_kernel" in r for r in fit.history)


def test_callbacks_see_every_row_with_the_tasks_metric(tmp_path):
    seen = []
    sol = BCEGAN(tiny_params(BCEGAN, epochs=3), INFO)
    x, y = _data()
    ctx = _ctx(tmp_path, metric=metrics.get("frechet_logmel"),
               callbacks=[ReportTo("valid_frechet_logmel", lambda epoch, value: seen.append(epoch))])
    fit = sol.fit(x[:16], y[:16], x[16:], y[16:], ctx)
    assert seen == [1, 2, 3]
    keys = set(fit.history[0])
    assert {"train_loss_g", "train_loss_d", "train_d_real_acc", "train_d_fake_acc", "g_steps", "seconds",
            "valid_kernel", "lr_g", "lr_d"} <= keys
    assert fit.history[1]["lr_d"] == pytest.approx(fit.history[0]["lr_d"] * 0.99)  # ExponentialLR per epoch
    state = load_state(tmp_path / loop.CHECKPOINT)
    assert state["done"] and state["epoch"] == 3


# -- generate, save, load ---------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    sol, fit = _fit(CGAN, tmp_path_factory.mktemp("cgan"), epochs=2)
    assert {"train_gp", "train_critic_real", "train_critic_fake"} <= set(fit.history[0])
    return sol


def test_generation_is_reproducible_by_seed_and_in_the_inputs_db_scale(fitted, tmp_path):
    labels = np.array([0, 1, 2, 0, 1])
    a = fitted.generate(labels, _ctx(tmp_path, seed=7))
    torch.randn(100)  # the global RNG plays no part
    assert a.dtype == np.float32 and a.shape == (5, 1, 16, 16)
    assert np.array_equal(a, fitted.generate(labels, _ctx(tmp_path, seed=7)))
    assert not np.allclose(a, fitted.generate(labels, _ctx(tmp_path, seed=8)))
    # denormalised: within each bin's mean +- clip_std * std of the training clips (about -40 +- 30 dB)
    mean, std = fitted.norm.mean.numpy()[:, None], fitted.norm.std.numpy()[:, None]
    assert (a >= mean - 3 * std - 1e-3).all() and (a <= mean + 3 * std + 1e-3).all() and a.mean() < -20


def test_reload_generates_the_same_and_refuses_what_does_not_fit(fitted, tmp_path):
    labels = np.array([2, 1, 0])
    fitted.save(tmp_path / "model")
    again = CGAN(tiny_params(CGAN), INFO)
    again.load_state(tmp_path / "model")
    assert np.array_equal(again.generate(labels, _ctx(tmp_path)), fitted.generate(labels, _ctx(tmp_path)))
    torch.testing.assert_close(again.norm.mean, fitted.norm.mean)
    with pytest.raises(CheckpointError, match="not found"):
        again.load_state(tmp_path / "nothing")
    with pytest.raises(CheckpointError, match="shape"):
        CGAN(tiny_params(CGAN, n_mels=32), INFO).load_state(tmp_path / "model")
    with pytest.raises(CheckpointError, match="weights do not fit"):
        CGAN(tiny_params(CGAN, g_width=8), INFO).load_state(tmp_path / "model")


def test_complexity_counts_both_networks(fitted):
    c = fitted.complexity()
    assert c["params"] == c["generator_params"] + c["critic_params"]
    assert c["generator_params"] == sum(p.numel() for p in fitted.gen.parameters())
    assert c["generator_macs"] > 0 and c["critic_macs"] > 0


# -- the condition matters --------------------------------------------------------------


def _bands(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 0: loud low mel bins and quiet high ones; class 1 the other way round."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, 1, 16, 16)) * 3 - 60
    x[y == 0, :, :8] += 40
    x[y == 1, :, 8:] += 40
    return x.astype(np.float32), y


# fast enough for 40 epochs of 64 clips (160 generator steps for cgan) to separate the classes;
# seeds 0-5 all gave 18-42 dB on the machine of the README
TOY = {CGAN: {"lr_g": 2e-3, "lr_d": 2e-3}, BCEGAN: {"lr_g": 4e-3, "lr_d": 2e-3}}


@pytest.mark.parametrize("cls", BOTH, ids=lambda c: c.name)
def test_generated_clips_follow_their_class(cls, tmp_path):
    info = TaskInfo("t", TaskKind.GENERATION, AudioSpec(8000, 1.0), ("low", "high"))
    sol = cls(tiny_params(cls, epochs=40, g_width=8, d_width=8, batch_size=16, beta1=0.0, **TOY[cls]), info)
    x, y = _bands(64, 0)
    xv, yv = _bands(16, 1)
    sol.fit(x, y, xv, yv, _ctx(tmp_path))
    out = sol.generate(np.repeat([0, 1], 20), _ctx(tmp_path, seed=3))
    low, high = out[:, 0, :8].mean((1, 2)), out[:, 0, 8:].mean((1, 2))
    assert low[:20].mean() > low[20:].mean() + 10 and high[20:].mean() > high[:20].mean() + 10
