"""Classifier scores of generated clips: does the generator obey its condition, and is its output useful?

- `gan_test` (Shmelkov et al. 2018): a classifier trained on real clips (a `run:`
  judge) labels the generated clips; accuracy overall and per class, beside the same
  judge's accuracy on real clips and chance. High under mode collapse or copying too,
  so never read alone.
- `train_on_generated` (classification accuracy score / train-on-synthetic-test-on-real,
  Ravuri & Vinyals 2019): a solution trained only on generated clips is scored on real
  held-out clips; beside it, the same solution trained on as many real clips. FID does
  not predict this number (BigGAN-deep had the better FID and the worse CAS), so both
  are reported.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.core import metrics, registry
from bench.core.config import ConfigError, Section, apply_overrides
from bench.core.contracts import AudioSpec, FitContext, TaskInfo, TaskKind
from bench.data.frontend import features_of
from bench.protocols.splits import group_holdout
from bench.scoring.clipsets import ClipSet


def _accuracy(truth: np.ndarray, probs: np.ndarray, classes: tuple[str, ...]) -> dict[str, Any]:
    conf = metrics.confusion(truth, probs.argmax(1), len(classes))
    per = {c: float(conf[k, k] / conf[k].sum()) for k, c in enumerate(classes) if conf[k].sum()}
    return {"accuracy": metrics.get("accuracy")(truth, probs), "per_class": per, "n": len(truth)}


def _indices(clips: ClipSet, classes: tuple[str, ...], what: str, strict: bool) -> tuple[np.ndarray, np.ndarray]:
    lookup = {c: i for i, c in enumerate(classes)}
    unknown = sorted({lab for lab in clips.labels if lab is not None and lab not in lookup})
    if unknown and strict:
        raise ConfigError(f"{what}: class folder(s) {', '.join(unknown)} are not classes of the judge"
                          f" ({', '.join(classes)}); name the class folders as the judge's run does")
    rows = np.array([i for i, lab in enumerate(clips.labels) if lab in lookup], dtype=np.int64)
    return rows, np.array([lookup[clips.labels[i]] for i in rows], dtype=np.int64)


def gan_test(judge, generated: ClipSet, real: ClipSet) -> dict[str, Any]:
    """The judge's accuracy on generated clips (by their class folders) and on the real clips."""
    classes = tuple(judge.classes)
    rows, truth = _indices(generated, classes, "GAN-test", strict=True)
    if not len(rows):
        raise ConfigError("GAN-test needs generated clips in class folders (generated/<class>/...)")
    gen = _accuracy(truth, judge.predict_features(judge.features(generated.subset(rows).at(judge.sample_rate))),
                    classes)
    out = {"judge": judge.name, "classes": list(classes), "chance": 1.0 / len(classes), "generated": gen}
    rows, truth = _indices(real, classes, "GAN-test", strict=False)
    if len(rows):
        out["real"] = _accuracy(truth, judge.predict_features(judge.features(real.subset(rows).at(judge.sample_rate))),
                                classes)
    return out


def _features(solution, clips: ClipSet) -> np.ndarray:
    spec = solution.feature_spec()
    return np.stack([features_of(w, spec) for w in clips.at(spec.sample_rate)])


def _fit_score(cls, params, info: TaskInfo, train: ClipSet, test: ClipSet, seed: int, device: str,
               log: logging.Logger) -> dict[str, Any]:
    lookup = {c: i for i, c in enumerate(info.classes)}
    y = np.array([lookup[lab] for lab in train.labels], dtype=np.int64)
    y_test = np.array([lookup[lab] for lab in test.labels], dtype=np.int64)
    solution = cls(params, info)
    x, x_test = _features(solution, train), _features(solution, test)
    # early stopping and the best epoch read a validation share of the training clips, never the test clips
    fit_rows, valid_rows = group_holdout(y, [None] * len(y), 0.15, seed)
    with tempfile.TemporaryDirectory(prefix="bench-score-") as work:
        ctx = FitContext(workdir=Path(work), device=device, seed=seed, log=log, progress=False)
        solution.fit(x[fit_rows], y[fit_rows], x[valid_rows] if len(valid_rows) else None,
                     y[valid_rows] if len(valid_rows) else None, ctx)
        return _accuracy(y_test, solution.predict(x_test, ctx), info.classes)


def train_on_generated(solution: str, generated: ClipSet, test: ClipSet, real_train: ClipSet, *,
                       overrides: dict[str, Any] | None = None, seed: int = 0, device: str = "cpu",
                       log: logging.Logger | None = None) -> dict[str, Any]:
    """Accuracy on real `test` clips of `solution` trained on the generated clips, and trained on as many
    real clips (drawn per class in the generated set's proportions from `real_train`)."""
    log = log or logging.getLogger("bench")
    cls = registry.solutions.get(solution)
    section = Section("solution", f"solution {solution}", cls.Params)
    apply_overrides([section], dict(overrides or {}), source="tstr settings")
    params = section.build()
    classes = tuple(sorted({lab for lab in generated.labels if lab is not None}))
    for what, clips in (("generated", generated), ("real test", test), ("real training", real_train)):
        missing = sorted({lab for lab in clips.labels} - set(classes))
        if None in missing or missing:
            raise ConfigError(f"train-on-generated: every {what} clip needs a class folder among the generated"
                              f" classes ({', '.join(classes)}); found {', '.join(map(str, missing))}")
    seconds = float(np.median(test.seconds()))
    info = TaskInfo("score-audio", TaskKind.CLASSIFICATION, AudioSpec(22050, round(seconds, 3)), classes)
    rng = np.random.default_rng(seed)
    # the same count per class as the generated set has, so both classifiers learn from equal data
    picked = []
    for c in classes:
        want = int(np.sum([lab == c for lab in generated.labels]))
        rows = real_train.rows_of(c)
        picked += rng.choice(rows, min(want, len(rows)), replace=False).tolist()
    real_subset = real_train.subset(sorted(picked), "real training clips")
    log.info("train on generated (%d clips), test on real (%d clips), with %s", len(generated), len(test), solution)
    gen = _fit_score(cls, params, info, generated, test, seed, device, log)
    log.info("train on real (%d clips), test on real (%d clips), with %s", len(real_subset), len(test), solution)
    real = _fit_score(cls, params, info, real_subset, test, seed, device, log)
    return {"solution": solution, "classes": list(classes), "n_test": len(test), "n_generated": len(generated),
            "n_real": len(real_subset), "train_on_generated": gen, "train_on_real": real,
            "chance": 1.0 / len(classes)}
