"""Hyperparameter tuning: `bench tune` (optuna studies) and `bench study show`."""

from bench.tuning.record import record_path, study_record
from bench.tuning.study import TuneOutcome, tune

__all__ = ["TuneOutcome", "record_path", "study_record", "tune"]
