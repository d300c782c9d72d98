"""Batch augmentation: each transform does what it says, vectorised and reproducible from (seed, epoch)."""

from __future__ import annotations

import pytest
import torch

from bench.train.augment import AugmentConfig, BatchAugment, sample_beta, sample_gamma


def _batch(n=8, f=16, t=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((n, 1, f, t), generator=g) * 10 - 40, torch.arange(n) % 4


def test_default_config_changes_nothing():
    x, y = _batch()
    xo, yo = BatchAugment(AugmentConfig(), 4)(x, y)
    assert torch.equal(xo, x) and torch.equal(yo, y) and yo.dtype == torch.int64


def test_same_seed_and_epoch_repeat_other_epochs_differ():
    cfg = AugmentConfig(gain_p=1, gain_db=6, noise_p=1, noise_std=0.1, shuffle_p=0.5, freq_masks=2, freq_width=4,
                        time_masks=2, time_width=8, mix_p=1)
    x, y = _batch()
    aug = BatchAugment(cfg, 4)
    aug.reseed(3, 1)
    a = aug(x, y)
    aug.reseed(3, 1)
    b = aug(x, y)
    aug.reseed(3, 2)
    c = aug(x, y)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_gain_adds_one_constant_per_clip_within_range():
    x, y = _batch()
    out, _ = BatchAugment(AugmentConfig(gain_p=1, gain_db=6), 4)(x, y)
    shift = out - x
    per_clip = shift.flatten(1)
    assert torch.allclose(per_clip, per_clip[:, :1].expand_as(per_clip), atol=1e-4)
    assert per_clip.abs().max() <= 6 and per_clip[:, 0].abs().min() > 0


def test_noise_scales_with_each_clips_std():
    x, y = _batch(n=4, f=64, t=200)
    x = x * torch.tensor([1.0, 2.0, 4.0, 8.0]).view(4, 1, 1, 1)
    out, _ = BatchAugment(AugmentConfig(noise_p=1, noise_std=0.1), 4)(x, y)
    ratio = (out - x).flatten(1).std(1) / x.flatten(1).std(1)
    assert torch.allclose(ratio, torch.full((4,), 0.1), rtol=0.1)


def test_time_shuffle_permutes_whole_segments():
    n, t, k = 6, 42, 4  # 42 = 4 segments of 10 and a tail of 2
    x = torch.arange(t, dtype=torch.float32).expand(n, 1, 3, t).clone()
    out, _ = BatchAugment(AugmentConfig(shuffle_p=1, shuffle_segments=k), None)(x, None)
    assert torch.equal(out[:, :, :, 40:], x[:, :, :, 40:])  # the tail stays
    starts = out[:, 0, 0, :40:10]  # the first frame of each output segment
    for row, s in zip(out[:, 0, 0], starts):
        assert sorted(s.tolist()) == [0, 10, 20, 30]
        for j, first in enumerate(s.tolist()):
            assert torch.equal(row[j * 10 : j * 10 + 10], torch.arange(first, first + 10, dtype=torch.float32))
    assert any(s.tolist() != [0, 10, 20, 30] for s in starts)


def test_masks_fill_bands_with_the_clip_mean():
    x, y = _batch(n=16, f=32, t=50)
    cfg = AugmentConfig(freq_masks=2, freq_width=5, time_masks=1, time_width=7)
    out, _ = BatchAugment(cfg, 4)(x, y)
    changed = out != x
    mean = x.mean(dim=(2, 3), keepdim=True).expand_as(x)
    assert torch.equal(out[changed], mean[changed])
    rows = changed[:, 0].all(dim=2)  # fully masked frequency rows
    cols = changed[:, 0].all(dim=1)
    assert rows.sum(1).max() <= 10 and cols.sum(1).max() <= 7
    assert rows.any() and cols.any()


@pytest.mark.parametrize("mixup_alpha,cutmix_alpha", [(0.4, 0.0), (0.0, 1.0), (0.4, 1.0)])
def test_mixed_labels_match_the_mixed_content(mixup_alpha, cutmix_alpha):
    n = 12
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 20, 30).clone()
    y = torch.arange(n)  # one class per clip: the label says which clips were mixed and how much
    cfg = AugmentConfig(mix_p=1, mixup_alpha=mixup_alpha, cutmix_alpha=cutmix_alpha)
    out, soft = BatchAugment(cfg, n)(x, y)
    assert soft.shape == (n, n) and soft.dtype == torch.float32
    assert torch.allclose(soft.sum(1), torch.ones(n))
    values = torch.arange(n, dtype=torch.float32)
    assert torch.allclose(out.mean(dim=(1, 2, 3)), soft @ values, atol=1e-4)
    assert (soft.max(1).values < 1).any()


def test_regression_targets_mix_linearly():
    n = 10
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 4, 4).clone()
    y = torch.stack([torch.arange(n, dtype=torch.float32), -torch.arange(n, dtype=torch.float32)], 1)
    out, ym = BatchAugment(AugmentConfig(mix_p=1, cutmix_alpha=0), None)(x, y)
    assert torch.allclose(ym[:, 0], out.mean(dim=(1, 2, 3)), atol=1e-5)
    assert torch.allclose(ym[:, 1], -ym[:, 0])


def test_a_batch_on_another_device_is_refused():
    aug = BatchAugment(AugmentConfig(), 4, "cpu")
    with pytest.raises(ValueError, match="got a batch on meta"):
        aug(torch.empty((2, 1, 4, 4), device="meta"), None)


@pytest.mark.parametrize("alpha", [0.2, 0.4, 1.0, 3.0])
def test_beta_sampler_has_the_right_moments(alpha):
    g = torch.Generator().manual_seed(0)
    draws = sample_beta(alpha, 40000, g, torch.device("cpu"))
    assert ((draws >= 0) & (draws <= 1)).all()
    assert draws.mean().item() == pytest.approx(0.5, abs=0.01)
    assert draws.var().item() == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.05)


@pytest.mark.parametrize("shape", [0.3, 1.0, 5.0])
def test_gamma_sampler_has_the_right_moments(shape):
    g = torch.Generator().manual_seed(1)
    draws = sample_gamma(shape, 40000, g, torch.device("cpu"))
    assert draws.mean().item() == pytest.approx(shape, rel=0.03)
    assert draws.var().item() == pytest.approx(shape, rel=0.06)
