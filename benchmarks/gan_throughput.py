"""Training steps/s of `cgan`: its own device-resident path against a seed-style loop.

Both paths train the same networks (the solution's generator and critic, the same
initial weights and Adam settings) on the same normalised log-mel clips, with a
generator step after every `n_critic` critic steps and the EMA updated after each:

- bench: the solution's own `train_epoch` (solutions.gan.loop.GANLoop): clips held as
  one tensor on the device, batches gathered by index, real and fake scored in one
  critic forward pass, the gradient penalty in float32, one backward pass for both.
- seed-style: a torch Dataset that normalises one clip at a time on the CPU, batched by
  a DataLoader with persistent worker processes and copied to the device; real and
  fake scored in separate forward passes, and the gradient penalty its own
  forward/backward pass.

Each path trains one untimed warm-up epoch, then `--repeats` timed epochs, taking turns
with the other path; the median steps/s (critic steps plus generator steps) is printed
with clips/s and the ratio.

    python benchmarks/gan_throughput.py --device cpu
    python benchmarks/gan_throughput.py --device cuda --preset paper --frames 431 --clips 2048 --amp
"""

from __future__ import annotations

import argparse
import copy
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import header, ratio  # benchmarks/ is on the path of a script run from it

from bench.core.config import Section, apply_overrides
from bench.core.contracts import AudioSpec, FitContext, TaskInfo, TaskKind
from solutions.gan.cgan import CGAN
from solutions.gan.loop import GANLoop
from solutions.gan.losses import gradient_penalty


def build(args) -> tuple[CGAN, np.ndarray, np.ndarray]:
    section = Section("solution", "cgan", CGAN.Params)
    apply_overrides([section], {**CGAN.presets.get(args.preset, {}), "batch_size": args.batch_size,
                                "n_mels": args.n_mels})
    # 22050 Hz and hop 512 (the default): `frames` frames take (frames - 1) hops
    audio = AudioSpec(22050, (args.frames - 1) * 512 / 22050)
    sol = CGAN(section.build(), TaskInfo("benchmark", TaskKind.GENERATION, audio,
                                         tuple(f"c{i}" for i in range(args.classes))))
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(args.clips, *sol.feature_spec().shape)) * 12 - 45).astype(np.float32)
    y = rng.integers(0, args.classes, size=args.clips)
    sol.norm.fit(x)
    return sol, x, y


def _timed(args, epochs: dict) -> dict[str, list[tuple[float, float]]]:
    """One untimed warm-up epoch of each path, then the timed ones, alternating between the paths (so a
    change in the machine's load falls on both); (steps/s, clips/s) of each timed epoch by path."""
    device = torch.device(args.device)
    for run_epoch in epochs.values():
        run_epoch(0)
        _sync(device)
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in epochs}
    for epoch in range(1, args.repeats + 1):
        for name, run_epoch in epochs.items():
            t0 = time.perf_counter()
            steps, clips = run_epoch(epoch)
            _sync(device)
            elapsed = time.perf_counter() - t0
            rates[name].append((steps / elapsed, clips / elapsed))
    return rates


def bench_path(args, sol: CGAN, x: np.ndarray, y: np.ndarray):
    ctx = FitContext(workdir=Path(tempfile.mkdtemp()), device=args.device, amp=args.amp, progress=False,
                     log=logging.getLogger("benchmark"))
    loop = GANLoop(sol, ctx)
    data = loop.setup(x, y)

    def epoch(k: int) -> tuple[int, int]:
        row = sol.train_epoch(data, k, loop)
        return -(-len(x) // args.batch_size) + row["g_steps"], len(x)

    return epoch


class SeedStyleDataset(torch.utils.data.Dataset):
    """One clip at a time on the CPU: normalised per mel bin and clipped, as the seed's Dataset did."""

    def __init__(self, x, y, mean, scale):
        self.x, self.y, self.mean, self.scale = x, y, mean, scale

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        clip = np.clip((self.x[i] - self.mean) / self.scale, -1, 1)
        return torch.from_numpy(clip.astype(np.float32)), int(self.y[i])


def seed_path(args, sol: CGAN, x: np.ndarray, y: np.ndarray):
    device, p = torch.device(args.device), sol.params
    gen, critic = sol.gen.to(device).train(), sol.critic.to(device).train()
    ema = copy.deepcopy(gen).eval().requires_grad_(False)
    opt_g = torch.optim.Adam(gen.parameters(), lr=p.lr_g, betas=(p.beta1, p.beta2))
    opt_d = torch.optim.Adam(critic.parameters(), lr=p.lr_d, betas=(p.beta1, p.beta2))
    mean = sol.norm.mean.cpu().numpy()[None, :, None]
    scale = (sol.norm.clip_std * sol.norm.std).cpu().numpy()[None, :, None]
    loader = torch.utils.data.DataLoader(SeedStyleDataset(x, y, mean, scale), batch_size=args.batch_size,
                                         shuffle=True, num_workers=args.workers,
                                         persistent_workers=args.workers > 0, pin_memory=device.type == "cuda")
    amp = args.amp and device.type == "cuda"

    def epoch(k: int) -> tuple[int, int]:
        steps = 0
        for i, (real, yb) in enumerate(loader):
            real = real.to(device, non_blocking=True)
            cond = torch.nn.functional.one_hot(yb.to(device), sol.n_cond).float()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                with torch.no_grad():
                    fake = gen(torch.randn(len(real), p.latent, device=device), cond)
                loss = critic(fake.float(), cond).float().mean() - critic(real, cond).float().mean()
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            gradient_penalty(critic, real, fake, cond, p.gp_lambda).backward()  # its own pass, as the seed did
            opt_d.step()
            steps += 1
            if (i + 1) % p.n_critic == 0:
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    loss_g = -critic(gen(torch.randn(len(real), p.latent, device=device), cond), cond).float().mean()
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                with torch.no_grad():
                    for e, w in zip(ema.state_dict().values(), gen.state_dict().values()):
                        e.copy_(e * p.ema_decay + w * (1 - p.ema_decay) if e.is_floating_point() else w)
                steps += 1
        return steps, len(x)

    return epoch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--preset", default="", choices=["", "paper"], help="cgan's preset (default: its CPU size)")
    ap.add_argument("--clips", type=int, default=160)
    ap.add_argument("--frames", type=int, default=108, help="feature frames per clip")
    ap.add_argument("--n-mels", type=int, default=64)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3, help="timed epochs per path (the median is printed)")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader worker processes of the seed-style path")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA, both paths")
    args = ap.parse_args()

    header("gan_throughput", args.device)
    paths = ((f"seed-style (per-sample Dataset, DataLoader with {args.workers} workers, separate GP pass)", seed_path),
             ("bench (cgan's device-resident train_epoch)", bench_path))
    epochs = {}
    for name, path in paths:
        sol, x, y = build(args)  # fresh networks from the same seed for each path
        epochs[name] = path(args, sol, x, y)
    results = _timed(args, epochs)
    _, bins, frames = sol.feature_spec().shape
    amp = ", bf16 autocast" if args.amp and args.device.startswith("cuda") else ""
    print(f"cgan{' preset ' + args.preset if args.preset else ''}{amp}: {args.clips} clips of {bins}x{frames},"
          f" batch {args.batch_size}, n_critic {sol.params.n_critic}, one warm-up then {args.repeats} timed epochs")
    base = float(np.median([r[0] for r in next(iter(results.values()))]))
    for name, rates in results.items():
        steps = float(np.median([r[0] for r in rates]))
        clips = float(np.median([r[1] for r in rates]))
        print(f"  {name:<76} {steps:7.2f} steps/s  {clips:8.1f} clips/s  {ratio(steps, base)} of seed-style",
              flush=True)


if __name__ == "__main__":
    main()
