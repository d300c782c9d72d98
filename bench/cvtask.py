"""Base class of the cross-validated classification tasks (UrbanSound8K, ESC-50, scenes).

A subclass reads its publisher's layout (`read`), names the generator that writes
the same layout for the embedded synthetic default (`synth_module`,
`synthetic_args`), and names its folds and grouping key;
this base does the rest: embedded data on first use, the group-leakage assertion,
one split per requested fold, and the metrics.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from importlib import import_module
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.config import param
from bench.contracts import MetricSpec, Split, Task, TaskData, TaskKind
from bench.metrics import accuracy, macro_f1
from bench.protocol import check_group_leakage, cv_splits


@dataclass
class CrossValConfig:
    """The settings every cross-validated task has; a task adds its generator's and may re-declare a default."""

    data_dir: Path | None = param(None, "the publisher's dataset folder; none: embedded synthetic data", hashed=False)
    sample_rate: int = param(22050, "rate every clip is resampled to, Hz", low=1000)
    clip_seconds: float = param(5.0, "clips are zero-padded or cut to this length, s", low=0.1)
    folds: tuple[int, ...] = param((), "test folds to run (left out: all); e.g. 3 or 1,2", hashed=False)
    valid_fraction: float = param(0.1, "share of the training folds (whole groups) used for validation", low=0.01, high=0.5)


class CrossValTask(Task):
    kind = TaskKind.CLASSIFICATION
    metric = MetricSpec("accuracy", "max", ("macro_f1",))
    n_folds: ClassVar[int]
    group_name: ClassVar[str]  # the grouping key's name in the publisher's metadata

    @abstractmethod
    def read(self, root: Path) -> TaskData:
        """Read the publisher's layout at `root`; raise LayoutError listing every problem."""

    synth_module: ClassVar[str]  # module with generate(root, **synthetic_args()) writing the layout atomically

    @abstractmethod
    def synthetic_args(self) -> dict[str, Any]:
        """The generator's keyword arguments, from the task's config."""

    def synthesize(self, root: Path) -> None:
        """Write the embedded synthetic dataset at `root` (atomically) in the publisher's layout."""
        import_module(self.synth_module).generate(root, **self.synthetic_args())

    @abstractmethod
    def synthetic_name(self) -> str:
        """Folder name of the embedded dataset: changes whenever its content would."""

    def load(self, cache_dir: Path, log: logging.Logger) -> TaskData:
        if self.config.data_dir is not None:
            data = self.read(Path(self.config.data_dir))
        else:
            root = cache_dir / "datasets" / self.synthetic_name()
            if not root.exists():
                log.info("writing the embedded synthetic %s dataset to %s", self.name, root)
                try:
                    self.synthesize(root)
                except FileExistsError:
                    pass  # another run wrote it first
            data = self.read(root)
            data.synthetic = True
        check_group_leakage(data.clips, data.root, self.group_name)
        return data

    def splits(self, data: TaskData, seed: int) -> list[Split]:
        return cv_splits(data.clips, data.class_index(), self.n_folds, tuple(self.config.folds),
                         self.config.valid_fraction, seed, self.group_name)

    def score(self, y_true: np.ndarray, outputs: np.ndarray, data: TaskData) -> dict[str, float]:
        return {"accuracy": accuracy(y_true, outputs), "macro_f1": macro_f1(y_true, outputs)}
