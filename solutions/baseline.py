"""A shallow baseline: MFCC statistics and a logistic regression, trained in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench.core.config import FloatRange, param
from bench.core.contracts import FeatureSpec, FitContext, FitResult, Solution, TaskKind
from bench.core.registry import register_solution
from bench.train.checkpoint import CheckpointError, load_weights, save_weights

WEIGHTS = "linear.safetensors"


@dataclass
class BaselineParams:
    n_mfcc: int = param(20, "MFCC coefficients", low=2, high=128, key=True)
    C: float = param(1.0, "inverse regularisation strength (classification)", low=1e-6, search=FloatRange(1e-3, 1e2, log=True), key=True)
    alpha: float = param(1.0, "ridge penalty (regression)", low=0, search=FloatRange(1e-3, 1e2, log=True))
    max_iter: int = param(2000, "solver iterations", low=10)
    n_mels: int = param(64, "mel bands under the MFCCs", low=8)
    n_fft: int = param(1024, "FFT size in samples", low=64)
    hop_length: int = param(512, "hop between frames in samples", low=16)


def clip_statistics(x: np.ndarray) -> np.ndarray:
    """(N, 1, n_mfcc, T) -> (N, 4*n_mfcc): mean, std, and mean/std of the first difference."""
    m = x[:, 0]
    d = np.diff(m, axis=2)
    return np.concatenate([m.mean(2), m.std(2), d.mean(2), d.std(2)], axis=1).astype(np.float64)


@register_solution("baseline")
class Baseline(Solution):
    description = "MFCC mean/std statistics + scikit-learn logistic (or ridge) regression"
    kinds = frozenset({TaskKind.CLASSIFICATION, TaskKind.REGRESSION})
    Params = BaselineParams

    def __init__(self, params, task) -> None:
        super().__init__(params, task)
        self.scale_mean: np.ndarray | None = None
        self.scale_std: np.ndarray | None = None
        self.coef: np.ndarray | None = None  # (n_features, n_outputs)
        self.intercept: np.ndarray | None = None

    def feature_spec(self) -> FeatureSpec:
        p, audio = self.params, self.task.audio
        return FeatureSpec(
            "mfcc", audio.sample_rate, audio.clip_seconds,
            n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels, n_mfcc=p.n_mfcc,
        )

    def min_frames(self) -> int:
        return 2  # the first-difference statistics need two frames

    def fit(self, x_train, y_train, x_valid, y_valid, ctx: FitContext) -> FitResult:
        from sklearn.linear_model import (  # slow to import; only fit needs it
            LogisticRegression,
            Ridge,
        )
        from sklearn.preprocessing import StandardScaler

        feats = clip_statistics(x_train)
        scaler = StandardScaler().fit(feats)
        z = scaler.transform(feats)
        self.scale_mean, self.scale_std = scaler.mean_, scaler.scale_
        if self.task.kind is TaskKind.CLASSIFICATION:
            model = LogisticRegression(C=self.params.C, max_iter=self.params.max_iter, random_state=ctx.seed)
            model.fit(z, y_train)
            # keep a column for every class, also those absent from this training split
            coef = np.zeros((z.shape[1], self.task.n_outputs))
            intercept = np.full(self.task.n_outputs, -1e9)
            cols = model.classes_.astype(int)
            if len(cols) == 2 and model.coef_.shape[0] == 1:
                coef[:, cols[1]], intercept[cols[1]] = model.coef_[0], model.intercept_[0]
                intercept[cols[0]] = 0.0
            else:
                coef[:, cols], intercept[cols] = model.coef_.T, model.intercept_
        else:
            model = Ridge(alpha=self.params.alpha).fit(z, y_train)
            coef, intercept = np.atleast_2d(model.coef_).T, np.atleast_1d(model.intercept_)
        self.coef, self.intercept = coef, intercept
        return FitResult()

    def embed(self, x: np.ndarray, ctx: FitContext) -> np.ndarray:
        """The standardised MFCC statistics the linear model reads."""
        if self.coef is None:
            raise RuntimeError("baseline: embed or predict called before fit or load")
        return (clip_statistics(x) - self.scale_mean) / self.scale_std

    def predict(self, x: np.ndarray, ctx: FitContext) -> np.ndarray:
        z = self.embed(x, ctx)
        out = z @ self.coef + self.intercept
        if self.task.kind is TaskKind.CLASSIFICATION:
            out = out - out.max(axis=1, keepdims=True)
            e = np.exp(out)
            return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        return out.astype(np.float32)

    def save(self, folder: Path) -> None:
        tensors = {k: torch.from_numpy(np.asarray(getattr(self, k), dtype=np.float64))
                   for k in ("scale_mean", "scale_std", "coef", "intercept")}
        save_weights(folder / WEIGHTS, tensors, {"solution": self.name})

    def load_state(self, folder: Path) -> None:
        state = load_weights(folder / WEIGHTS)
        for k in ("scale_mean", "scale_std", "coef", "intercept"):
            if k not in state:
                raise CheckpointError(f"{folder / WEIGHTS}: missing tensor '{k}'; the file is not a baseline's weights")
            setattr(self, k, state[k].numpy())
        if self.coef.shape[1] != self.task.n_outputs:
            raise CheckpointError(f"{folder / WEIGHTS}: {self.coef.shape[1]} outputs, the task has"
                                  f" {self.task.n_outputs}; the weights and the run record come from different runs")

    def complexity(self) -> dict[str, float]:
        return {"params": float(self.coef.size + self.intercept.size) if self.coef is not None else 0.0}
