"""A run's record and leaderboard row, assembled from its splits' records.

`bench run` and nested tuning (one outer fold per study) both finish a run here, so
their records and rows have one shape. Outputs for unlabelled clips skipped as bad
audio are the kind's to fill (`Kind.fill_skipped`: the training-class prior, the mean
target).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.core import kinds
from bench.core.config import fields_of, stable_hash
from bench.core.contracts import Task, TaskData, TaskInfo
from bench.data.check import describe
from bench.results.record import FoldResult, RunResult
from bench.run import combine
from bench.run.folders import RUN_JSON, code_version, describe_device, now_iso
from bench.run.prepare import Prepared
from bench.run.resolve import Resolved

log = logging.getLogger("bench")


def fill_unlabelled(outputs: np.ndarray | None, prep: Prepared, data: TaskData, info: TaskInfo) -> np.ndarray:
    """Outputs for every unlabelled clip; a skipped bad clip gets the kind's fill.

    `outputs` (for the kept clips) is None when every unlabelled clip was skipped.
    """
    full = np.asarray(kinds.of(info).fill_skipped(prep.y, len(data.unlabelled), info.n_outputs),
                      dtype=np.float32).copy()
    if outputs is not None:
        full[prep.unlabelled_kept] = outputs
    return full


def skipped_unlabelled(data: TaskData, skipped: np.ndarray, facts: dict) -> dict | None:
    """For the record: which unlabelled files were skipped as bad audio and what the task wrote for them."""
    if not len(skipped):
        return None
    files = [data.unlabelled[i].id or str(data.unlabelled[i].path) for i in skipped]
    rows = facts.get("skipped_rows") or "the task writes no per-file output for them"
    log.warning("%d unlabelled (test) file(s) were skipped as bad audio: %s; %s", len(files),
                ", ".join(files[:10]) + (f", … ({len(files) - 10} more)" if len(files) > 10 else ""), rows)
    return {"files": files, "paths": [str(data.unlabelled[i].path) for i in skipped], "rows": rows}


def build_result(res: Resolved, task: Task, data: TaskData, info: TaskInfo, prep: Prepared,
                 folds: list[FoldResult], facts: dict, run_dir: Path, device: str, timing: dict[str, float],
                 t_start: float, warnings: list[str], skipped: dict | None) -> RunResult:
    """The run's record; `facts` are what `Task.write_outputs` returned, `skipped` from `skipped_unlabelled`."""
    n_total = getattr(task, "n_folds", None)
    return RunResult(
        run_id=run_dir.name,
        created=json.loads((run_dir / RUN_JSON).read_text()).get("created"),
        finished=now_iso(), status="finished",
        task=task.name, task_kind=task.kind.value, solution=res.solution_cls.name,
        metric=task.metric.primary, direction=task.metric.direction,
        **combine.aggregate(folds),
        n_folds_total=n_total or len(folds),
        partial=bool(n_total) and len(folds) < n_total,
        classes=list(data.classes), targets=list(data.targets),
        task_info=info.to_dict(), folds=folds,
        config=res.as_dict(), config_hash=stable_hash({**res.hashed(), "data": prep.data_id}, 12),
        code_version=code_version(), device=describe_device(device),
        wall_seconds=time.perf_counter() - t_start, timing=timing,
        data={
            "root": str(data.root), "synthetic": data.synthetic, "data_id": prep.data_id,
            "n_clips": len(data.clips), "n_unlabelled": len(data.unlabelled),
            "summary": describe(data),
            "notes": data.notes,
        },
        cache={"hits": prep.cache_hits, "misses": prep.cache_misses},
        bad_files=[list(b) for b in prep.bad],
        complexity=folds[0].complexity or {},
        # facts about the fits a reader must not miss, e.g. random-init (no pretrained weights)
        tags=sorted({t for f in folds for t in (f.notes or {}).get("tags", [])}),
        artifacts=facts.get("artifacts", {}), extra=facts.get("extra", {}),
        warnings=warnings, skipped_unlabelled=skipped,
    )


def board_row(result: RunResult, res: Resolved, run_dir: Path) -> dict[str, Any]:
    """The leaderboard row of a finished run."""
    key_params = ";".join(
        f"{k}={result.config['solution'][k]}"
        for k, f in fields_of(res.solution_cls.Params).items() if f.metadata.get("key")
    )
    tuning, complexity = result.tuning, result.complexity
    return {
        "run_id": result.run_id, "time": result.finished, "task": result.task,
        "solution": result.solution, "metric": result.metric, "direction": result.direction,
        "score": result.score, "std": result.std, "n_folds": result.n_folds,
        "config_hash": result.config_hash, "params": key_params,
        "tags": ";".join(
            t for t in ("synthetic-data" if result.data["synthetic"] else "",
                        f"combined-from-{len(result.combined_from)}-runs" if result.combined_from else "",
                        f"{tuning.get('tag', 'tuned')};study={tuning['study']}" if tuning else "",
                        *(result.tags or []))
            if t
        ),
        "n_params": int(complexity.get("params", 0)) or "",
        "macs": int(complexity.get("macs", 0)) or "",
        "code_version": result.code_version, "device": result.device,
        "wall_seconds": round(result.wall_seconds, 1) if result.wall_seconds else "",
        "run_dir": str(run_dir),
        # a ranking compares runs on the same data: this is what it groups by
        "data_id": result.data.get("data_id", ""), "data_root": result.data.get("root", ""),
    }
