"""Hyperparameter tuning: `bench tune` (optuna studies, nested for cross-validation) and `bench study show`.

A trial fits and scores its splits with `bench.run.evaluate`, exactly as a run does,
and reports the task's metric to the pruner. May import every layer up to `bench.run`.
"""

from bench.tuning.record import record_path, study_record
from bench.tuning.study import TuneOutcome, tune

__all__ = ["TuneOutcome", "record_path", "study_record", "tune"]
