"""Turn a list of audio files into one (N, C, F, T) array, through the feature cache.

Misses are computed in worker processes (one per core by default) and written to
the cache in batches, so an interrupted extraction keeps what it finished.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from bench.core.contracts import FeatureSpec
from bench.core.parallel import pmap
from bench.core.progress import Progress
from bench.data.audio import BadAudioError
from bench.data.cache import FeatureCache, spec_key
from bench.data.frontend import check_spec, extract_file

log = logging.getLogger("bench.data.features")

# Below this many misses, starting worker processes costs more than it saves: spawning
# two workers (each importing torch) took about 3 s on 2 cores, while one process
# extracted 160 four-second clips in 1.3 s (benchmarks/feature_extraction.py).
_PARALLEL_MIN = 1000
_BATCH = 64


_RUN_HINT = ("fix or remove them, or run with skip_bad=true to skip them (they are then listed in the"
             " report and counted in the result)")


@dataclass
class Extracted:
    x: np.ndarray  # (N_kept, C, F, T)
    kept: np.ndarray  # indices into the requested paths
    bad: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    hits: int = 0
    misses: int = 0
    seconds: float = 0.0


def _work(args: tuple[str, FeatureSpec]) -> tuple[np.ndarray | None, str | None]:
    path, spec = args
    try:
        return extract_file(path, spec), None
    except BadAudioError as exc:
        return None, exc.reason


def extract(
    paths: Sequence[Path],
    spec: FeatureSpec,
    cache: FeatureCache | None,
    *,
    workers: int = 0,
    skip_bad: bool = False,
    progress: bool = True,
    label: str = "features",
    bad_hint: str = _RUN_HINT,
) -> Extracted:
    """`bad_hint` says what to do about bad files in the words of the command that extracts."""
    check_spec(spec)
    t0 = time.perf_counter()
    key = spec_key(spec)
    out: list[np.ndarray | None] = [None] * len(paths)
    contents: list[str] = [""] * len(paths)
    missing: list[int] = []
    for i, p in enumerate(paths):
        if cache is not None:
            try:
                contents[i] = cache.content_hash(Path(p))
            except OSError:
                # missing or unreadable: decoding reports it as a bad file; not cached
                contents[i] = ""
            if contents[i]:
                out[i] = cache.get(contents[i], key, spec.shape)
        if out[i] is None:
            missing.append(i)
    hits = len(paths) - len(missing)
    bad: list[tuple[str, str]] = []
    if missing:
        log.info("%s: %d cached, computing %d", label, hits, len(missing))
        bad = _compute(paths, spec, key, cache, missing, contents, out, workers, progress, label)
    if bad and not skip_bad:
        raise_bad_files(bad, bad_hint)
    kept = np.array([i for i, a in enumerate(out) if a is not None], dtype=np.int64)
    x = np.empty((len(kept), *spec.shape), dtype=np.float32)
    for j, i in enumerate(kept):
        x[j] = out[i]
    return Extracted(x, kept, bad, hits, len(missing), time.perf_counter() - t0)


def raise_bad_files(bad: Sequence[tuple[str, str]], hint: str = _RUN_HINT) -> None:
    """One error listing every bad file, so a user fixes them all in one go."""
    listing = "\n  ".join(f"{p}: {r}" for p, r in bad[:20])
    more = f"\n  … and {len(bad) - 20} more" if len(bad) > 20 else ""
    raise BadAudioError(bad[0][0], f"{len(bad)} bad audio file(s):\n  {listing}{more}\n", hint)


def _compute(paths, spec, key, cache, missing, contents, out, workers, progress, label):
    bad: list[tuple[str, str]] = []
    pending: list[tuple[str, str, np.ndarray]] = []
    jobs = [(str(paths[i]), spec) for i in missing]
    results = pmap(_work, jobs, workers=workers, min_parallel=_PARALLEL_MIN)

    try:
        with Progress(len(missing), f"extracting {label}", enabled=progress) as bar:
            for i, (arr, reason) in zip(missing, results):
                if arr is None:
                    bad.append((str(paths[i]), reason or "unreadable"))
                else:
                    out[i] = arr
                    if cache is not None and contents[i]:
                        pending.append((contents[i], key, arr))
                if len(pending) >= _BATCH:
                    cache.put_many(pending)
                    pending = []
                bar.advance()
    finally:
        # an interrupted extraction keeps what it finished
        if pending:
            cache.put_many(pending)
    return bad
