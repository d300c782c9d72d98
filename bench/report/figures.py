"""The numbers behind the report's figures, computed from a result record.

Plain data only: no plotly, no HTML. `run_plots.py` draws what this module computes, and
the tests check these numbers rather than pixels (the optuna split of info and plot).

A result record may come from an older runner, a crashed run or another task kind,
so every function takes what exists and returns None (or an empty list) for the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.core.metrics import METRICS

# Per-epoch bookkeeping that is not a learning curve.
_NOT_CURVES = frozenset({"epoch", "lr", "seconds", "step"})
_SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Line:
    fold: str
    split: str  # "train", "valid", "test", or "" for an unsplit quantity
    epochs: list[int]
    values: list[float | None]  # None where the epoch has no finite value


@dataclass(frozen=True)
class LearningCurve:
    quantity: str  # "loss", "accuracy", ...
    lines: list[Line]
    best_epochs: dict[str, int] = field(default_factory=dict)  # fold -> best epoch


@dataclass(frozen=True)
class Confusion:
    classes: list[str]
    counts: list[list[int]]  # rows = true class, columns = predicted, summed over folds
    normalised: list[list[float]]  # each row divided by its sum; an empty row stays 0
    n_folds: int  # folds that contributed a matrix


@dataclass(frozen=True)
class ClassAccuracy:
    classes: list[str]
    accuracy: list[float | None]  # recall of each class; None when it has no clips
    support: list[int]


@dataclass(frozen=True)
class ResidualSeries:
    fold: str
    true: list[float]
    pred: list[float]


@dataclass(frozen=True)
class Residuals:
    """Predicted against true values of one regression target, a series per fold."""

    target: str
    series: list[ResidualSeries]
    low: float  # the identity line's span: the least and greatest value, true or predicted
    high: float
    n: int  # clips over all series
    rmse: float
    bias: float  # mean of predicted minus true: above zero, the model guesses high


@dataclass(frozen=True)
class PerClass:
    """Scores of each class (generation: how close the generated clips of a class are to its real ones)."""

    classes: list[str]
    metrics: list[str]
    values: dict[str, list[float | None]]  # metric -> per class, the mean over the folds that scored it
    directions: dict[str, str]  # metric -> "max" or "min", where the metric is registered
    n_folds: int  # folds that contributed scores


@dataclass(frozen=True)
class FoldScores:
    metric: str
    direction: str
    names: list[str]
    scores: list[float]
    mean: float
    std: float  # sample std (ddof=1) of `scores`, as in the run record


@dataclass(frozen=True)
class Timing:
    stages: list[str]
    seconds: list[float]
    wall_seconds: float | None


def finite(x: Any) -> float | None:
    """`x` as a float, or None when it is missing, not a number, NaN or infinite."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def folds(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in result.get("folds") or [] if isinstance(f, dict)]


def fold_name(fold: dict[str, Any], index: int) -> str:
    return str(fold.get("name") or f"fold {index + 1}")


def learning_curves(result: dict[str, Any]) -> list[LearningCurve]:
    """One curve per quantity ("loss" first), each with a line per fold and split."""
    lines: dict[str, list[Line]] = {}
    best: dict[str, dict[str, int]] = {}
    for i, fold in enumerate(folds(result)):
        history = [h for h in fold.get("history") or [] if isinstance(h, dict)]
        if not history:
            continue
        name = fold_name(fold, i)
        # An epoch number may be missing from hand-made or older records; count from 1.
        epochs = [int(h["epoch"]) if finite(h.get("epoch")) is not None else n + 1
                  for n, h in enumerate(history)]
        keys = list(dict.fromkeys(k for h in history for k in h if k not in _NOT_CURVES))
        for key in keys:
            split, quantity = _split_key(key)
            values = [finite(h.get(key)) for h in history]
            if all(v is None for v in values):
                continue
            lines.setdefault(quantity, []).append(Line(name, split, epochs, values))
            if fold.get("best_epoch") is not None:
                best.setdefault(quantity, {})[name] = int(fold["best_epoch"])
    # the loss, then the task's metric (what the best epoch is chosen by), then the rest in
    # first-seen order; a classification history's accuracy stays second either way
    metric = str(result.get("metric") or "")
    order = sorted(lines, key=lambda q: (q != "loss", q != metric))
    return [LearningCurve(q, lines[q], best.get(q, {})) for q in order]


def _split_key(key: str) -> tuple[str, str]:
    for split in _SPLITS:
        if key.startswith(split + "_"):
            return split, key[len(split) + 1:]
    return "", key


def confusion(result: dict[str, Any]) -> Confusion | None:
    """The confusion matrices of all folds summed, with row-normalised shares."""
    classes = [str(c) for c in result.get("classes") or []]
    total: list[list[int]] | None = None
    n_folds = 0
    for fold in folds(result):
        matrix = fold.get("confusion")
        if not _is_square(matrix, len(classes) or None):
            continue  # a fold without a matrix (or a malformed one) adds nothing
        if total is None:
            total = [[0] * len(matrix) for _ in matrix]
        elif len(matrix) != len(total):
            continue
        for r, row in enumerate(matrix):
            for c, v in enumerate(row):
                total[r][c] += int(v)
        n_folds += 1
    if total is None:
        return None
    if not classes:
        classes = [str(i) for i in range(len(total))]
    normalised = [[v / sum(row) if sum(row) else 0.0 for v in row] for row in total]
    return Confusion(classes, total, normalised, n_folds)


def _is_square(matrix: Any, n: int | None) -> bool:
    if not isinstance(matrix, list) or not matrix:
        return False
    size = n or len(matrix)
    return len(matrix) == size and all(
        isinstance(row, list) and len(row) == size and all(finite(v) is not None for v in row)
        for row in matrix)


def class_accuracy(conf: Confusion) -> ClassAccuracy:
    support = [sum(row) for row in conf.counts]
    accuracy = [row[i] / s if s else None for i, (row, s) in enumerate(zip(conf.counts, support))]
    return ClassAccuracy(conf.classes, accuracy, support)


def residuals(result: dict[str, Any]) -> list[Residuals]:
    """Per target, each fold's (true, predicted) pairs; folds without `residuals` add nothing.

    Targets come in the record's `targets` order, then any others in first-seen order; a
    pair with a missing or non-finite value is left out.
    """
    per_target: dict[str, list[ResidualSeries]] = {}
    for i, fold in enumerate(folds(result)):
        raw = fold.get("residuals")
        if not isinstance(raw, dict):
            continue
        for target, pairs in raw.items():
            if not isinstance(pairs, dict):
                continue
            true, pred = _pairs(pairs.get("true"), pairs.get("pred"))
            if true:
                per_target.setdefault(str(target), []).append(ResidualSeries(fold_name(fold, i), true, pred))
    named = [str(t) for t in result.get("targets") or [] if str(t) in per_target]
    out = []
    for target in dict.fromkeys([*named, *per_target]):
        series = per_target[target]
        true = [v for s in series for v in s.true]
        pred = [v for s in series for v in s.pred]
        errors = [p - t for t, p in zip(true, pred)]
        out.append(Residuals(target, series, min(true + pred), max(true + pred), len(true),
                             math.sqrt(sum(e * e for e in errors) / len(errors)),
                             round(sum(errors) / len(errors), 12)))  # no 1e-17 of rounding noise
    return out


def _pairs(true: Any, pred: Any) -> tuple[list[float], list[float]]:
    if not isinstance(true, list) or not isinstance(pred, list):
        return [], []
    kept = [(finite(t), finite(p)) for t, p in zip(true, pred)]
    kept = [(t, p) for t, p in kept if t is not None and p is not None]
    return [t for t, _ in kept], [p for _, p in kept]


def per_class(result: dict[str, Any]) -> PerClass | None:
    """Each class's scores, averaged over the folds that scored the class; None when no fold has any."""
    sums: dict[str, dict[str, list[float]]] = {}
    n_folds = 0
    for fold in folds(result):
        raw = fold.get("per_class")
        if not isinstance(raw, dict) or not raw:
            continue
        n_folds += 1
        for cls, scores in raw.items():
            for metric, value in (scores.items() if isinstance(scores, dict) else []):
                if finite(value) is not None:
                    sums.setdefault(str(cls), {}).setdefault(str(metric), []).append(finite(value))
    if not sums:
        return None
    named = [str(c) for c in result.get("classes") or []]
    classes = [c for c in named if c in sums] + [c for c in sums if c not in named]
    metric_names = list(dict.fromkeys(m for c in classes for m in sums[c]))
    values = {m: [sum(sums[c][m]) / len(sums[c][m]) if m in sums[c] else None for c in classes]
              for m in metric_names}
    return PerClass(classes, metric_names, values, _directions(metric_names), n_folds)


def _directions(names: list[str]) -> dict[str, str]:
    return {n: METRICS[n].direction for n in names if n in METRICS}


def fold_scores(result: dict[str, Any]) -> FoldScores | None:
    """Per-fold scores with their mean and spread; None unless at least two folds scored."""
    names, scores = [], []
    for i, fold in enumerate(folds(result)):
        score = finite(fold.get("score"))
        if score is not None:
            names.append(fold_name(fold, i))
            scores.append(score)
    if len(scores) < 2:
        return None
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))
    return FoldScores(str(result.get("metric") or "score"), str(result.get("direction") or "max"),
                      names, scores, mean, std)


MEMORY_NAMES = {"host_peak_rss_mb": "host, this process (peak resident)",
                "workers_peak_rss_mb": "host, feature workers (peak resident, largest)",
                "cuda_peak_allocated_mb": "GPU (peak allocated by torch)"}


def memory(result: dict[str, Any]) -> list[tuple[str, float]]:
    """(what, MiB) of the run's peak memory, in a fixed order; empty for records without it."""
    raw = result.get("memory")
    if not isinstance(raw, dict):
        return []
    return [(name, v) for key, name in MEMORY_NAMES.items() if (v := finite(raw.get(key))) is not None]


def timing(result: dict[str, Any]) -> Timing | None:
    raw = result.get("timing") or {}
    stages = [(str(k), finite(v)) for k, v in raw.items()] if isinstance(raw, dict) else []
    stages = [(k, v) for k, v in stages if v is not None]
    if not stages:
        return None
    return Timing([k for k, _ in stages], [v for _, v in stages], finite(result.get("wall_seconds")))
