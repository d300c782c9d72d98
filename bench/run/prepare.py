"""Every clip's features, once per run: through the cache, bad files skipped or refused.

The runner, nested tuning and the tuning objective all prepare features here, so a
clip left out as bad audio is left out the same way everywhere, before any split is
drawn (`bench.protocols.splits.usable_splits` is given the clips that decoded).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.core.contracts import FeatureSpec, Task, TaskData
from bench.data.cache import FeatureCache
from bench.data.features import extract, raise_bad_files
from bench.run.folders import manifest_id
from bench.run.resolve import Resolved

log = logging.getLogger("bench")


@dataclass
class Prepared:
    """Features of the labelled and unlabelled clips, with bad files already dropped."""

    x: np.ndarray
    y: np.ndarray
    row_of: np.ndarray  # clip index -> row in x, or -1 for a skipped bad file
    x_unlabelled: np.ndarray
    unlabelled_kept: np.ndarray
    bad: list[tuple[str, str]] = field(default_factory=list)
    data_id: str = ""
    cache_hits: int = 0
    cache_misses: int = 0

    @property
    def kept(self) -> np.ndarray:
        """Indices into `TaskData.clips` of the labelled clips that decoded: what splits are drawn over."""
        return np.flatnonzero(self.row_of >= 0)


def data_manifest(data: TaskData, cache_dir: Path) -> dict[str, str]:
    """Clip id -> content hash of every labelled and unlabelled file: what the data id is made of."""
    cache = FeatureCache(cache_dir / "features")
    manifest = {}
    try:
        for c in data.clips + data.unlabelled:
            if c.path.exists():
                try:
                    manifest[c.id or str(c.path)] = cache.content_hash(c.path)
                except OSError as exc:
                    # decoding reports it as a bad file; here it only has to differ from readable bytes
                    manifest[c.id or str(c.path)] = f"unreadable: {exc.strerror}"
    finally:
        cache.close()
    return manifest


def prepare_features(task: Task, data: TaskData, spec: FeatureSpec, res: Resolved,
                     manifest: dict[str, str] | None = None) -> Prepared:
    """Every clip's features through the cache; bad files skipped or raised per `skip_bad`."""
    rc = res.runner
    if manifest is None:
        manifest = data_manifest(data, res.cache_dir)
    cache = FeatureCache(res.cache_dir / "features")
    try:
        paths = [c.path for c in data.clips]
        # both sets are read before refusing, so one error lists every bad file, test files too
        got = extract(paths, spec, cache, workers=rc.workers, skip_bad=True,
                      progress=rc.progress, label="labelled clips")
        unl = extract([c.path for c in data.unlabelled], spec, cache, workers=rc.workers,
                      skip_bad=True, progress=rc.progress, label="unlabelled clips")
    finally:
        cache.close()
    if (got.bad or unl.bad) and not rc.skip_bad:
        raise_bad_files(got.bad + unl.bad)
    row_of = np.full(len(data.clips), -1, dtype=np.int64)
    row_of[got.kept] = np.arange(len(got.kept))
    y = task.targets(data)[got.kept]
    bad = got.bad + unl.bad
    for path, reason in bad:
        log.warning("skipped bad file %s: %s", path, reason)
    return Prepared(got.x, y, row_of, unl.x, unl.kept, bad, manifest_id(manifest),
                    got.hits + unl.hits, got.misses + unl.misses)


def feature_rows(prep: Prepared, idx: np.ndarray) -> np.ndarray:
    """Feature rows of the clips at `idx`, leaving out clips skipped as bad files."""
    rows = prep.row_of[idx]
    return rows[rows >= 0]


def kept_clips(prep: Prepared, idx: np.ndarray) -> np.ndarray:
    """The clips at `idx` that decoded (indices into `TaskData.clips`), in the order of their feature rows."""
    idx = np.asarray(idx, dtype=np.int64)
    return idx[prep.row_of[idx] >= 0]
