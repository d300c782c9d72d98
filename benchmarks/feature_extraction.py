"""Files/s of log-mel extraction: bench's cached parallel frontend against per-file librosa.

On the same files of a task's embedded dataset (kaggle5 by default: mixed sample
rates, bit depths and channel counts), times

- librosa: librosa.load(sr=task rate, mono) + pad/cut + librosa.feature.melspectrogram
  + power_to_db, one file after another (what a seed notebook does);
- bench, cold cache: bench.data.features.extract into an empty feature cache (decode,
  resample and log-mel in one worker process per core, results written to SQLite);
- bench, warm cache: the same call again (content-hash lookups only);
- bench frontend, mel batched on --device: decode and resample on the CPU, then one
  batched log-mel on the device (shows what moving the transform to a GPU buys).

    python benchmarks/feature_extraction.py --device cpu --files 160
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import header, ratio  # noqa: E402

from bench.core import registry  # noqa: E402
from bench.core.config import Section, apply_overrides  # noqa: E402
from bench.core.contracts import FeatureSpec  # noqa: E402
from bench.data.cache import FeatureCache  # noqa: E402
from bench.data.features import extract  # noqa: E402
from bench.data.frontend import _mel, extract_file, load_waveform, power_to_db  # noqa: E402


def librosa_features(paths, spec: FeatureSpec) -> np.ndarray:
    import librosa

    out = []
    for p in paths:
        wave, _ = librosa.load(p, sr=spec.sample_rate, mono=True)
        wave = librosa.util.fix_length(wave, size=spec.n_samples)
        mel = librosa.feature.melspectrogram(y=wave, sr=spec.sample_rate, n_fft=spec.n_fft,
                                             hop_length=spec.hop_length, n_mels=spec.n_mels)
        out.append(librosa.power_to_db(mel, ref=1.0, top_db=spec.top_db))
    return np.stack(out)


def batched_on_device(paths, spec: FeatureSpec, device: torch.device) -> torch.Tensor:
    waves = torch.stack([load_waveform(p, spec) for p in paths]).to(device)
    with torch.no_grad():
        mel = _mel(spec).to(device)(waves)
        db = power_to_db(mel, spec.top_db)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return db


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", help="where the batched-mel row runs (bench's cached frontend is CPU)")
    ap.add_argument("--task", default="kaggle5")
    ap.add_argument("--files", type=int, default=160)
    ap.add_argument("--workers", type=int, default=0, help="bench extraction processes (0: one per core)")
    ap.add_argument("--data-cache", type=Path, default=None,
                    help="where the embedded dataset is written (default: a temporary folder)")
    args = ap.parse_args()

    header("feature_extraction", args.device)
    task_cls = registry.tasks.get(args.task)
    sec = [Section("task", args.task, task_cls.Config)]
    apply_overrides(sec, {})
    task = task_cls(sec[0].build())
    data_cache = args.data_cache or Path(tempfile.mkdtemp(prefix="bench-data-"))
    t0 = time.perf_counter()
    data = task.load(data_cache, logging.getLogger("benchmark"))
    paths = [c.path for c in data.clips][: args.files]
    audio = task.audio
    spec = FeatureSpec("logmel", audio.sample_rate, audio.clip_seconds, n_fft=1024, hop_length=512, n_mels=64)
    print(f"{len(paths)} files of task {args.task} ({audio.sample_rate} Hz, {audio.clip_seconds} s clips; dataset"
          f" ready in {time.perf_counter() - t0:.1f} s, not timed); log-mel n_fft 1024, hop 512, 64 mels")

    librosa_features(paths[:1], spec)  # first-call costs (imports, filterbanks) are not timed
    extract_file(paths[0], spec)
    ref, t_librosa = timed(librosa_features, paths, spec)
    with tempfile.TemporaryDirectory() as tmp:
        cache = FeatureCache(Path(tmp) / "features")
        try:
            cold, t_cold = timed(lambda: extract(paths, spec, cache, workers=args.workers, progress=False))
            warm, t_warm = timed(lambda: extract(paths, spec, cache, workers=args.workers, progress=False))
        finally:
            cache.close()
    batched, t_batched = timed(batched_on_device, paths, spec, torch.device(args.device))
    assert warm.hits == len(paths) and np.array_equal(cold.x, warm.x)
    diff = np.abs(cold.x[:, 0] - ref)
    same = float(np.abs(batched.cpu().numpy() - cold.x[:, 0]).max())

    rows = [("librosa, one file after another", t_librosa),
            (f"bench, cold cache ({_workers_text(args.workers, len(paths))})", t_cold),
            ("bench, warm cache", t_warm),
            (f"bench frontend, mel batched on {args.device}", t_batched)]
    for name, sec_ in rows:
        rate = len(paths) / sec_
        print(f"  {name:<45} {rate:9.1f} files/s  ({sec_:6.2f} s)  {ratio(t_librosa, sec_)} of librosa")
    print(f"|bench - librosa| in dB: median {np.median(diff):.3g}, 99th percentile {np.percentile(diff, 99):.3g}"
          f" (the resamplers differ, most in near-silent bins); batched vs per-file bench: max {same:.3g} dB")


def _workers_text(workers: int, n: int) -> str:
    from bench.data.features import _PARALLEL_MIN

    if workers == 1 or n < _PARALLEL_MIN:
        return "one process"
    return f"{workers or 'one per core'} worker processes"


if __name__ == "__main__":
    main()
