"""Training samples/s: bench's device-resident path against a seed-style per-sample DataLoader path.

Both paths train the same timm model, from the same initial weights, on the same
log-mel features with the same augmentations and optimizer:

- bench: features held as one tensor (bench.train.devicedata); each batch is an index
  gather, augmented as a whole batch on the device (bench.train.augment), resized to the
  image size inside the model (solutions.efficientnet.ToImage), class-balanced order.
- seed-style: a torch Dataset that converts, resizes and augments one clip at a time
  on the CPU (numpy masks, noise, gain, segment shuffle), batched by a DataLoader
  with worker processes, then mixup on the batch and a copy to the device.

    python benchmarks/train_throughput.py --device cpu
    python benchmarks/train_throughput.py --device cuda --clips 2000 --model tf_efficientnetv2_m --img-size 384

--channels-last and --compile add rows for those options of the bench path.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import header, ratio  # noqa: E402

from bench.core import kinds  # noqa: E402
from bench.core.contracts import FitContext, TaskKind  # noqa: E402
from bench.train.augment import AugmentConfig, BatchAugment  # noqa: E402
from bench.train.devicedata import DeviceData  # noqa: E402
from bench.train.torch_solution import Standardize  # noqa: E402
from bench.train.trainer import LoopConfig, Trainer  # noqa: E402
from solutions.efficientnet import ToImage, _create  # noqa: E402

AUG = dict(gain_p=0.5, gain_db=6.0, noise_p=0.3, noise_std=0.05, shuffle_p=0.2, shuffle_segments=4,
           freq_masks=2, time_masks=2, mix_p=0.5, mixup_alpha=0.4, cutmix_alpha=0.0)


def make_data(n: int, n_mels: int, frames: int, n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, 1, n_mels, frames)) * 12 - 45).astype(np.float32)
    return x, rng.integers(0, n_classes, size=n)


def make_net(args, n_classes: int) -> nn.Module:
    torch.manual_seed(0)
    return _create(args.model, n_classes, args.img_size, drop_rate=0.2, drop_path_rate=0.0)


# -- bench path -------------------------------------------------------------------------


def bench_path(args, x, y, n_classes, channels_last=False, compile=False) -> float:
    device = torch.device(args.device)
    std = Standardize()
    std.fit(x)
    model = nn.Sequential(std, nn.Sequential(ToImage(args.img_size, channels_last), make_net(args, n_classes)))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cfg = AugmentConfig(freq_width=x.shape[2] // 10, time_width=x.shape[3] // 10, **AUG)
    aug = BatchAugment(cfg, n_classes, device)
    ctx = FitContext(workdir=Path(tempfile.mkdtemp()), device=args.device, amp=True, progress=False,
                     log=logging.getLogger("benchmark"))
    loop = LoopConfig(args.epochs, args.batch_size, 99, balanced=True, channels_last=channels_last, compile=compile)
    trainer = Trainer(model, opt, None, nn.CrossEntropyLoss(label_smoothing=0.1), ctx, loop, augment=aug,
                      kind=kinds.of(TaskKind.CLASSIFICATION))
    model.to(device, memory_format=trainer.memory_format)
    data = DeviceData(x, y, device)
    trainer._train_epoch(DeviceData(x[: args.batch_size], y[: args.batch_size], device), 0)  # warm-up (and compile)
    _sync(device)
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        trainer._train_epoch(data, epoch)
    _sync(device)
    return args.epochs * len(x) / (time.perf_counter() - t0)


# -- seed-style path --------------------------------------------------------------------


class SeedStyleDataset(torch.utils.data.Dataset):
    """One clip at a time on the CPU: standardise, resize to an RGB image, augment."""

    def __init__(self, x, y, img_size, mean, std, seed=0):
        self.x, self.y, self.img, self.mean, self.std = x, y, img_size, mean, std
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        spec = self.x[i, 0].copy()
        r = self.rng
        if r.random() < AUG["gain_p"]:
            spec += r.uniform(-AUG["gain_db"], AUG["gain_db"])
        if r.random() < AUG["noise_p"]:
            spec += r.normal(size=spec.shape).astype(np.float32) * spec.std() * AUG["noise_std"]
        if r.random() < AUG["shuffle_p"]:
            seg = spec.shape[1] // AUG["shuffle_segments"]
            parts = [spec[:, k * seg : (k + 1) * seg] for k in r.permutation(AUG["shuffle_segments"])]
            spec = np.concatenate(parts + [spec[:, AUG["shuffle_segments"] * seg :]], axis=1)
        for axis, count in ((0, AUG["freq_masks"]), (1, AUG["time_masks"])):
            for _ in range(count):
                w = r.integers(0, spec.shape[axis] // 10 + 1)
                s = r.integers(0, spec.shape[axis] - w + 1)
                idx = (slice(s, s + w), slice(None)) if axis == 0 else (slice(None), slice(s, s + w))
                spec[idx] = spec.mean()
        t = torch.from_numpy((spec - self.mean) / self.std)[None, None]
        img = nn.functional.interpolate(t, size=(self.img, self.img), mode="bilinear", align_corners=False)[0]
        return img.expand(3, -1, -1).contiguous(), int(self.y[i])


def seed_path(args, x, y, n_classes) -> float:
    device = torch.device(args.device)
    net = make_net(args, n_classes).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    ds = SeedStyleDataset(x, y, args.img_size, float(x.mean()), float(x.std()))
    weights = 1.0 / np.bincount(y)[y]
    sampler = torch.utils.data.WeightedRandomSampler(weights, len(y), replacement=True)
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers,
                                         pin_memory=device.type == "cuda")
    amp = device.type == "cuda"

    def epoch(batches=None):
        net.train()
        for k, (xb, yb) in enumerate(loader):
            if batches is not None and k >= batches:
                break
            xb, yb = xb.to(device), yb.to(device)
            lam = np.random.beta(0.4, 0.4)
            perm = torch.randperm(len(xb), device=device)
            xb = lam * xb + (1 - lam) * xb[perm]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                out = net(xb)
                loss = lam * loss_fn(out.float(), yb) + (1 - lam) * loss_fn(out.float(), yb[perm])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    epoch(batches=1)  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        epoch()
    _sync(device)
    return args.epochs * len(x) / (time.perf_counter() - t0)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default="test_efficientnet",
                    help="timm model name (the default is tiny, so the data path is what is timed)")
    ap.add_argument("--img-size", type=int, default=128)
    ap.add_argument("--clips", type=int, default=128)
    ap.add_argument("--n-mels", type=int, default=128)
    ap.add_argument("--frames", type=int, default=251, help="5 s at hop 640 / 32 kHz; the seed used 501")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=1, help="timed epochs per path")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers of the seed-style path")
    ap.add_argument("--channels-last", action="store_true", help="also time the bench path with channels_last")
    ap.add_argument("--compile", action="store_true", help="also time the bench path with torch.compile")
    args = ap.parse_args()

    header("train_throughput", args.device)
    print(f"model {args.model} at {args.img_size}x{args.img_size}, {args.clips} clips of 1x{args.n_mels}x{args.frames}"
          f" log-mel, batch {args.batch_size}, {args.epochs} timed epoch(s) per path after one warm-up batch")
    x, y = make_data(args.clips, args.n_mels, args.frames, args.classes)
    rows = [("seed-style (per-sample Dataset + DataLoader, %d workers)" % args.workers, seed_path(args, x, y, args.classes)),
            ("bench (device-resident features, batch augmentation)", bench_path(args, x, y, args.classes))]
    if args.channels_last:
        rows.append(("bench + channels_last", bench_path(args, x, y, args.classes, channels_last=True)))
    if args.compile:
        rows.append(("bench + torch.compile", bench_path(args, x, y, args.classes, compile=True)))
    base = rows[0][1]
    for name, rate in rows:
        print(f"  {name:<60} {rate:8.1f} samples/s   {ratio(rate, base)} of seed-style")


if __name__ == "__main__":
    main()
