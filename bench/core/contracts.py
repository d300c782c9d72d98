"""The two contracts everything plugs into: a Task and a Solution.

Data flows one way:
    files --Task.load--> TaskData --Task.splits--> Split
          --features (cached)--> Features --Solution.fit/predict--> outputs
          --Task.score--> metrics --> result record, leaderboard, report.

A Task knows its data (the publisher's layout), its protocol (splits, folds) and its
metrics. A Solution knows how to learn from features. Neither reaches into the other:
the runner passes plain arrays between them.

Three kinds of task share these contracts:
- classification: targets are class indices; outputs are (N, n_classes) probabilities.
- regression: targets are (N, n_targets) floats; outputs are (N, n_targets) values.
- generation: targets are class indices used as conditions; the solution's
  `generate` returns (N, C, F, T) features for requested conditions, and the task
  scores them against real features.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Literal, Sequence

import numpy as np


class LayoutError(ValueError):
    """A data folder is not laid out as its publisher ships it; the message says what is off.

    Readers collect every problem they find (`problems`) before raising, so one
    `bench data check` lists them all instead of one per attempt.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [message])
        if problems:
            shown = "\n  ".join(problems[:30])
            more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
            message = f"{message}:\n  {shown}{more}"
        super().__init__(message)


class TaskKind(str, Enum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    GENERATION = "generation"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class MetricSpec:
    primary: str
    direction: Literal["max", "min"]
    others: tuple[str, ...] = ()

    def better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "max" else a < b


@dataclass(frozen=True)
class AudioSpec:
    """How a task's audio is presented to feature extraction."""

    sample_rate: int
    clip_seconds: float

    @property
    def n_samples(self) -> int:
        return int(round(self.sample_rate * self.clip_seconds))


@dataclass(frozen=True)
class FeatureSpec:
    """Every parameter of the frontend; its canonical JSON is part of the cache key."""

    kind: Literal["logmel", "mfcc", "logmel+mfcc"]
    sample_rate: int
    clip_seconds: float
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    f_min: float = 0.0
    f_max: float | None = None
    n_mfcc: int = 20
    top_db: float | None = 80.0
    crop: Literal["start", "center"] = "start"

    @property
    def n_samples(self) -> int:
        return int(round(self.sample_rate * self.clip_seconds))

    @property
    def n_frames(self) -> int:
        return self.n_samples // self.hop_length + 1

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, bins, frames) of one clip's features."""
        if self.kind == "mfcc":
            return (1, self.n_mfcc, self.n_frames)
        return (2 if self.kind == "logmel+mfcc" else 1, self.n_mels, self.n_frames)


@dataclass
class Clip:
    """One audio file of a task.

    `label` is the class name (classification, generation); `target` the regression
    values; `group` the key that must not span train and test (a source recording);
    `fold` the publisher's fold; `id` what a submission calls the clip.
    """

    path: Path
    label: str | None = None
    target: tuple[float, ...] | None = None
    group: str | None = None
    fold: int | None = None
    id: str | None = None


@dataclass
class TaskData:
    root: Path
    clips: list[Clip]  # labelled clips: train, validation and (for CV tasks) test folds
    classes: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()  # regression target names
    unlabelled: list[Clip] = field(default_factory=list)  # e.g. a competition's test set
    answers: dict[str, str] | None = None  # hidden labels of `unlabelled`, if shipped
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    def class_index(self) -> np.ndarray:
        lookup = {c: i for i, c in enumerate(self.classes)}
        return np.array([lookup[c.label] for c in self.clips], dtype=np.int64)

    def target_matrix(self) -> np.ndarray:
        return np.array([c.target for c in self.clips], dtype=np.float32)


@dataclass
class Split:
    """One round of the protocol: indices into TaskData.clips.

    `test` is empty when the task's test clips are unlabelled (then the score is the
    validation score, and the runner predicts `TaskData.unlabelled` for submission).
    """

    name: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    validation_note: str = ""

    @property
    def scored_on(self) -> Literal["test", "valid"]:
        return "test" if len(self.test) else "valid"


@dataclass
class TaskInfo:
    """What a solution may know about the task it is trained for."""

    name: str
    kind: TaskKind
    audio: AudioSpec
    classes: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()

    @property
    def n_outputs(self) -> int:
        from bench.core import kinds

        return kinds.of(self).n_outputs(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "sample_rate": self.audio.sample_rate,
            "clip_seconds": self.audio.clip_seconds,
            "classes": list(self.classes),
            "targets": list(self.targets),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TaskInfo":
        return cls(
            name=d["name"],
            kind=TaskKind(d["kind"]),
            audio=AudioSpec(d["sample_rate"], d["clip_seconds"]),
            classes=tuple(d.get("classes", ())),
            targets=tuple(d.get("targets", ())),
        )


@dataclass
class FitContext:
    """What the runner hands a solution for one fit.

    `metric` is the task's primary metric (a `bench.core.metrics.Metric`): a solution that
    trains in epochs reports `valid_<metric.name>` after each one and picks its best
    epoch by it; None (a solution fitted outside a run) means the kind's default.
    `callbacks` follow `bench.train.callbacks.Callback` (tuning's pruner is one).
    """

    workdir: Path  # checkpoints live here; present checkpoint means resume
    device: str = "cpu"
    amp: bool = False
    seed: int = 0
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("bench"))
    progress: bool = True
    metric: Any = None
    callbacks: list[Any] = field(default_factory=list)


@dataclass
class FitResult:
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    resumed_from: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Assessment:
    """What a task's `assess` may read about one fitted and scored split.

    `scored`, `train` and `valid` index `TaskData.clips` (clips skipped as bad audio left
    out); `outputs`, `truth` and `labels` are the solution's outputs for the scored clips,
    what the kind compares them with, and their targets, in the same order; `folder` is the split's own folder, where the task may
    keep what it makes (generated clips). The task's other metrics are in `metrics`.
    """

    data: TaskData
    info: TaskInfo
    split: Split
    solution: "Solution"
    ctx: FitContext
    scored: np.ndarray
    train: np.ndarray
    valid: np.ndarray
    outputs: np.ndarray
    truth: np.ndarray
    labels: np.ndarray
    folder: Path
    metrics: dict[str, float]


class Task(ABC):
    name: ClassVar[str]
    kind: ClassVar[TaskKind]
    description: ClassVar[str]
    metric: ClassVar[MetricSpec]
    Config: ClassVar[type]
    # named bundles of overrides, e.g. "tiny" for smoke tests
    presets: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, config: Any) -> None:
        self.config = config

    @property
    def audio(self) -> AudioSpec:
        return AudioSpec(self.config.sample_rate, self.config.clip_seconds)

    @abstractmethod
    def load(self, cache_dir: Path, log: logging.Logger) -> TaskData:
        """Read the dataset (writing the embedded synthetic one first if no data_dir)."""

    @abstractmethod
    def splits(self, data: TaskData, seed: int) -> list[Split]:
        """The protocol's rounds, in order."""

    def info(self, data: TaskData) -> TaskInfo:
        return TaskInfo(self.name, self.kind, self.audio, data.classes, data.targets)

    def targets(self, data: TaskData) -> np.ndarray:
        from bench.core import kinds

        return kinds.of(self).targets(data)

    def score(self, y_true: np.ndarray, outputs: np.ndarray, data: TaskData) -> dict[str, float]:
        """All metrics of this task; must contain `metric.primary`.

        Default: the primary and other metrics, by name from `bench.core.metrics`.
        `y_true` is what the kind compares outputs with (`Kind.truth`).
        """
        from bench.core import kinds

        return kinds.of(self).score((self.metric.primary, *self.metric.others), y_true, outputs)

    def assess(self, a: Assessment) -> tuple[dict[str, float], dict[str, Any]]:
        """Metrics that are not functions of the outputs alone (`bench.core.metrics.register_assessed`),
        and facts for the split's record (`FoldResult.assessment`).

        A generation task renders its generated clips to audio here, trains the judge
        classifier of the round and scores the clips with the scoring suite's controls.
        Must give a value for every assessed metric the task names. Default: nothing.
        """
        return {}, {}

    def write_outputs(
        self, data: TaskData, outputs: np.ndarray, run_dir: Path, skipped: Sequence[int] = ()
    ) -> dict[str, Any]:
        """Write task-specific artefacts for the unlabelled clips (e.g. a submission).

        `skipped` indexes the unlabelled clips skipped as bad audio (skip_bad=true);
        their rows of `outputs` hold the training-class prior. Returns facts for the
        result record; `skipped_rows` there says what was written for those clips.
        Default: nothing to write.
        """
        return {}


class Solution(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    kinds: ClassVar[frozenset[TaskKind]]
    Params: ClassVar[type]
    presets: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, params: Any, task: TaskInfo) -> None:
        if task.kind not in self.kinds:
            raise ValueError(
                f"solution {self.name} does not support {task.kind} tasks such as {task.name};"
                f" it supports {', '.join(sorted(k.value for k in self.kinds))}"
            )
        self.params = params
        self.task = task

    @classmethod
    def unbuilt(cls, params: Any, task: TaskInfo) -> "Solution":
        """An instance with `params` and `task` set and nothing built (no network, no weights).

        The settings are checked on it before any work, so `feature_spec` and
        `min_frames` must read nothing but `self.params` and `self.task`.
        """
        self = cls.__new__(cls)
        Solution.__init__(self, params, task)
        return self

    @abstractmethod
    def feature_spec(self) -> FeatureSpec:
        """The features this solution reads, given `self.task.audio`; reads only params and task."""

    def min_frames(self) -> int:
        """The fewest feature frames (time steps) per clip the solution accepts.

        Checked against `feature_spec().n_frames` before any work, so a clip too short
        for the network is a settings error, not a failure inside torch mid-training.
        Reads only params and task. Default: any length.
        """
        return 1

    @abstractmethod
    def fit(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_valid: np.ndarray | None,
        y_valid: np.ndarray | None,
        ctx: FitContext,
    ) -> FitResult:
        """Learn from (N, C, F, T) features; resume from ctx.workdir if it holds a checkpoint."""

    def predict(self, x: np.ndarray, ctx: FitContext) -> np.ndarray:
        """(N, n_classes) probabilities or (N, n_targets) values."""
        raise TypeError(f"solution {self.name} does not predict; it supports {sorted(k.value for k in self.kinds)}")

    def embed(self, x: np.ndarray, ctx: FitContext) -> np.ndarray:
        """(N, D) clip embeddings from the fitted model: what its output layer reads (the penultimate
        layer of a network). The scoring suite's `run:` embedding calls it."""
        raise TypeError(f"solution {self.name} has no embedding of its inputs")

    def generate(self, labels: np.ndarray, ctx: FitContext) -> np.ndarray:
        """(N, C, F, T) features for the requested class labels (generation tasks)."""
        raise TypeError(f"solution {self.name} does not generate; it supports {sorted(k.value for k in self.kinds)}")

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write everything `load` needs (weights as .safetensors) into `folder`."""

    @abstractmethod
    def load_state(self, folder: Path) -> None:
        """Restore what `save` wrote; raise if anything is missing or mismatched."""

    def complexity(self) -> dict[str, float]:
        """Parameter count and similar facts for the report; empty if not applicable."""
        return {}
