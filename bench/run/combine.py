"""Aggregating folds, and completing a cross-validation from runs of fold subsets.

`folds=1,4,7` on one machine and `folds=2,3,5,6,8,9,10` on another (run folders
copied into one runs_dir) make one cross-validation: when a fold-subset run finishes,
bench looks for finished runs with the same config hash (same task, solution,
hyperparameters and data bytes); if together they cover every fold, it writes a
combined run record that points at each fold's source run. Only complete
cross-validations enter the leaderboard.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.atomic import write_json
from bench.results.record import FoldResult, RunResult, as_result, load_result
from bench.run.folders import RESULT_JSON, mark_finished, new_run_dir, now_iso

log = logging.getLogger("bench")


def aggregate(folds: list[FoldResult] | list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± sample std of the primary score over folds, and the mean of every metric."""
    folds = [f if isinstance(f, FoldResult) else FoldResult.from_json(f) for f in folds]
    scores = np.array([f.score for f in folds], dtype=float)
    names = folds[0].metrics.keys() if folds else ()
    return {
        "score": float(scores.mean()) if len(scores) else float("nan"),
        "std": float(scores.std(ddof=1)) if len(scores) > 1 else None,
        "n_folds": len(folds),
        "fold_scores": scores.tolist(),
        "metrics": {m: float(np.mean([f.metrics[m] for f in folds])) for m in names},
    }


def fold_names(n_total: int) -> list[str]:
    return [f"fold{k}" for k in range(1, n_total + 1)]


def missing_folds(result: RunResult | dict[str, Any]) -> list[int]:
    result = as_result(result)
    have = {f.name for f in result.folds}
    return [k for k, name in enumerate(fold_names(result.n_folds_total), 1) if name not in have]


def try_complete(runs_dir: Path, result: RunResult | dict[str, Any]) -> Path | None:
    """Write a combined record if finished runs like `result` cover every fold; return its folder."""
    result = as_result(result)
    n_total = result.n_folds_total
    newest: dict[str, tuple[str, Path, FoldResult]] = {}
    for path in runs_dir.glob(f"*/{RESULT_JSON}"):
        try:
            other = load_result(path.parent)
        except (OSError, ValueError):
            continue  # a damaged or newer record cannot vouch for its folds
        if other.config_hash != result.config_hash or other.combined_from:
            continue
        for fold in other.folds:
            src = Path(fold.source_run or path.parent)
            key = other.finished or ""
            if fold.name not in newest or key > newest[fold.name][0]:
                newest[fold.name] = (key, src, fold)
    wanted = fold_names(n_total)
    if not set(wanted) <= set(newest):
        return None
    folds = [newest[name][2].updated(source_run=str(newest[name][1])) for name in wanted]
    sources = sorted({f.source_run for f in folds})
    run_dir = new_run_dir(runs_dir, result.task, result.solution, result.config_hash + "combined")
    combined = result.updated(
        run_id=run_dir.name, created=now_iso(), finished=now_iso(), folds=folds, partial=False,
        combined_from=sources, artifacts={}, wall_seconds=None, memory=None, **aggregate(folds),
        timing={"fit": sum(f.fit_seconds or 0.0 for f in folds)},
    )
    write_json(run_dir / RESULT_JSON, combined.to_json())
    mark_finished(run_dir)
    log.info("folds of %d runs complete the %d-fold cross-validation: %s", len(sources), n_total, run_dir)
    return run_dir
