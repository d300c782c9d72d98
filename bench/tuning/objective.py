"""One trial: fit the suggested parameters and score them on validation data only.

The objective never reads a test fold. On a task with one split (kaggle5) it trains on
the training part and scores the validation hold-out, reporting the validation metric
after every epoch so the median pruner can stop a poor trial early. On a
cross-validated task it visits the protocol's splits (or `tune_folds`): for each one
it trains on the training folds and scores the whole-group validation set drawn from
them, reporting each fold's score as one step, which is what the Wilcoxon pruner
compares fold by fold. The objective value is the mean over the visited splits.
Each split leaves its own test fold unread, but across the splits every fold is
trained or validated on: parameters chosen this way have seen each test fold.

Nested (`for_outer(K)`, the objective of the study for outer test fold K): the
data without fold K is cross-validated as above, so the parameters that study picks
were never trained, early-stopped or scored on a clip of fold K.

Every split is fitted and scored by `bench.run.evaluate.evaluate_split`, the function
`bench run` uses, on its validation clips; the splits are drawn, as in `bench run`, over
the clips that decoded. Each trial gets a folder (`RUNS_DIR/tune-STUDY/trial-NNNN`)
with its config, log, checkpoints, each split's `fold.json` and `valid.json`, and
`trial.json`; a trial retried after a lost heartbeat reuses the folder of the trial it
repeats, so finished splits and epochs are not trained again.
Trial folders hold no result.json: they are not runs and never reach the leaderboard.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from bench.core import metrics
from bench.core.atomic import write_json
from bench.core.config import ConfigError, fields_of
from bench.core.contracts import Split
from bench.protocols.splits import usable_splits
from bench.results.record import FoldResult
from bench.run.evaluate import evaluate_split
from bench.run.folders import resolve_device
from bench.run.logs import log_to, stop_logging
from bench.run.prepare import Prepared, prepare_features
from bench.run.resolve import Resolved
from bench.train.callbacks import ReportTo
from bench.tuning.space import suggest

log = logging.getLogger("bench")

TRIAL_JSON = "trial.json"
SPLIT_JSON = "valid.json"


class Surplus(Exception):
    """This trial would go past the requested count (another worker got there first)."""


class Objective:
    def __init__(self, base: Resolved, space: dict, tune_folds: tuple[int, ...], trial_root: Path,
                 target: int) -> None:
        self.base, self.space, self.trial_root, self.target = base, space, trial_root, target
        self.tune_folds = tune_folds
        self.outer: int | None = None
        self.task = base.task_cls(base.task)
        self.metric = self.task.metric.primary
        self.data = self.task.load(base.cache_dir, log)
        self.info = self.task.info(self.data)
        self.cv = bool(getattr(self.task, "n_folds", None))
        self.fold_of = np.array([c.fold if c.fold is not None else -1 for c in self.data.clips])
        self.device = resolve_device(base.runner.device)
        self._features: dict[Any, Prepared] = {}
        # as in `bench run`: clips skipped as bad audio leave before the splits are drawn (the
        # searched parameters do not change the features, so the base settings' clips are the trials')
        self.kept = self._prepared(base).kept
        self.splits = self._tuning_splits(tune_folds)

    def for_outer(self, outer: int, trial_root: Path) -> Objective:
        """The objective of the nested study for outer test fold `outer`; data and features are shared."""
        other = copy.copy(self)
        other.outer, other.trial_root = outer, trial_root
        other.splits = other._inner_splits(outer)
        return other

    # -- which data the objective sees --------------------------------------------------

    def _tuning_splits(self, tune_folds: tuple[int, ...]) -> list[Split]:
        task = self.task
        if tune_folds:
            if not self.cv or "folds" not in fields_of(self.base.task_cls.Config):
                raise ConfigError(f"tune: tune_folds is for cross-validated tasks; task {task.name} has one"
                                  " validation split, which tuning uses")
            task = self.base.task_cls(dataclasses.replace(self.base.task, folds=tuple(tune_folds)))
        try:
            splits, warnings = usable_splits(task, self.data, self.kept, self.base.runner.seed)
        except ValueError as exc:
            raise ConfigError(f"tune: {exc}") from None
        for warning in warnings:
            log.warning("%s", warning)
        for s in splits:
            if len(s.valid) == 0:
                raise ConfigError(f"tune: split {s.name} of task {task.name} has no validation clips to score"
                                  " trials on; raise valid_fraction")
            if np.intersect1d(s.test, np.union1d(s.train, s.valid)).size:
                raise RuntimeError(f"split {s.name}: test clips appear in training or validation")
        return splits

    def _inner_splits(self, outer: int) -> list[Split]:
        """Cross-validation over the clips outside fold `outer`, as if fold `outer` did not exist."""
        keep = np.flatnonzero(self.fold_of != outer)
        kept = np.flatnonzero(np.isin(keep, self.kept))  # into `keep`: its clips that decoded
        inner = tuple(f for f in (self.tune_folds or range(1, self.task.n_folds + 1)) if f != outer)
        if not inner:
            raise ConfigError(f"tune: nested tuning for outer fold {outer} has no other fold to tune on"
                              f" (tune_folds={','.join(map(str, self.tune_folds))})")
        sub = dataclasses.replace(self.data, clips=[self.data.clips[i] for i in keep])
        task = self.base.task_cls(dataclasses.replace(self.base.task, folds=inner))
        inner_splits, warnings = usable_splits(task, sub, kept, self.base.runner.seed)
        for warning in warnings:
            log.warning("outer fold %d: %s", outer, warning)
        splits = []
        for s in inner_splits:
            read = np.union1d(keep[s.train], keep[s.valid])
            if (self.fold_of[read] == outer).any() or np.intersect1d(keep[s.test], read).size:
                raise RuntimeError(f"outer fold {outer}, split {s.name}: held-out clips in training or validation")
            note = f"{s.validation_note}; outer test fold {outer} is left out of this study"
            splits.append(Split(s.name, keep[s.train], keep[s.valid], keep[s.test], note))
        return splits

    def validation(self) -> dict[str, Any]:
        """What the objective trains on and scores, for the record and the report."""
        fold_of = self.fold_of
        rows, held_out_read = [], False
        for s in self.splits:
            read = np.union1d(s.train, s.valid)
            # the outer fold is held out as a whole, so its clips count with the split's test clips
            held = np.union1d(s.test, np.flatnonzero(fold_of == self.outer)) if self.outer else s.test
            held_out_read |= bool(np.intersect1d(held, read).size)
            rows.append({
                "split": s.name, "n_train": int(len(s.train)), "n_valid": int(len(s.valid)),
                "test_fold": _single(fold_of[s.test]) if self.cv else None,
                "train_folds": sorted({int(f) for f in fold_of[s.train] if f >= 0}),
                "valid_folds": sorted({int(f) for f in fold_of[s.valid] if f >= 0}),
                "note": s.validation_note,
            })
        kind = "nested" if self.outer else "inside-training-folds" if self.cv else "validation-holdout"
        return {"kind": kind, "outer_fold": self.outer, "splits": rows, "test_data_used": held_out_read}

    def protocol(self) -> str:
        m = self.metric
        if self.cv:
            folds = ", ".join(str(r["test_fold"]) for r in self.validation()["splits"])
            group = getattr(self.task, "group_name", "group")
            mean = f"the objective is the mean validation {m} over these folds, reported fold by fold for pruning"
            if self.outer:
                return (f"nested: this study tunes for outer test fold {self.outer} and never reads it; inside the"
                        f" other folds, for each of inner folds {folds} a trial trains on the remaining folds and is"
                        f" scored on whole {group} groups held out from them; {mean}")
            return (f"tuned inside the training folds: for each of test folds {folds} a trial trains on the other"
                    f" folds and is scored on whole {group} groups held out from those training folds; the test"
                    f" fold is never read; {mean}")
        s = self.splits[0]
        return (f"tuned on the task's validation split ({s.name}, {len(s.valid)} clips): {s.validation_note};"
                f" test clips are never read; the objective is the validation {m} (of the best epoch for a"
                " solution trained in epochs, which reports it after every epoch for pruning)")

    # -- one trial ----------------------------------------------------------------------

    def __call__(self, trial: optuna.Trial) -> float:
        self._claim(trial)
        params = suggest(trial, self.space)
        res = dataclasses.replace(self.base, solution=dataclasses.replace(self.base.solution, **params))
        # a retry (queued by RetryFailedTrialCallback) names the trial it repeats in its system attrs
        original = trial.storage.get_trial_system_attrs(trial._trial_id).get("failed_trial")
        trial_dir = self.trial_root / f"trial-{original if original is not None else trial.number:04d}"
        trial_dir.mkdir(parents=True, exist_ok=True)
        trial.set_user_attr("run_dir", str(trial_dir))
        handler = log_to(trial_dir / "run.log")
        record: dict[str, Any] = {"number": trial.number, "retry_of": original, "params": params,
                                  "state": "RUNNING", "splits": []}
        try:
            write_json(trial_dir / "config.json", res.as_dict())
            log.info("trial %d: %s", trial.number, " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                              for k, v in params.items()))
            prep = self._prepared(res)
            for step, split in enumerate(self.splits):
                rec = self._score_split(trial, res, prep, split, trial_dir / "folds" / split.name)
                record["splits"].append(rec)
                if self.cv:
                    trial.report(rec["score"], step)
                    if trial.should_prune():
                        raise optuna.TrialPruned(f"pruned after {split.name}: {self.metric}={rec['score']:.4f}")
            value = float(np.mean([r["score"] for r in record["splits"]]))
            record.update(state="COMPLETE", value=value)
            return value
        except optuna.TrialPruned as exc:
            record.update(state="PRUNED", reason=str(exc))
            raise
        except Exception as exc:  # optuna marks the trial FAIL and logs the traceback
            record.update(state="FAIL", reason=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            write_json(trial_dir / TRIAL_JSON, record)
            stop_logging(handler)

    def _claim(self, trial: optuna.Trial) -> None:
        """Refuse to be trial number target+1: count live trials numbered below this one.

        A trial that passes this check stays within the count: trials numbered below it
        can only drop out (fail), never join.
        """
        live = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
        below = [t for t in trial.study.get_trials(deepcopy=False, states=live) if t.number < trial.number]
        if len(below) >= self.target:
            trial.set_user_attr("surplus", f"another worker had already started the {self.target} requested trials")
            raise Surplus(f"trial {trial.number} is not needed: {self.target} trials were already started")

    def _prepared(self, res: Resolved) -> Prepared:
        spec = res.solution_cls(res.solution, self.info).feature_spec()
        if spec not in self._features:
            self._features[spec] = prepare_features(self.task, self.data, spec, res)
        return self._features[spec]

    def _score_split(self, trial: optuna.Trial, res: Resolved, prep: Prepared, split: Split, fold_dir: Path) -> dict:
        """Fit and score one split on its validation clips, through the runner's own split evaluation."""
        done = fold_dir / SPLIT_JSON
        if done.exists():
            log.info("trial %d: split %s already scored; reusing it", trial.number, split.name)
            return json.loads(done.read_text())
        key = f"valid_{self.metric}"

        def report(epoch: int, value: float) -> None:
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch}: {key}={value:.4f}")

        # a cross-validated objective reports once per fold (the Wilcoxon pruner's steps), not per epoch; a
        # metric the task's assessment computes after the fit has no per-epoch value to prune on
        per_epoch = not self.cv and not metrics.get(self.metric).assessed
        callbacks = [ReportTo(key, report)] if per_epoch else []
        got = evaluate_split(res, self.task, self.data, self.info, prep, split, fold_dir, self.device,
                             score_on="valid", callbacks=callbacks, predict_unlabelled=False, save_model=False)
        rec = split_record(got.fold)
        write_json(done, rec)
        return rec


def split_record(fold: FoldResult) -> dict[str, Any]:
    """A trial's split as valid.json and trial.json's "splits" hold it (the study report reads these keys)."""
    return {"split": fold.name, "score": float(fold.score), "metrics": fold.metrics, "n_train": fold.n_train,
            "n_valid": fold.n_valid, "best_epoch": fold.best_epoch, "history": fold.history}


def _single(values: np.ndarray) -> int | None:
    distinct = sorted({int(v) for v in values})
    return distinct[0] if len(distinct) == 1 else None
