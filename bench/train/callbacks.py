"""The one way to hook into a training loop: a small callback protocol whose state is checkpointed.

A callback is called at the start of every epoch (before any batch is drawn) and at
its end (with the epoch's history row, which holds `valid_<metric>`). Its
`state_dict()` goes into each epoch's checkpoint and comes back through
`load_state_dict()` on resume, so a resumed fit behaves as an uninterrupted one.
A callback that ends the fit raises (tuning's pruner raises `optuna.TrialPruned`);
the checkpoint of that epoch is already written.

Batch augmentation that draws per epoch (`bench.train.augment.BatchAugment`) is a
callback: it reseeds from (seed, epoch) in `on_epoch_start`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Callback(Protocol):
    def on_epoch_start(self, epoch: int, seed: int) -> None: ...

    def on_epoch_end(self, epoch: int, row: dict[str, float]) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class BaseCallback:
    """Does nothing and has no state: subclass and override what you need."""

    def on_epoch_start(self, epoch: int, seed: int) -> None:
        pass

    def on_epoch_end(self, epoch: int, row: dict[str, float]) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class ReportTo(BaseCallback):
    """Calls `report(epoch, value)` with the epoch's `key` (e.g. `valid_ccc`) once it is in the row.

    Tuning wraps an optuna trial this way; `report` may raise to end the fit.
    """

    def __init__(self, key: str, report) -> None:
        self.key, self.report = key, report

    def on_epoch_end(self, epoch: int, row: dict[str, float]) -> None:
        if self.key not in row:
            raise KeyError(f"the training loop reported no '{self.key}' (it reported {', '.join(row)}):"
                           " pruning on it would never happen")
        self.report(epoch, float(row[self.key]))
