"""Base class of the tasks cross-validated on their publisher's folds, of any kind.

A subclass declares its kind and metrics (`kind`, `metric`), reads its publisher's
layout (`read`), names the generator that writes the same layout for the embedded
synthetic default (`synth_module` and `synthetic_args`, or its own `synthesize`; and
`synthetic_name`) and its folds
and grouping key; this base does the rest: embedded data on first use
(`bench.protocols.loading`), the group-leakage assertion, one split per requested
fold, stratified by what the kind stratifies by (classes; nothing for regression),
and the task's metrics by name (`Task.score`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

from bench.core import kinds
from bench.core.config import param
from bench.core.contracts import Split, TaskData
from bench.protocols.loading import DatasetTask
from bench.protocols.splits import check_group_leakage, cv_splits


@dataclass
class CrossValConfig:
    """The settings every cross-validated task has; a task adds its generator's and may re-declare a default."""

    data_dir: Path | None = param(None, "the publisher's dataset folder; none: embedded synthetic data", hashed=False)
    sample_rate: int = param(22050, "rate every clip is resampled to, Hz", low=1000)
    clip_seconds: float = param(5.0, "clips are zero-padded or cut to this length, s", low=0.1)
    folds: tuple[int, ...] = param((), "test folds to run (left out: all); e.g. 3 or 1,2", hashed=False)
    valid_fraction: float = param(0.1, "share of the training folds (whole groups) used for validation", low=0.01, high=0.5)


class CrossValTask(DatasetTask):
    n_folds: ClassVar[int]
    group_name: ClassVar[str] = "group"  # the grouping key's name in the publisher's metadata
    synth_module: ClassVar[str]  # module with generate(root, **synthetic_args()) writing the layout atomically

    def synthetic_args(self) -> dict[str, Any]:
        """The generator's keyword arguments, from the task's config."""
        module = getattr(self, "synth_module", "synth_module")
        raise NotImplementedError(f"task {self.name}: define synthetic_args() for {module}.generate,"
                                  " or override synthesize(root)")

    def synthesize(self, root: Path) -> None:
        """`synth_module.generate(root, **synthetic_args())`; a task may override this with its own generator."""
        import_module(self.synth_module).generate(root, **self.synthetic_args())

    def load(self, cache_dir: Path, log: logging.Logger) -> TaskData:
        data = super().load(cache_dir, log)
        check_group_leakage(data.clips, data.root, self.group_name)
        return data

    def splits(self, data: TaskData, seed: int) -> list[Split]:
        return cv_splits(data.clips, kinds.of(self).strata(data), self.n_folds, tuple(self.config.folds),
                         self.config.valid_fraction, seed, self.group_name)
