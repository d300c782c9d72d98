"""One split, fitted, scored and recorded: what `bench run`, nested tuning and every trial call.

`evaluate_split` fits the solution on the split's training clips (validation clips for
early stopping and the best epoch), has the task's kind produce outputs for the scored
clips (`predict`, or `generate` for a generation task), scores them with the task's
metrics, adds the kind's per-split extras (a confusion matrix, residuals, per-class
scores) and writes the split's record, `fold.json`, atomically. A split whose record
is there is finished: the next call reads it back instead of fitting again, which is
how a killed run (or a retried trial) resumes. An unfinished fit resumes from its own
checkpoints under `fold_dir/train`.

The task's primary metric goes to the fit (`FitContext.metric`), so a solution that
trains in epochs reports `valid_<metric>` and picks its best epoch by it; `callbacks`
(tuning's pruner) see every epoch's row.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

import numpy as np

from bench.core import kinds
from bench.core.atomic import write_json
from bench.core.contracts import Assessment, FitContext, Split, Task, TaskData, TaskInfo
from bench.core.metrics import Metric
from bench.results.record import FoldResult
from bench.run.prepare import Prepared, feature_rows, kept_clips
from bench.run.resolve import Resolved

log = logging.getLogger("bench")

FOLD_JSON = "fold.json"


@dataclass
class SplitOutcome:
    fold: FoldResult
    unlabelled: np.ndarray | None  # outputs for the kept unlabelled clips (a submission), if predicted
    fit_seconds: float  # 0 for a split read back from its record
    predict_seconds: float
    reused: bool = False


def task_metric(task: Task) -> Metric | None:
    """The task's primary metric as registered in `bench.core.metrics`: what training selects by.
    None where only the task's assessment gives it (the solution then selects by its kind's default)."""
    m = kinds.of(task).metric(task.metric.primary)
    return None if m.assessed else m


def evaluate_split(res: Resolved, task: Task, data: TaskData, info: TaskInfo, prep: Prepared, split: Split,
                   fold_dir: Path, device: str, *, score_on: Literal["scored", "valid"] = "scored",
                   callbacks: Iterable[Any] = (), predict_unlabelled: bool = True,
                   save_model: bool = True) -> SplitOutcome:
    """Fit, produce, score and record one split (or read back its finished record).

    `score_on="scored"` scores the split's test clips, or its validation clips when it
    has none (a competition's holdout); `"valid"` always scores validation (tuning,
    which must never read a test clip). `save_model` keeps the fitted model under
    `fold_dir/model` (what `bench predict` loads); trials do not need theirs.
    """
    done = fold_dir / FOLD_JSON
    if done.exists():
        log.info("split %s already finished; reusing its result", split.name)
        saved = json.loads(done.read_text())
        outputs = saved.pop("unlabelled_outputs", None)
        unl = np.array(outputs, dtype=np.float32) if outputs else None
        return SplitOutcome(FoldResult.from_json(saved), unl, 0.0, 0.0, reused=True)

    rc = res.runner
    kind = kinds.of(task)
    train, valid, test = (feature_rows(prep, s) for s in (split.train, split.valid, split.test))
    on_test = score_on == "scored" and len(test) > 0
    scored = test if on_test else valid
    ctx = FitContext(workdir=fold_dir / "train", device=device, amp=rc.amp, seed=rc.seed, log=log,
                     progress=rc.progress, metric=task_metric(task), callbacks=list(callbacks))
    solution = res.solution_cls(res.solution, info)
    t = time.perf_counter()
    fit = solution.fit(prep.x[train], prep.y[train], prep.x[valid], prep.y[valid], ctx)
    if save_model:
        solution.save(fold_dir / "model")
    fit_s = time.perf_counter() - t

    t = time.perf_counter()
    x, y = prep.x[scored], prep.y[scored]
    outputs = kind.produce(solution, x, y, ctx)
    truth = kind.truth(x, y)
    metrics = task.score(truth, outputs, data)
    assessed, assessment = task.assess(Assessment(
        data, info, split, solution, ctx, kept_clips(prep, split.test if on_test else split.valid),
        kept_clips(prep, split.train), kept_clips(prep, split.valid), outputs, truth, y, fold_dir, dict(metrics)))
    metrics.update(assessed)
    if task.metric.primary not in metrics:
        raise RuntimeError(f"task {task.name} gave no value for its primary metric {task.metric.primary}")
    unl = None
    if predict_unlabelled and kind.predicts_unlabelled and len(prep.x_unlabelled):
        unl = solution.predict(prep.x_unlabelled, ctx)
    predict_s = time.perf_counter() - t

    fold = FoldResult(
        name=split.name, scored_on="test" if on_test else "valid",
        score=metrics[task.metric.primary], metrics=metrics,
        history=fit.history, best_epoch=fit.best_epoch, resumed_from=fit.resumed_from,
        n_train=int(len(train)), n_valid=int(len(valid)), n_test=int(len(test)),
        validation_note=split.validation_note, complexity=solution.complexity(),
        notes=fit.notes, fit_seconds=fit_s, assessment=assessment or None,
        **kind.split_extras(truth, outputs, y, info),
    )
    write_json(done, {**fold.to_json(), "unlabelled_outputs": unl.tolist() if unl is not None else None})
    on = " (validation)" if len(test) and not on_test else ""
    log.info("split %s: %s=%.4f%s", split.name, task.metric.primary, fold.score, on)
    return SplitOutcome(fold, unl, fit_s, predict_s)
