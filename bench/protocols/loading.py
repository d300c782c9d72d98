"""Embedded-or-real loading: the one place a task's data folder is chosen, written and read.

A task that reads a folder in its publisher's layout subclasses `DatasetTask` and
gives three things: `read(root)`, `synthesize(root)` (a generator that writes the same
layout atomically) and `synthetic_name()`. With `data_dir` set, that folder is read;
without it, the embedded synthetic dataset is written once under
`cache_dir/datasets/<synthetic_name>` and read from there, and the data is marked
synthetic (the record and the report say so).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path

from bench.core.contracts import Task, TaskData


class DatasetTask(Task):
    """A task whose data is a folder: the user's `data_dir`, else the embedded synthetic one."""

    @abstractmethod
    def read(self, root: Path) -> TaskData:
        """Read the publisher's layout at `root`; raise LayoutError listing every problem."""

    @abstractmethod
    def synthesize(self, root: Path) -> None:
        """Write the embedded synthetic dataset at `root` (atomically) in the publisher's layout."""

    @abstractmethod
    def synthetic_name(self) -> str:
        """Folder name of the embedded dataset: changes whenever its content would."""

    def load(self, cache_dir: Path, log: logging.Logger) -> TaskData:
        return load_dataset(self, cache_dir, log)


def load_dataset(task: DatasetTask, cache_dir: Path, log: logging.Logger) -> TaskData:
    """`task.config.data_dir` read as it is, or the embedded dataset written (once) and read."""
    if task.config.data_dir is not None:
        return task.read(Path(task.config.data_dir))
    root = Path(cache_dir) / "datasets" / task.synthetic_name()
    if not root.exists():
        log.info("writing the embedded synthetic %s dataset to %s", task.name, root)
        try:
            task.synthesize(root)
        except FileExistsError:
            pass  # another run wrote it first (the generators rename a finished folder into place)
    data = task.read(root)
    data.synthetic = True
    return data
