"""Splits: cross-validation on the publisher's folds, and any task's splits over the usable clips.

The test fold is never seen by model selection: early stopping and best-epoch
selection use a validation set of whole groups (source recordings, locations) taken
from the training folds, stratified by class where the task's kind has classes.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.core import kinds
from bench.core.contracts import Clip, LayoutError, Split, Task, TaskData


def check_group_leakage(clips: list[Clip], root: Path, key_name: str = "group") -> None:
    """Raise if any grouping key appears in more than one fold (it would leak train into test)."""
    folds_of: dict[str, set[int]] = defaultdict(set)
    for c in clips:
        if c.group is not None and c.fold is not None:
            folds_of[c.group].add(c.fold)
    leaks = sorted((g, sorted(f)) for g, f in folds_of.items() if len(f) > 1)
    if leaks:
        raise LayoutError(
            f"{root}: {len(leaks)} {key_name} value(s) span several folds, which leaks training"
            " clips into the test fold; the publisher's folds keep each one in a single fold",
            [f"{key_name} {g} is in folds {', '.join(map(str, f))}" for g, f in leaks],
        )


def group_holdout(labels: np.ndarray | None, groups: list[str | None], fraction: float, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Hold out whole groups, about `fraction` of each class's clips, for validation.

    A group goes with the class most of its clips have. Clips without a group are
    their own group. `labels` None (nothing to stratify by, e.g. regression): about
    `fraction` of all clips, drawn as if every clip had one class.
    """
    if labels is None:
        labels = np.zeros(len(groups), dtype=np.int64)
    idx_of: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        idx_of[g if g is not None else f"#clip{i}"].append(i)
    by_class: dict[int, list[str]] = defaultdict(list)
    for g, idx in idx_of.items():
        by_class[int(np.bincount(labels[idx]).argmax())].append(g)
    rng = np.random.default_rng(seed)
    valid: list[int] = []
    for c in sorted(by_class):
        gs = sorted(by_class[c])
        order = rng.permutation(len(gs))
        target = fraction * sum(len(idx_of[g]) for g in gs)
        taken = 0
        for k in order:
            if taken >= target or len(gs) < 2:
                break
            valid += idx_of[gs[k]]
            taken += len(idx_of[gs[k]])
    valid_arr = np.array(sorted(valid), dtype=np.int64)
    train_arr = np.setdiff1d(np.arange(len(labels)), valid_arr)
    return train_arr, valid_arr


def cv_splits(clips: list[Clip], labels: np.ndarray | None, n_folds: int, folds: tuple[int, ...],
              valid_fraction: float, seed: int, group_name: str) -> list[Split]:
    """One split per requested fold: test = that fold, validation = whole groups of the rest.

    `labels` stratify the validation draw (class indices); None draws it unstratified.
    """
    wanted = folds or tuple(range(1, n_folds + 1))
    bad = [f for f in wanted if not 1 <= f <= n_folds]
    if bad:
        raise ValueError(f"folds={','.join(map(str, bad))} out of range: this task has folds 1..{n_folds}")
    fold_of = np.array([c.fold for c in clips])
    splits = []
    for k in wanted:
        test = np.flatnonzero(fold_of == k)
        pool = np.flatnonzero(fold_of != k)
        if len(test) == 0:
            raise LayoutError(f"fold {k} has no clips that decoded; every fold needs test clips")
        tr, va = group_holdout(None if labels is None else labels[pool], [clips[i].group for i in pool],
                               valid_fraction, seed + k)
        drawn = "stratified by class" if labels is not None else "not stratified"
        note = (
            f"fold {k} is the test fold; validation (early stopping, best epoch) is"
            f" {len(va)} clips = about {valid_fraction:.0%} of the training folds, whole {group_name}"
            f" groups, {drawn} (seed {seed + k}); the test fold is never used for selection"
        )
        splits.append(Split(f"fold{k}", pool[tr], pool[va], test, note))
    return splits


def usable_splits(task: Task, data: TaskData, kept: np.ndarray, seed: int) -> tuple[list[Split], list[str]]:
    """The task's splits over the clips at `kept` (those that decoded), as indices into `data.clips`; and warnings.

    Drawing over all clips and dropping bad ones afterwards can leave a class with
    no validation clip; the task's own split sees only the good ones instead.
    """
    n_bad = len(data.clips) - len(kept)
    if n_bad == 0:
        splits = task.splits(data, seed)
    else:
        good = dataclasses.replace(data, clips=[data.clips[i] for i in kept])
        splits = [dataclasses.replace(
            s, train=kept[s.train], valid=kept[s.valid], test=kept[s.test],
            validation_note=f"{s.validation_note}; drawn after leaving out {n_bad} labelled clip(s) skipped as bad audio",
        ) for s in task.splits(good, seed)]
    warnings = []
    kind, targets = kinds.of(task), task.targets(data)
    for i, s in enumerate(splits):
        for w in kind.split_warnings(s, targets, data):
            warnings.append(w)
            s = dataclasses.replace(s, validation_note=f"{s.validation_note}. Warning: {w}")
        splits[i] = s
    return splits, warnings
