"""kaggle5: a Kaggle-style 5-class sound classification competition.

Layout: `train/<class>/*.wav` and `test/*.wav`; the result is a validated
`submission.csv`. Model selection uses a stratified validation split of the
training clips (7.5% by default, as in the seed recipe); the test set is unlabelled,
so the leaderboard score is the validation score. When the data folder also holds
`answers.csv` (the embedded synthetic data does), the submission is graded against
it and the result records that test accuracy too.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from bench.core.config import param
from bench.core.contracts import (
    Clip,
    LayoutError,
    MetricSpec,
    Split,
    TaskData,
    TaskKind,
)
from bench.core.registry import register_task
from bench.protocols import submission
from bench.protocols.loading import DatasetTask

AUDIO_SUFFIXES = (".wav",)


@dataclass
class Kaggle5Config:
    data_dir: Path | None = param(None, "competition folder with train/<class>/*.wav and test/*.wav (none: embedded synthetic data)", hashed=False)
    sample_rate: int = param(22050, "rate every clip is resampled to, Hz", low=1000)
    clip_seconds: float = param(4.0, "clips are zero-padded or cut to this length, s", low=0.1)
    valid_fraction: float = param(0.075, "stratified share of training clips held out for model selection", low=0.01, high=0.5)
    id_column: str = param("filename", "submission header: id column")
    label_column: str = param("label", "submission header: label column")
    # not hashed: it changes submission.csv, never a score, and the submission is rewritten on resume
    skipped_test_rows: Literal["prior", "omit"] = param(
        "prior", "test files skipped as bad audio (skip_bad=true): prior writes the training-class prior's"
        " label, omit leaves them out of submission.csv (if the competition accepts missing rows)",
        hashed=False)
    synthetic_train_per_class: int = param(100, "embedded data: training clips per class (about)", low=2)
    synthetic_test: int = param(150, "embedded data: test clips", low=1)
    synthetic_seed: int = param(0, "embedded data: generator seed")


def read_layout(root: Path) -> TaskData:
    """Read `root/train/<class>/*.wav`, `root/test/*.wav` and, if present, `root/answers.csv`."""
    train, test = root / "train", root / "test"
    expected = "expected train/<class_name>/*.wav and test/*.wav"
    if not root.is_dir():
        raise LayoutError(f"{root}: data_dir does not exist or is not a folder ({expected})")
    if not train.is_dir():
        raise LayoutError(f"{train}: missing training folder ({expected})")
    if not test.is_dir():
        raise LayoutError(f"{test}: missing test folder ({expected})")
    class_dirs = sorted(d for d in train.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(class_dirs) < 2:
        raise LayoutError(f"{train}: found {len(class_dirs)} class folder(s), need at least 2 ({expected})")
    notes: list[str] = []
    stray = sorted(p.name for p in train.iterdir() if p.is_file() and not p.name.startswith("."))
    if stray:
        notes.append(f"ignored {len(stray)} file(s) directly under train/ (not in a class folder): {', '.join(stray[:5])}")
    clips: list[Clip] = []
    for d in class_dirs:
        files, ignored = _audio_files(d)
        if ignored:
            notes.append(f"ignored {len(ignored)} non-WAV file(s) in {d.name}/")
        if not files:
            raise LayoutError(f"{d}: class folder has no .wav files; remove the folder or add clips")
        clips += [Clip(path=f, label=d.name, id=f"{d.name}/{f.name}") for f in files]
    test_files, ignored = _audio_files(test)
    if ignored:
        notes.append(f"ignored {len(ignored)} non-WAV file(s) in test/")
    if not test_files:
        raise LayoutError(f"{test}: no .wav test files")
    unlabelled = [Clip(path=f, id=f.name) for f in test_files]
    classes = tuple(d.name for d in class_dirs)
    answers = _read_answers(root / "answers.csv", {c.id for c in unlabelled}, classes)
    return TaskData(root=root, clips=clips, classes=classes, unlabelled=unlabelled, answers=answers, notes=notes)


def _audio_files(folder: Path) -> tuple[list[Path], list[Path]]:
    files, ignored = [], []
    for p in sorted(folder.iterdir()):
        dangling = p.is_symlink() and not p.exists()  # kept: decoding reports it, instead of it vanishing
        if not (p.is_file() or dangling) or p.name.startswith("."):
            continue
        (files if p.suffix.lower() in AUDIO_SUFFIXES else ignored).append(p)
    return files, ignored


def _read_answers(path: Path, ids: set[str], classes: tuple[str, ...]) -> dict[str, str] | None:
    if not path.exists():
        return None
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    try:
        submission.validate(rows[0] if rows else [], rows[1:], expected_ids=ids, classes=classes)
    except submission.SubmissionError as exc:
        raise LayoutError(f"{path}: hidden answers do not match test/: {exc}") from None
    return {r[0]: r[1] for r in rows[1:]}


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class, hold out round(fraction * n) clips (at least one when a class has two or more)."""
    rng = np.random.default_rng(seed)
    train, valid = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(fraction * len(idx)))
        k = max(k, 1) if len(idx) >= 2 else 0
        valid += idx[:k].tolist()
        train += idx[k:].tolist()
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(valid, dtype=np.int64))


@register_task("kaggle5")
class Kaggle5(DatasetTask):
    kind = TaskKind.CLASSIFICATION
    description = "Kaggle-style 5-class sound classification: train/<class>/*.wav, test/*.wav -> submission.csv"
    metric = MetricSpec("accuracy", "max", ("macro_f1",))
    Config = Kaggle5Config
    presets = {"tiny": {"synthetic_train_per_class": 10, "synthetic_test": 10, "clip_seconds": 1.5, "valid_fraction": 0.2}}

    def read(self, root: Path) -> TaskData:
        return read_layout(root)

    def synthesize(self, root: Path) -> None:
        from tasks.kaggle5.synth import generate

        c = self.config
        generate(root, n_train_per_class=c.synthetic_train_per_class, n_test=c.synthetic_test, seed=c.synthetic_seed)

    def synthetic_name(self) -> str:
        from tasks.kaggle5.synth import SYNTH_VERSION

        c = self.config
        return f"kaggle5-synth-v{SYNTH_VERSION}-n{c.synthetic_train_per_class}-t{c.synthetic_test}-s{c.synthetic_seed}"

    def splits(self, data: TaskData, seed: int) -> list[Split]:
        train, valid = stratified_holdout(data.class_index(), self.config.valid_fraction, seed)
        note = (
            f"stratified {self.config.valid_fraction:.1%} of the labelled training clips (seed {seed}),"
            " used for early stopping and best-epoch selection; the score is on this validation"
            " split because the competition's test set is unlabelled"
        )
        return [Split("holdout", train, valid, np.empty(0, dtype=np.int64), note)]

    def write_outputs(self, data: TaskData, outputs: np.ndarray, run_dir: Path, skipped: Sequence[int] = ()) -> dict:
        c = self.config
        omit = set(skipped) if c.skipped_test_rows == "omit" else set()
        rows = [i for i in range(len(data.unlabelled)) if i not in omit]
        ids = [data.unlabelled[i].id for i in rows]
        labels = [data.classes[i] for i in np.argmax(outputs[rows], axis=1)]
        submission.write(
            run_dir / "submission.csv", ids, labels, expected_ids=ids, classes=data.classes,
            id_column=c.id_column, label_column=c.label_column,
        )
        facts: dict = {"artifacts": {"submission": "submission.csv"}}
        if skipped:
            facts["skipped_rows"] = (
                "left out of submission.csv (skipped_test_rows=omit)" if omit else
                f"each has a row in submission.csv labelled {data.classes[int(np.argmax(outputs[skipped[0]]))]!r},"
                " the most frequent class of the training-class prior, not a prediction (skipped_test_rows=prior;"
                " skipped_test_rows=omit leaves them out)")
        if data.answers is not None:
            hits = sum(data.answers[i] == label for i, label in zip(ids, labels))
            # over every test file, as a grader would: an omitted row counts as wrong
            facts["extra"] = {"test_accuracy_hidden_labels": hits / len(data.unlabelled)}
        return facts
