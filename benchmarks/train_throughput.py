"""Training samples/s of real solutions: bench's training path against a seed-style per-sample DataLoader.

For each solution (`audiocnn`; `efficientnet` with `--model`, efficientnet_b0 on a
CPU, tf_efficientnetv2_m at 384 px with AMP on a GPU), both paths train the same
network from the same initial weights on the same log-mel features, with the
solution's own optimizer, loss and (efficientnet) augmentations:

- bench: the solution's own Trainer (`TorchSolution._trainer`): features held as one
  tensor, batches gathered by index, augmented as whole batches on the device
  (efficientnet: resized to the image size inside the model, class-balanced order).
- seed-style: a torch Dataset that standardises (and for efficientnet resizes and
  augments) one clip at a time on the CPU, batched by a DataLoader with persistent
  worker processes, copied to the device.

Each path runs in its own process (its peak memory is its own), trains one warm-up
epoch that is not timed (worker start-up, cuDNN autotuning, first-call costs), then
`--repeats` timed epochs; the table gives the median samples/s with the slowest and
fastest epoch, and peak memory (host resident; on CUDA, peak allocated).

    python benchmarks/train_throughput.py --device cpu
    python benchmarks/train_throughput.py --device cuda --model tf_efficientnetv2_m --img-size 384 --amp
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import header, ratio  # noqa: E402

from bench.core import registry  # noqa: E402
from bench.core.config import Section, apply_overrides  # noqa: E402
from bench.core.contracts import AudioSpec, FitContext, TaskInfo, TaskKind  # noqa: E402
from bench.train.devicedata import DeviceData  # noqa: E402

# the tasks' audio: kaggle5's 22050 Hz, 4 s for audiocnn; the efficientnet recipe's 32 kHz, 5 s
AUDIO = {"audiocnn": AudioSpec(22050, 4.0), "efficientnet": AudioSpec(32000, 5.0)}


def build(args, name: str):
    """The registered solution with the benchmark's settings, its (N, C, F, T) features and labels."""
    cls = registry.solutions.get(name)
    overrides = {"batch_size": args.batch_size, "epochs": args.repeats + 1}
    if name == "efficientnet":
        overrides.update(model_name=args.model, img_size=args.img_size, drop_path_rate=0.0)
    section = Section("solution", name, cls.Params)
    apply_overrides([section], overrides)
    info = TaskInfo("benchmark", TaskKind.CLASSIFICATION, AUDIO[name], tuple(f"c{i}" for i in range(args.classes)))
    sol = cls(section.build(), info)
    shape = sol.feature_spec().shape
    rng = np.random.default_rng(0)
    n = args.clips[name]
    x = (rng.normal(size=(n, *shape)) * 12 - 45).astype(np.float32)
    return sol, x, rng.integers(0, args.classes, size=n)


def _ctx(args) -> FitContext:
    return FitContext(workdir=Path(tempfile.mkdtemp()), device=args.device, amp=args.amp, progress=False,
                      log=logging.getLogger("benchmark"))


def _timed_epochs(args, run_epoch) -> list[float]:
    """One untimed warm-up epoch, then the timed ones; samples/s of each."""
    device = torch.device(args.device)
    run_epoch(0)
    _sync(device)
    rates = []
    for epoch in range(1, args.repeats + 1):
        t0 = time.perf_counter()
        n = run_epoch(epoch)
        _sync(device)
        rates.append(n / (time.perf_counter() - t0))
    return rates


# -- bench path -------------------------------------------------------------------------


def bench_path(args, name: str) -> list[float]:
    from bench.train.torch_solution import Standardize

    sol, x, y = build(args, name)
    ctx = _ctx(args)
    torch.manual_seed(0)
    sol.model = nn.Sequential(Standardize(), sol.build_model())
    sol.model[0].fit(x)
    sol.steps_per_epoch = -(-len(x) // args.batch_size)
    trainer = sol._trainer(ctx, sol.make_augment(ctx), sol.make_callbacks(ctx))
    sol.model.to(trainer.device, memory_format=trainer.memory_format)
    data = DeviceData(x, y, trainer.device)

    def epoch(k: int) -> int:
        trainer._train_epoch(data, k)
        return len(x)

    return _timed_epochs(args, epoch)


# -- seed-style path --------------------------------------------------------------------


class SeedStyleDataset(torch.utils.data.Dataset):
    """One clip at a time on the CPU: standardise; for an image model also augment and resize to RGB."""

    def __init__(self, x, y, mean, std, img_size=None, seed=0):
        self.x, self.y, self.mean, self.std, self.img = x, y, mean, std, img_size
        self.seed = seed

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        spec = self.x[i, 0].copy()
        if self.img is None:
            return torch.from_numpy((spec - self.mean) / self.std)[None], int(self.y[i])
        r = np.random.default_rng((self.seed, i, int(torch.initial_seed() % 2**31)))
        if r.random() < 0.5:
            spec += r.uniform(-6, 6)  # gain, dB
        if r.random() < 0.3:
            spec += r.normal(size=spec.shape).astype(np.float32) * spec.std() * 0.05
        if r.random() < 0.2:  # time-segment shuffle
            seg = spec.shape[1] // 4
            spec = np.concatenate([spec[:, k * seg: (k + 1) * seg] for k in r.permutation(4)]
                                  + [spec[:, 4 * seg:]], axis=1)
        for axis in (0, 1):  # SpecAugment: two masks on each axis
            for _ in range(2):
                w = r.integers(0, spec.shape[axis] // 10 + 1)
                s = r.integers(0, spec.shape[axis] - w + 1)
                spec[(slice(s, s + w), slice(None)) if axis == 0 else (slice(None), slice(s, s + w))] = spec.mean()
        t = torch.from_numpy((spec - self.mean) / self.std)[None, None]
        img = nn.functional.interpolate(t, size=(self.img, self.img), mode="bilinear", align_corners=False)[0]
        return img.expand(3, -1, -1).contiguous(), int(self.y[i])


def seed_path(args, name: str) -> list[float]:
    sol, x, y = build(args, name)
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = sol.build_model()
    image = name == "efficientnet"
    if image:
        net = net[1]  # the seed resized on the CPU, in the Dataset, instead of bench's ToImage
    net.to(device)
    p = sol.params
    if image:
        opt = torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        loss_fn = nn.CrossEntropyLoss(label_smoothing=p.label_smoothing)
        weights = 1.0 / np.bincount(y)[y]
        sampler = torch.utils.data.WeightedRandomSampler(weights, len(y), replacement=True)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=p.lr)
        loss_fn = nn.CrossEntropyLoss()
        sampler = None
    ds = SeedStyleDataset(x, y, float(x.mean()), float(x.std()) + 1e-6, p.img_size if image else None)
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, sampler=sampler, shuffle=sampler is None,
                                         num_workers=args.workers, persistent_workers=args.workers > 0,
                                         pin_memory=device.type == "cuda")
    amp = args.amp and device.type == "cuda"

    def epoch(k: int) -> int:
        net.train()
        n = 0
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                if image:  # mixup on the batch, as the seed did
                    lam = float(np.random.beta(0.4, 0.4))
                    perm = torch.randperm(len(xb), device=device)
                    out = net(lam * xb + (1 - lam) * xb[perm]).float()
                    loss = lam * loss_fn(out, yb) + (1 - lam) * loss_fn(out, yb[perm])
                else:
                    loss = loss_fn(net(xb).float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n += len(xb)
        return n

    return _timed_epochs(args, epoch)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# -- one path in its own process -----------------------------------------------------------


def child(args) -> None:
    """Time one (solution, path) and print its figures as one JSON line."""
    from bench.run.folders import peak_memory, reset_peak_memory

    reset_peak_memory(args.device)
    rates = (bench_path if args.path == "bench" else seed_path)(args, args.solution)
    print("RESULT " + json.dumps({"rates": rates, **peak_memory(args.device)}))


def run_child(argv: list[str], solution: str, path: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--solutions", solution, "--path", path,
           "--solution", solution]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"{solution} {path} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[-1][len("RESULT "):])


def describe(solution: str, args) -> str:
    sol, x, _ = build(args, solution)
    what = f"{args.model} at {args.img_size}x{args.img_size}" if solution == "efficientnet" else "seed CNN"
    amp = ", bf16 autocast" if args.amp and args.device.startswith("cuda") else ""
    return (f"{solution} ({what}{amp}): {len(x)} clips of {'x'.join(map(str, x.shape[1:]))} log-mel, batch"
            f" {args.batch_size}, one warm-up epoch then {args.repeats} timed epochs per path")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--solutions", nargs="+", default=["audiocnn", "efficientnet"], choices=["audiocnn", "efficientnet"])
    ap.add_argument("--model", default=None, help="efficientnet's timm model (default: efficientnet_b0 on a CPU,"
                    " tf_efficientnetv2_m on a GPU)")
    ap.add_argument("--img-size", type=int, default=None, help="efficientnet's image size (default 224 on a CPU, 384 on a GPU)")
    ap.add_argument("--clips", type=int, default=None, help="clips per epoch (default: by solution and device)")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3, help="timed epochs per path (the median is printed)")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader worker processes of the seed-style path")
    ap.add_argument("--amp", action="store_true", help="mixed precision (bf16 autocast) on CUDA, both paths")
    ap.add_argument("--out", type=Path, default=None, help="also append the table to this file")
    ap.add_argument("--path", choices=["bench", "seed"], help=argparse.SUPPRESS)
    ap.add_argument("--solution", help=argparse.SUPPRESS)
    args = ap.parse_args()
    gpu = args.device.startswith("cuda")
    args.model = args.model or ("tf_efficientnetv2_m" if gpu else "efficientnet_b0")
    args.img_size = args.img_size or (384 if gpu else 224)
    clips = {"audiocnn": 8192 if gpu else 1024, "efficientnet": 2048 if gpu else 96}
    args.clips = {k: args.clips or v for k, v in clips.items()}
    if args.path:
        child(args)
        return

    argv = [a for a in sys.argv[1:]]
    lines = []
    head = header("train_throughput", args.device)
    lines.append(head)
    for solution in args.solutions:
        lines.append(describe(solution, args))
        rows = [("seed-style (per-sample Dataset, DataLoader with %d persistent workers)" % args.workers,
                 run_child(argv, solution, "seed")),
                ("bench (the solution's own training path)", run_child(argv, solution, "bench"))]
        base = float(np.median(rows[0][1]["rates"]))
        for name, r in rows:
            med = float(np.median(r["rates"]))
            cuda = f", {r['cuda_peak_allocated_mb']:,.0f} MiB on the GPU" if "cuda_peak_allocated_mb" in r else ""
            lines.append(f"  {name:<72} {med:9.1f} samples/s (epochs {min(r['rates']):.1f}–{max(r['rates']):.1f})"
                         f"  {ratio(med, base)} of seed-style   peak {r['host_peak_rss_mb']:,.0f} MiB host{cuda}")
        for line in lines[-3:]:
            print(line, flush=True)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
