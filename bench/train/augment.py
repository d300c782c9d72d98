"""Batch-level augmentation of (N, C, F, T) log-mel features, on the batch's device.

Every transform is vectorised over the whole batch (one kernel per transform, no
per-clip Python loop) and draws its randomness from one `torch.Generator` that
lives on the batch's device. `BatchAugment` is a training callback
(bench.train.callbacks): the trainer calls its `on_epoch_start`, which reseeds the
generator from (seed, epoch), so an epoch's augmentations depend only on (seed, epoch)
and the batches it sees: a resumed fit repeats them exactly with no generator state
in the checkpoint.

Features are in dB, so a gain is an added constant and masks are filled with the
clip's mean (what the network sees as "nothing here" after standardisation).
Mixup and cutmix turn class indices into mixed (soft) label distributions, which
`nn.CrossEntropyLoss` accepts as targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from bench.train.callbacks import BaseCallback


@dataclass(frozen=True)
class AugmentConfig:
    """Each transform is off at its default."""

    gain_p: float = 0.0  # probability a clip gets a random gain
    gain_db: float = 0.0  # gain drawn uniformly from [-gain_db, gain_db] dB
    noise_p: float = 0.0
    noise_std: float = 0.0  # gaussian noise std, relative to the clip's own std
    shuffle_p: float = 0.0  # probability a clip's time segments are shuffled
    shuffle_segments: int = 4
    freq_masks: int = 0  # SpecAugment: masks per clip and the widest mask (bins)
    freq_width: int = 0
    time_masks: int = 0
    time_width: int = 0  # frames
    mix_p: float = 0.0  # probability a clip is mixed with another clip of the batch
    mixup_alpha: float = 0.4  # Beta(alpha, alpha) of the mixup weight
    cutmix_alpha: float = 1.0  # Beta(alpha, alpha) of the kept area; 0 turns cutmix off
    cutmix_share: float = 0.5  # of the mixed clips, the share mixed by cutmix instead of mixup

    @property
    def mixes(self) -> bool:
        return self.mix_p > 0 and (self.mixup_alpha > 0 or self.cutmix_alpha > 0)


def derive_seed(*parts: int) -> int:
    """One 63-bit seed from several integers (seed, epoch, purpose), well mixed."""
    return int(np.random.SeedSequence([int(p) % (2**63) for p in parts]).generate_state(2, np.uint64)[0] >> 1)


class BatchAugment(BaseCallback):
    """Callable (x, y) -> (x, y) for `Trainer(augment=...)`, and the callback that reseeds it per epoch.

    `n_classes` is the number of classes of a classification task (labels become
    soft when mixing is on) or None for regression targets (mixed linearly).
    """

    def __init__(self, cfg: AugmentConfig, n_classes: int | None, device: str | torch.device = "cpu",
                 seed: int = 0) -> None:
        self.cfg = cfg
        self.n_classes = n_classes
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device)
        self.reseed(seed, 0)

    def reseed(self, seed: int, epoch: int) -> None:
        self.generator.manual_seed(derive_seed(seed, epoch, 0xA06))

    def on_epoch_start(self, epoch: int, seed: int) -> None:
        self.reseed(seed, epoch)

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        c = self.cfg
        if x.device.type != self.device.type or self.device.index not in (None, x.device.index):
            raise ValueError(f"augmentation on {self.device} got a batch on {x.device}")
        x = x.float()
        if c.gain_p > 0 and c.gain_db > 0:
            x = self._gain(x)
        if c.noise_p > 0 and c.noise_std > 0:
            x = self._noise(x)
        if c.shuffle_p > 0 and c.shuffle_segments > 1:
            x = self._shuffle_time(x)
        if (c.freq_masks and c.freq_width) or (c.time_masks and c.time_width):
            x = self._masks(x)
        if c.mixes and y is not None:
            x, y = self._mix(x, y)
        return x, y

    # -- helpers ----------------------------------------------------------------------

    def _rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=self.generator, device=self.device)

    def _chosen(self, n: int, p: float) -> torch.Tensor:
        """(n, 1, 1, 1) float: 1 for the clips a transform applies to."""
        return (self._rand(n) < p).float().view(n, 1, 1, 1)

    def _gain(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        db = (self._rand(n) * 2 - 1).view(n, 1, 1, 1) * self.cfg.gain_db
        return x + db * self._chosen(n, self.cfg.gain_p)

    def _noise(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        scale = x.std(dim=(1, 2, 3), keepdim=True) * self.cfg.noise_std * self._chosen(n, self.cfg.noise_p)
        return x + scale * torch.randn(x.shape, generator=self.generator, device=self.device)

    def _shuffle_time(self, x: torch.Tensor) -> torch.Tensor:
        """Cut the time axis into equal segments and reorder them per clip (a leftover tail stays)."""
        n, ch, f, t = x.shape
        k = min(self.cfg.shuffle_segments, t)
        seg = t // k
        perm = torch.argsort(self._rand(n, k), dim=1)
        keep = self._rand(n) >= self.cfg.shuffle_p
        perm = torch.where(keep[:, None], torch.arange(k, device=self.device).expand(n, k), perm)
        idx = (perm[:, :, None] * seg + torch.arange(seg, device=self.device)).reshape(n, k * seg)
        tail = torch.arange(k * seg, t, device=self.device).expand(n, t - k * seg)
        idx = torch.cat([idx, tail], dim=1)
        return x.gather(3, idx[:, None, None, :].expand(n, ch, f, t))

    def _band(self, n: int, count: int, width: int, size: int) -> torch.Tensor:
        """(n, size) bool: union of `count` random bands of 0..width bins per clip."""
        w = torch.floor(self._rand(n, count) * (min(width, size) + 1))
        start = torch.floor(self._rand(n, count) * (size - w + 1))
        pos = torch.arange(size, device=self.device, dtype=torch.float32)
        inside = (pos >= start[..., None]) & (pos < (start + w)[..., None])  # (n, count, size)
        return inside.any(dim=1)

    def _masks(self, x: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        n, _, f, t = x.shape
        mask = torch.zeros((n, f, t), dtype=torch.bool, device=self.device)
        if c.freq_masks and c.freq_width:
            mask |= self._band(n, c.freq_masks, c.freq_width, f)[:, :, None]
        if c.time_masks and c.time_width:
            mask |= self._band(n, c.time_masks, c.time_width, t)[:, None, :]
        return torch.where(mask[:, None], x.mean(dim=(2, 3), keepdim=True), x)

    def _mix(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.cfg
        n, _, f, t = x.shape
        if self.n_classes is not None and y.dtype == torch.int64:
            y = torch.nn.functional.one_hot(y, self.n_classes).float()
        y = y.float()
        partner = torch.randperm(n, generator=self.generator, device=self.device)
        mixed = self._rand(n) < c.mix_p
        share = c.cutmix_share if c.cutmix_alpha > 0 else 0.0
        share = share if c.mixup_alpha > 0 else 1.0
        cut = mixed & (self._rand(n) < share)
        weight = torch.ones(n, device=self.device)
        out = x
        if c.mixup_alpha > 0:
            lam = sample_beta(c.mixup_alpha, n, self.generator, self.device)
            blend = lam.view(n, 1, 1, 1) * x + (1 - lam.view(n, 1, 1, 1)) * x[partner]
            use = mixed & ~cut
            out = torch.where(use.view(n, 1, 1, 1), blend, out)
            weight = torch.where(use, lam, weight)
        if share > 0:
            box = self._box(n, f, t, sample_beta(c.cutmix_alpha, n, self.generator, self.device))
            pasted = torch.where(box[:, None], x[partner], x)
            out = torch.where(cut.view(n, 1, 1, 1), pasted, out)
            kept = 1 - box.float().mean(dim=(1, 2))
            weight = torch.where(cut, kept, weight)
        w = weight.view(n, *([1] * (y.dim() - 1)))
        return out, w * y + (1 - w) * y[partner]

    def _box(self, n: int, f: int, t: int, lam: torch.Tensor) -> torch.Tensor:
        """(n, f, t) bool: a box of about (1 - lam) of the area at a random centre per clip."""
        side = torch.sqrt(1 - lam)
        cy, cx = self._rand(n) * f, self._rand(n) * t
        hy, hx = side * f / 2, side * t / 2
        rows = torch.arange(f, device=self.device, dtype=torch.float32)
        cols = torch.arange(t, device=self.device, dtype=torch.float32)
        in_y = (rows >= (cy - hy)[:, None]) & (rows < (cy + hy)[:, None])
        in_x = (cols >= (cx - hx)[:, None]) & (cols < (cx + hx)[:, None])
        return in_y[:, :, None] & in_x[:, None, :]


# Marsaglia–Tsang accepts more than 95% of proposals for shape >= 1; this many rounds
# leave an element unaccepted with probability below 1e-10 and keep the draw free of
# host synchronisation (no data-dependent loop).
_GAMMA_ROUNDS = 8


def sample_gamma(shape: float, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """n draws of Gamma(shape, 1) from `generator` (torch.distributions takes no generator)."""
    if shape <= 0:
        raise ValueError(f"gamma shape must be positive, got {shape}")
    a = shape + 1 if shape < 1 else shape
    d = a - 1 / 3
    c = 1 / math.sqrt(9 * d)
    z = torch.randn((_GAMMA_ROUNDS, n), generator=generator, device=device)
    u = torch.rand((_GAMMA_ROUNDS, n), generator=generator, device=device)
    v = (1 + c * z) ** 3
    ok = (v > 0) & (torch.log(u) < 0.5 * z * z + d - d * v + d * torch.log(v.clamp_min(1e-12)))
    first = torch.argmax(ok.int(), dim=0)  # first accepted round
    draw = (d * v).gather(0, first[None])[0]
    draw = torch.where(ok.any(dim=0), draw, torch.full_like(draw, d))
    if shape < 1:  # Gamma(a) = Gamma(a + 1) * U^(1/a)
        draw = draw * torch.rand(n, generator=generator, device=device).clamp_min(1e-12) ** (1 / shape)
    return draw


def sample_beta(alpha: float, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """n draws of Beta(alpha, alpha)."""
    g1 = sample_gamma(alpha, n, generator, device)
    g2 = sample_gamma(alpha, n, generator, device)
    return g1 / (g1 + g2).clamp_min(1e-12)
