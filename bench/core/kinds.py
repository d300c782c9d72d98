"""Everything a task *kind* decides, in one place per kind.

The runner, the trainer, the torch solution base, tuning, `bench predict` and the
report ask `kinds.of(task)` instead of branching on `TaskKind`:

- `targets(data)` — what a solution learns from (class indices or target values);
  `strata(data)` — the labels a split is stratified by (None: not stratified);
- `produce(solution, x, y, ctx)` — the solution's outputs for a split (`predict`, or
  `generate` for the clips' classes); `truth(x, y)` — what `Task.score` compares them with;
- `loss()`, `postprocess(raw)` and `running_metric` — the torch loop's default training
  loss, logits to outputs (softmax for classes), and the per-batch training statistic;
- `stop_on` — early stopping watches the validation loss or the task's metric;
- `split_extras(...)` — facts per split for the record and the report (confusion
  matrix; residual plot data; per-class scores);
- `split_warnings(...)` — problems of a split's validation set worth a warning;
- `fill_skipped(y_train, n, n_outputs)` — outputs for clips skipped as bad audio;
- `describe(info, outputs)` — one line of `bench predict` per file;
- `default_metrics` — names in `bench.core.metrics`;
- `toy_*`, `perfect` and `constant` — what the conformance kit (`bench.testing`) feeds
  and expects.

Torch is imported only inside the methods that build torch objects, so tasks and the
CLI stay importable without it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from bench.core import metrics
from bench.core.contracts import (
    AudioSpec,
    FitContext,
    Solution,
    Split,
    Task,
    TaskData,
    TaskInfo,
    TaskKind,
)

if TYPE_CHECKING:
    import torch


class Kind(ABC):
    kind: ClassVar[TaskKind]
    needs: ClassVar[str]  # what its outputs are, as bench.core.metrics.Metric.needs names it
    default_metrics: ClassVar[tuple[str, ...]]
    # "loss": early stopping counts epochs without a lower validation loss (a smooth proxy);
    # "metric": epochs without a better validation value of the task's primary metric
    stop_on: ClassVar[Literal["loss", "metric"]] = "metric"
    running_metric: ClassVar[str | None] = None  # a train_<name> the loop can count per batch
    predicts_unlabelled: ClassVar[bool] = True  # outputs for TaskData.unlabelled (a submission)
    class_targets: ClassVar[bool] = False  # targets are class indices (what class-balanced sampling draws by)

    # -- data -----------------------------------------------------------------------------

    @abstractmethod
    def targets(self, data: TaskData) -> np.ndarray:
        ...

    def strata(self, data: TaskData) -> np.ndarray | None:
        """Labels that splits keep in proportion; None: draw without stratifying."""
        return None

    @abstractmethod
    def n_outputs(self, info: TaskInfo) -> int:
        ...

    # -- outputs and scores -----------------------------------------------------------------

    def produce(self, solution: Solution, x: np.ndarray, y: np.ndarray, ctx: FitContext) -> np.ndarray:
        return solution.predict(x, ctx)

    def truth(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y

    def metric(self, name: str) -> metrics.Metric:
        """The registered metric `name`, refused when it reads something this kind does not produce."""
        m = metrics.get(name)
        if m.needs != self.needs:
            raise ValueError(f"metric '{name}' reads {m.needs}, but {self.kind} tasks produce {self.needs}")
        return m

    def score(self, names: tuple[str, ...], truth: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
        """Every named metric computed from the outputs; assessed ones are left to `Task.assess`."""
        return {n: self.metric(n)(truth, outputs) for n in names if not self.metric(n).assessed}

    def split_extras(self, truth: np.ndarray, outputs: np.ndarray, y: np.ndarray,
                     info: TaskInfo) -> dict[str, Any]:
        return {}

    def split_warnings(self, split: Split, targets: np.ndarray, data: TaskData) -> list[str]:
        return []

    @abstractmethod
    def fill_skipped(self, y_train: np.ndarray, n: int, n_outputs: int) -> np.ndarray:
        ...

    @abstractmethod
    def describe(self, info: TaskInfo, outputs: np.ndarray) -> str:
        ...

    # -- torch defaults ---------------------------------------------------------------------

    def loss(self) -> "torch.nn.Module":
        """The torch loop's default training loss; a kind without one (generation: GANs train their own way) refuses."""
        raise TypeError(f"{self.kind} tasks have no default training loss: the solution brings its own")

    def postprocess(self, raw: "torch.Tensor") -> "torch.Tensor":
        return raw

    def batch_hits(self, out: "torch.Tensor", y: "torch.Tensor") -> "torch.Tensor":
        """Per-batch count behind `running_metric` (on the device, no host sync)."""
        raise TypeError(f"{self.kind} tasks have no running training metric")

    # -- conformance ------------------------------------------------------------------------

    @abstractmethod
    def toy_info(self, audio: AudioSpec) -> TaskInfo:
        ...

    @abstractmethod
    def toy_targets(self, n: int, rng: np.random.Generator) -> np.ndarray:
        ...

    @abstractmethod
    def perfect(self, truth: np.ndarray, info: TaskInfo) -> np.ndarray:
        """Outputs that score a metric's best value against `truth`."""

    @abstractmethod
    def constant(self, truth: np.ndarray, info: TaskInfo) -> np.ndarray:
        """The same output for every clip: what a model that learnt nothing gives."""


class ClassTargets(Kind):
    """Kinds whose targets are class indices: classification, and generation's conditions."""

    class_targets = True

    def targets(self, data: TaskData) -> np.ndarray:
        return data.class_index()

    def strata(self, data: TaskData) -> np.ndarray:
        return data.class_index()

    def n_outputs(self, info: TaskInfo) -> int:
        return len(info.classes)

    def toy_info(self, audio: AudioSpec) -> TaskInfo:
        return TaskInfo("contract", self.kind, audio, ("a", "b", "c"))

    def toy_targets(self, n, rng) -> np.ndarray:
        return np.arange(n) % 3


class Classification(ClassTargets):
    kind = TaskKind.CLASSIFICATION
    needs = "probabilities"
    default_metrics = ("accuracy", "macro_f1")
    # cross-entropy falls while accuracy plateaus in steps; the published recipes stop on it,
    # and the README's numbers were measured with it
    stop_on = "loss"
    running_metric = "accuracy"

    def split_extras(self, truth, outputs, y, info) -> dict[str, Any]:
        return {"confusion": metrics.confusion(truth, outputs.argmax(1), len(info.classes)).tolist()}

    def split_warnings(self, split: Split, targets: np.ndarray, data: TaskData) -> list[str]:
        """A class with training clips but none in validation is invisible to early stopping."""
        n = len(data.classes)
        usable = np.bincount(targets[np.concatenate([split.train, split.valid])], minlength=n)
        held = np.bincount(targets[split.valid], minlength=n)
        missing = [f"{data.classes[c]} ({usable[c]} usable clip(s))" for c in range(n) if usable[c] and not held[c]]
        if not missing:
            return []
        return [f"split {split.name}: no validation clip for class(es) {', '.join(missing)}: too few clips (or"
                " groups) to hold one out, so early stopping, best-epoch selection and the validation score"
                " never see them; add clips to these classes"]

    def fill_skipped(self, y_train, n, n_outputs) -> np.ndarray:
        """The training-class prior."""
        prior = np.bincount(y_train, minlength=n_outputs).astype(np.float32)
        return np.tile(prior / max(prior.sum(), 1), (n, 1))

    def describe(self, info, outputs) -> str:
        best = int(outputs.argmax())
        dist = "  ".join(f"{c}={v:.3f}" for c, v in zip(info.classes, outputs))
        return f"{info.classes[best]}\t{outputs[best]:.3f}\t{dist}"

    def loss(self):
        from torch import nn

        return nn.CrossEntropyLoss()

    def postprocess(self, raw):
        import torch

        return torch.softmax(raw, dim=1)

    def batch_hits(self, out, y):
        target = y if y.dim() == 1 else y.argmax(1)  # mixed labels (mixup): the larger share
        return (out.argmax(1) == target).sum()

    def perfect(self, truth, info) -> np.ndarray:
        return np.eye(len(info.classes), dtype=np.float32)[truth]

    def constant(self, truth, info) -> np.ndarray:
        return np.full((len(truth), len(info.classes)), 1 / len(info.classes), dtype=np.float32)


class Regression(Kind):
    kind = TaskKind.REGRESSION
    needs = "values"
    default_metrics = ("ccc", "rmse")

    def targets(self, data: TaskData) -> np.ndarray:
        return data.target_matrix()

    def n_outputs(self, info: TaskInfo) -> int:
        return len(info.targets)

    def split_extras(self, truth, outputs, y, info) -> dict[str, Any]:
        """Predicted against true values per target: the report's residual plot."""
        return {"residuals": {t: {"true": np.asarray(truth)[:, j].round(5).tolist(),
                                  "pred": np.asarray(outputs)[:, j].round(5).tolist()}
                              for j, t in enumerate(info.targets)}}

    def fill_skipped(self, y_train, n, n_outputs) -> np.ndarray:
        """The training targets' mean."""
        mean = np.asarray(y_train, np.float32).reshape(len(y_train), -1).mean(0) if len(y_train) else np.zeros(n_outputs)
        return np.tile(mean.astype(np.float32), (n, 1))

    def describe(self, info, outputs) -> str:
        return "  ".join(f"{t}={v:.4f}" for t, v in zip(info.targets, outputs))

    def loss(self):
        from torch import nn

        return nn.MSELoss()

    def toy_info(self, audio: AudioSpec) -> TaskInfo:
        return TaskInfo("contract", self.kind, audio, (), ("valence", "arousal"))

    def toy_targets(self, n, rng) -> np.ndarray:
        return rng.normal(size=(n, 2)).astype(np.float32)

    def perfect(self, truth, info) -> np.ndarray:
        return np.asarray(truth, np.float32).copy()

    def constant(self, truth, info) -> np.ndarray:
        return np.tile(np.asarray(truth, np.float32).mean(0), (len(truth), 1))


class Generation(ClassTargets):
    """Targets are class indices used as conditions; outputs are generated (N, C, F, T) features."""

    kind = TaskKind.GENERATION
    needs = "features"
    default_metrics = ("frechet_logmel",)
    predicts_unlabelled = False

    def produce(self, solution, x, y, ctx) -> np.ndarray:
        return solution.generate(y, ctx)

    def truth(self, x, y) -> np.ndarray:
        return x

    def split_extras(self, truth, outputs, y, info) -> dict[str, Any]:
        """Each default metric per class, where a class has enough clips on both sides."""
        per_class: dict[str, dict[str, float]] = {}
        for c, name in enumerate(info.classes):
            rows = np.flatnonzero(y == c)
            if len(rows) >= 2:
                per_class[name] = {m: self.metric(m)(truth[rows], outputs[rows]) for m in self.default_metrics}
        return {"per_class": per_class}

    def fill_skipped(self, y_train, n, n_outputs) -> np.ndarray:
        raise TypeError("generation tasks have no unlabelled clips to fill")

    def describe(self, info, outputs) -> str:
        raise TypeError("generation runs do not predict files")

    def perfect(self, truth, info) -> np.ndarray:
        return np.asarray(truth).copy()

    def constant(self, truth, info) -> np.ndarray:
        return np.broadcast_to(np.asarray(truth).mean(0), truth.shape).copy()


KINDS: dict[TaskKind, Kind] = {k.kind: k() for k in (Classification, Regression, Generation)}


def of(what: TaskKind | TaskInfo | Task | type[Task]) -> Kind:
    """The kind of a task (class or instance), a TaskInfo, or a TaskKind."""
    kind = what if isinstance(what, TaskKind) else what.kind
    return KINDS[TaskKind(kind)]
