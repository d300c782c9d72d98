"""Nearest-neighbour scores of generated sets: precision/recall/density/coverage, and memorisation.

Both read Euclidean distances between (N, D) embeddings (scipy's `cdist`).

- `prdc` (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
  Models"): each real embedding gets a ball reaching its k-th nearest real neighbour.
  Precision is the share of generated embeddings inside some real ball (fidelity),
  recall the share of real ones inside some generated ball (diversity), density the
  mean number of real balls a generated embedding falls in, over k (can exceed 1),
  coverage the share of real balls holding at least one generated embedding.
- `memorisation`: how close each generated clip is to its nearest training clip,
  against how close held-out real clips are to theirs. A generator that copies its
  training data sits much nearer to it than unseen real clips do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def _distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    from scipy.spatial.distance import cdist

    return cdist(x, y)


def _check(what: str, **sets: np.ndarray) -> list[np.ndarray]:
    out = [np.asarray(x, np.float64) for x in sets.values()]
    dims = {x.shape[1] if x.ndim == 2 else None for x in out}
    if len(dims) != 1 or None in dims:
        shapes = ", ".join(f"{k} {np.shape(x)}" for k, x in sets.items())
        raise ValueError(f"{what} needs (N, D) arrays of one D, got {shapes}")
    if not all(np.isfinite(x).all() for x in out):
        raise ValueError(f"{what}: the embeddings hold NaN or infinite values")
    return out


def _kth_radius(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of x to its k-th nearest other row."""
    d = _distances(x, x)
    np.fill_diagonal(d, np.inf)
    return np.partition(d, k - 1, axis=1)[:, k - 1]


@dataclass(frozen=True)
class PRDC:
    precision: float
    recall: float
    density: float
    coverage: float
    k: int

    def to_dict(self) -> dict:
        return asdict(self)


def prdc(real: np.ndarray, generated: np.ndarray, k: int = 5) -> PRDC:
    """Precision, recall, density and coverage of `generated` against `real` with k-NN balls.

    k is lowered to fit small sets (at most one less than the smaller set's size).
    """
    real, generated = _check("prdc", real=real, generated=generated)
    if min(len(real), len(generated)) < 2:
        raise ValueError(f"prdc needs at least two embeddings on each side, got {len(real)} and {len(generated)}")
    k = max(1, min(k, len(real) - 1, len(generated) - 1))
    r_real, r_gen = _kth_radius(real, k), _kth_radius(generated, k)
    d = _distances(real, generated)  # (n_real, n_gen)
    # strictly inside, as the paper's reference code (clovaai/generative-evaluation-prdc) counts
    inside = d < r_real[:, None]
    return PRDC(
        precision=float(inside.any(axis=0).mean()),
        recall=float((d < r_gen[None, :]).any(axis=1).mean()),
        density=float(inside.sum(axis=0).mean() / k),
        coverage=float((d.min(axis=1) < r_real).mean()),
        k=k,
    )


@dataclass(frozen=True)
class Memorisation:
    """Nearest-training-clip distances of generated clips against those of held-out real clips."""

    generated_median: float
    heldout_median: float
    ratio: float  # generated_median / heldout_median: well below 1 means closer to training than real clips are
    near_copies: float  # share of generated clips nearer a training clip than every held-out clip is
    p_value: float  # one-sided Mann-Whitney U: generated distances smaller than held-out ones
    flagged: bool
    rule: str
    generated: tuple[float, ...]  # each generated clip's distance to its nearest training clip
    heldout: tuple[float, ...]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["generated"], d["heldout"] = list(self.generated), list(self.heldout)
        return d


RULE = ("flagged when at least 10% of generated clips are nearer a training clip than every held-out real clip"
        " is, or when the generated distances are smaller (one-sided Mann-Whitney p < 0.01) and their median is"
        " under half the held-out median")


def memorisation(train: np.ndarray, generated: np.ndarray, heldout: np.ndarray) -> Memorisation:
    """Does `generated` sit nearer the generator's training clips than unseen real clips (`heldout`) do?

    Near copies are counted against the nearest held-out distance: real clips the
    generator never saw are never that close to its training set, so a generated clip
    that is, is likely a copy.
    """
    from scipy.stats import mannwhitneyu

    train, generated, heldout = _check("memorisation", train=train, generated=generated, heldout=heldout)
    if len(train) < 1 or len(generated) < 1 or len(heldout) < 2:
        raise ValueError("memorisation needs training clips, generated clips and at least two held-out real clips")
    gen = _distances(generated, train).min(axis=1)
    held = _distances(heldout, train).min(axis=1)
    g_med, h_med = float(np.median(gen)), float(np.median(held))
    ratio = g_med / h_med if h_med > 0 else float("inf") if g_med > 0 else 1.0
    near = float(np.mean(gen < held.min()))
    p = float(mannwhitneyu(gen, held, alternative="less").pvalue)
    flagged = near >= 0.10 or (p < 0.01 and ratio < 0.5)
    return Memorisation(g_med, h_med, ratio, near, p, bool(flagged), RULE,
                        tuple(gen.round(6).tolist()), tuple(held.round(6).tolist()))
