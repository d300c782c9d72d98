"""Metrics by name: what each computes, which way is better, and what it reads.

Tasks name their metrics (`MetricSpec`), and everything that scores looks them up
here, so the runner, the training loop (best epoch, early stop), tuning (pruning)
and the report agree on one function and one direction per name. A metric reads
`probabilities` ((N, n_classes) class probabilities against class indices),
`values` ((N, n_targets) predictions against targets) or `features` (generated
(N, C, F, T) features against real ones). Plugins add theirs with `register_metric`.

An *assessed* metric (`register_assessed`) is not a function of the outputs: its value
comes from the task's assessment of a split (`Task.assess`: generated clips rendered
to audio, embedded by a classifier trained for the split and compared with controls).
It has a name, a direction and a meaning like any other, so the leaderboard, tuning and
the report treat it alike; `Kind.score` leaves it to the assessment.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from bench.core.config import did_you_mean
from bench.core.distances import RankDeficientWarning, frechet_distance


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]  # (truth, outputs) -> value
    direction: Literal["max", "min"]
    needs: Literal["probabilities", "values", "features"]
    best: float | None  # the value of perfect outputs, where there is one
    help: str
    assessed: bool = False  # its value comes from `Task.assess`, not from `fn`

    def better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "max" else a < b

    def __call__(self, truth: np.ndarray, outputs: np.ndarray) -> float:
        return float(self.fn(truth, outputs))


METRICS: dict[str, Metric] = {}


def register_metric(name: str, direction: Literal["max", "min"], needs: Literal["probabilities", "values", "features"],
                    best: float | None, help: str) -> Callable:
    """Decorator: register `fn(truth, outputs) -> float` under `name`; a second use of a name is refused."""

    def deco(fn: Callable[[np.ndarray, np.ndarray], float]) -> Callable:
        if name in METRICS:
            raise ValueError(f"metric '{name}' is already registered ({METRICS[name].fn.__module__})")
        METRICS[name] = Metric(name, fn, direction, needs, best, help)
        return fn

    return deco


def register_assessed(name: str, direction: Literal["max", "min"], needs: Literal["probabilities", "values", "features"],
                      best: float | None, help: str) -> None:
    """Register a metric whose value a task's assessment gives (see the module's docstring)."""
    if name in METRICS:
        raise ValueError(f"metric '{name}' is already registered ({METRICS[name].fn.__module__})")

    def fn(truth: np.ndarray, outputs: np.ndarray) -> float:
        raise TypeError(f"metric '{name}' is computed by the task's assessment of a split (Task.assess),"
                        " not from outputs alone")

    METRICS[name] = Metric(name, fn, direction, needs, best, help, assessed=True)


def get(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric '{name}'{did_you_mean(name, list(METRICS))};"
                       f" metrics: {', '.join(sorted(METRICS))}") from None


# -- classification: probabilities against class indices ----------------------------------


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return m


@register_metric("accuracy", "max", "probabilities", 1.0, "share of clips whose most probable class is right")
def accuracy(y_true: np.ndarray, probs: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == y_true))


@register_metric("macro_f1", "max", "probabilities", 1.0, "mean F1 over the classes present in truth or predictions")
def macro_f1(y_true: np.ndarray, probs: np.ndarray) -> float:
    n = probs.shape[1]
    m = confusion(y_true, np.argmax(probs, axis=1), n)
    tp = np.diag(m).astype(float)
    support = m.sum(axis=1)
    predicted = m.sum(axis=0)
    present = (support + predicted) > 0
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros(n), where=denom > 0)
    return float(f1[present].mean()) if present.any() else 0.0


@register_metric("log_loss", "min", "probabilities", 0.0, "mean negative log probability of the true class")
def log_loss(y_true: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(probs[np.arange(len(y_true)), y_true], 1e-12, 1.0)
    return float(-np.mean(np.log(p)))


# -- regression: values against targets ----------------------------------------------------


def ccc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Concordance correlation coefficient of one dimension, pooled over all items."""
    x, y = np.asarray(y_true, float).ravel(), np.asarray(y_pred, float).ravel()
    vx, vy = x.var(), y.var()
    denom = vx + vy + (x.mean() - y.mean()) ** 2
    return float(2 * np.mean((x - x.mean()) * (y - y.mean())) / denom) if denom > 0 else 0.0


def _columns(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, float)
    return a.reshape(len(a), -1)


@register_metric("ccc", "max", "values", 1.0, "concordance correlation coefficient, mean over the targets")
def ccc_mean(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    t, p = _columns(y_true), _columns(y_pred)
    return float(np.mean([ccc(t[:, j], p[:, j]) for j in range(t.shape[1])]))


@register_metric("mse", "min", "values", 0.0, "mean squared error over clips and targets")
def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import mean_squared_error

    return float(mean_squared_error(_columns(y_true), _columns(y_pred)))


@register_metric("rmse", "min", "values", 0.0, "root mean squared error over clips and targets")
def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(mse(y_true, y_pred)))


@register_metric("mae", "min", "values", 0.0, "mean absolute error over clips and targets")
def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import mean_absolute_error

    return float(mean_absolute_error(_columns(y_true), _columns(y_pred)))


@register_metric("r2", "max", "values", 1.0, "coefficient of determination, mean over the targets")
def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(_columns(y_true), _columns(y_pred), multioutput="uniform_average"))


# -- generation: generated features against real ones ---------------------------------------


def pooled(features: np.ndarray) -> np.ndarray:
    """(N, C, F, T) features -> (N, C*F) means over time: the `logmel` statistics embedding."""
    f = np.asarray(features, np.float64)
    return f.mean(axis=-1).reshape(len(f), -1)


@register_metric("frechet_logmel", "min", "features", 0.0,
                 "Fréchet distance between real and generated clips' time-averaged features")
def frechet_logmel(real: np.ndarray, generated: np.ndarray) -> float:
    with warnings.catch_warnings():  # per-class sets are small by nature; the scoring suite reads them with care
        warnings.simplefilter("ignore", RankDeficientWarning)
        return frechet_distance(pooled(real), pooled(generated))



# what a generation task's assessment measures (bench.scoring.rounds): generated clips rendered
# to audio, against the held-out fold's real clips, in two embeddings
for _emb, _what in (("run", "a classifier trained on the round's real training clips (its penultimate layer)"),
                    ("logmel", "log-mel frame statistics")):
    register_assessed(f"kernel_{_emb}", "min", "features", None,
                      f"kernel distance (unbiased MMD², RBF) of generated to held-out real clips in {_what}")
    register_assessed(f"fad_inf_{_emb}", "min", "features", None,
                      f"FAD∞ (Fréchet distance extrapolated to infinitely many clips) in {_what}")
    register_assessed(f"position_{_emb}", "min", "features", 0.0,
                      f"where the kernel distance in {_what} stands between the real-vs-real floor (0) and the"
                      " nearest noise or silence ceiling (1)")
register_assessed("gan_test_accuracy", "max", "features", 1.0,
                  "accuracy of the real-trained classifier on generated clips, by their conditions (GAN-test)")
register_assessed("tstr_accuracy", "max", "features", 1.0,
                  "accuracy on held-out real clips of a classifier trained on generated clips only")
register_assessed("trtr_accuracy", "max", "features", 1.0,
                  "accuracy on held-out real clips of the same classifier trained on as many real clips")
register_assessed("near_copy_share", "min", "features", 0.0,
                  "share of generated clips nearer a training clip than every held-out real clip is (memorisation)")
