"""Distances between two sets of embeddings: Fréchet, FAD∞ and the kernel distance.

Every function takes two (N, D) arrays, one row per clip, and computes in float64 with
centred covariances.

The Fréchet distance needs tr((Σa Σb)^½). Two exact routes are used, never
`scipy.linalg.sqrtm` (SciPy 1.18 removed its `disp=` argument, which breaks the tools
that pass it; SciPy 1.11.2 returned large imaginary parts):

- symmetric: √Σa by `eigh` with negative eigenvalues clipped to 0, then the eigenvalues
  of the symmetric √Σa Σb √Σa (clipped at 0), whose square roots sum to the trace;
  O(D³), independent of N.
- gram: with A and B the centred data, Σa Σb = AᵀA BᵀB / ((Na−1)(Nb−1)) has the same
  non-zero eigenvalues as (A Bᵀ)(A Bᵀ)ᵀ, so the trace is the sum of the singular values
  of A Bᵀ (an Na × Nb matrix); O(Na Nb D), much cheaper when the sets are smaller than D.

Both agree to rounding (tests/test_distances.py); `method="auto"` takes the cheaper one.
Results are reported as computed: a tiny negative value on identical sets is rounding
and is not clipped to zero.

The Fréchet distance is biased upwards by small samples (two samples of one standard 128-d
Gaussian: about 150 at N = 40, 1.7 at N = 5000, measured in tests/test_distances.py), so `frechet_distance_inf` fits it
against 1/n over subsets of clips and reports the intercept with the fit's R² and a
bootstrap interval over clips. The kernel distance (unbiased MMD², as KID/KAD) has no
such bias and is the one to read for small sets.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np


class RankDeficientWarning(UserWarning):
    """Fewer clips than dimensions: the covariance is singular and the Fréchet distance is dominated by sample size."""


def _check_pair(a: np.ndarray, b: np.ndarray, what: str, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"{what} needs two (N, D) arrays of the same D, got {a.shape} and {b.shape}")
    if len(a) < min_rows or len(b) < min_rows:
        words = {2: "two", 3: "three"}.get(min_rows, str(min_rows))
        raise ValueError(f"{what} needs at least {words} embeddings on each side, got {len(a)} and {len(b)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError(f"{what}: the embeddings hold NaN or infinite values")
    return a, b


# ---------------------------------------------------------------- Fréchet distance


def _nonnegative(w: np.ndarray) -> np.ndarray:
    """Eigenvalues with rounding noise set to zero: negatives, and positives below D·ε·max. A null
    direction's 1e-16 would otherwise become 1e-8 under the square root, summed over every one of them."""
    tol = len(w) * np.finfo(np.float64).eps * max(float(np.abs(w).max()), 0.0)
    return np.where(w > tol, w, 0.0)


def trace_sqrt_product(sa: np.ndarray, sb: np.ndarray) -> float:
    """tr((Σa Σb)^½) by the symmetric route: √Σa from `eigh`, then `eigvalsh` of √Σa Σb √Σa."""
    w, v = np.linalg.eigh(sa)
    root = (v * np.sqrt(_nonnegative(w))) @ v.T
    m = root @ sb @ root
    ev = np.linalg.eigvalsh((m + m.T) / 2)  # symmetric up to rounding; make it exactly so
    return float(np.sqrt(_nonnegative(ev)).sum())


def frechet_from_moments(mu_a: np.ndarray, sa: np.ndarray, mu_b: np.ndarray, sb: np.ndarray) -> float:
    """‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½) from means and covariances (symmetric route)."""
    d = np.asarray(mu_a, np.float64) - np.asarray(mu_b, np.float64)
    return float(d @ d + np.trace(sa) + np.trace(sb) - 2 * trace_sqrt_product(sa, sb))


def _centred(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = x.mean(0)
    return mu, x - mu


def _frechet_symmetric(a: np.ndarray, b: np.ndarray) -> float:
    (mu_a, ca), (mu_b, cb) = _centred(a), _centred(b)
    sa, sb = ca.T @ ca / (len(a) - 1), cb.T @ cb / (len(b) - 1)
    return frechet_from_moments(mu_a, sa, mu_b, sb)


def _frechet_gram(a: np.ndarray, b: np.ndarray) -> float:
    (mu_a, ca), (mu_b, cb) = _centred(a), _centred(b)
    na, nb = len(a) - 1, len(b) - 1
    d = mu_a - mu_b
    nuclear = np.linalg.svd(ca @ cb.T, compute_uv=False).sum()
    return float(d @ d + np.sum(ca * ca) / na + np.sum(cb * cb) / nb - 2 * nuclear / np.sqrt(na * nb))


def _cheaper(n_a: int, n_b: int, dim: int) -> str:
    # flop counts of the two routes, up to constants measured alike (benchmarks/audio_scores.py)
    gram = n_a * n_b * dim + n_a * n_b * min(n_a, n_b)
    symmetric = (n_a + n_b) * dim * dim + 10 * dim ** 3
    return "gram" if gram < symmetric else "symmetric"


def frechet_distance(a: np.ndarray, b: np.ndarray, method: Literal["auto", "symmetric", "gram"] = "auto") -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) embedding sets.

    ‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½), float64, covariances with N − 1. Fewer rows
    than dimensions on a side warns (`RankDeficientWarning`): the value then mostly
    measures N; compare only at equal N, or use `frechet_distance_inf` or `kernel_distance`.
    """
    a, b = _check_pair(a, b, "frechet_distance")
    if method not in ("auto", "symmetric", "gram"):
        raise ValueError(f"frechet_distance: method must be auto, symmetric or gram, got {method!r}")
    dim = a.shape[1]
    if min(len(a), len(b)) <= dim:
        warnings.warn(
            f"frechet_distance: {len(a)} and {len(b)} embeddings for {dim} dimensions: the covariance is"
            " rank-deficient and the distance is dominated by the sample size; compare only at equal N,"
            " or read frechet_distance_inf or kernel_distance", RankDeficientWarning, stacklevel=2)
    route = _cheaper(len(a), len(b), dim) if method == "auto" else method
    return _frechet_symmetric(a, b) if route == "symmetric" else _frechet_gram(a, b)


def _quiet_frechet(a: np.ndarray, b: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        return frechet_distance(a, b)


# ---------------------------------------------------------------- FAD∞


@dataclass(frozen=True)
class Interval:
    low: float | None  # None: no replicates were drawn
    high: float | None
    level: float  # e.g. 0.95
    replicates: int  # bootstrap replicates behind it (0: not computed)


@dataclass(frozen=True)
class FrechetInf:
    """The Fréchet distance extrapolated to infinitely many clips (Chong & Forsyth's FID∞)."""

    value: float  # intercept of FD(n) = value + slope / n
    slope: float
    r2: float  # of the linear fit, over the mean FD at each n
    interval: Interval  # bootstrap over clips of both sets
    ns: tuple[int, ...]
    distances: tuple[float, ...]  # mean FD at each n
    draws: int  # subsets drawn at each n

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ns"], d["distances"] = list(self.ns), list(self.distances)
        return d


def subset_sizes(n_max: int, steps: int = 8, smallest: float = 0.25) -> tuple[int, ...]:
    """`steps` sizes from `smallest`·n_max to n_max, evenly spaced in 1/n (the axis of the fit)."""
    lo = max(2, int(round(smallest * n_max)))
    if n_max <= lo:
        return (n_max,)
    inv = np.linspace(1 / lo, 1 / n_max, steps)
    return tuple(sorted({int(round(1 / v)) for v in inv}))


def _fit_inverse(ns: np.ndarray, fd: np.ndarray) -> tuple[float, float, float]:
    """Least squares fd = c + k / n; (c, k, R²)."""
    x = 1.0 / ns
    k, c = np.polyfit(x, fd, 1)
    resid = fd - (c + k * x)
    total = np.sum((fd - fd.mean()) ** 2)
    r2 = float(1 - np.sum(resid ** 2) / total) if total > 0 else 1.0
    return float(c), float(k), r2


def _inf_point(a: np.ndarray, b: np.ndarray, ns: tuple[int, ...], draws: int,
               rng: np.random.Generator) -> tuple[float, float, float, np.ndarray]:
    """Intercept, slope, R² and the mean FD per n, from subsets drawn without replacement.

    Without replacement, E[FD(n)] ≈ FD∞ + k/n holds for the population; draws with
    replacement would extrapolate to the FD between the two finite samples, which keeps
    the bias of their size (measured in tests/test_distances.py).
    """
    means = np.empty(len(ns))
    for j, n in enumerate(ns):
        reps = 1 if n >= len(a) and n >= len(b) else draws
        vals = []
        for _ in range(reps):
            ia = rng.choice(len(a), size=min(n, len(a)), replace=False)
            ib = rng.choice(len(b), size=min(n, len(b)), replace=False)
            vals.append(_quiet_frechet(a[ia], b[ib]))
        means[j] = np.mean(vals)
    if len(ns) < 2:
        return float(means[0]), 0.0, 1.0, means
    c, k, r2 = _fit_inverse(np.asarray(ns, float), means)
    return c, k, r2, means


def frechet_distance_inf(a: np.ndarray, b: np.ndarray, *, steps: int = 8, smallest: float = 0.25, draws: int = 4,
                         bootstrap: int = 100, level: float = 0.95, seed: int = 0) -> FrechetInf:
    """FD extrapolated to n → ∞: FD on subsets of n clips from each side (n from `smallest`·N to
    N = the smaller set's size), fitted linearly against 1/n; the intercept, with the fit's R².

    The interval resamples whole clips of both sets with replacement (`bootstrap` times,
    seeded) and repeats the fit; frames within a clip are correlated, so clips, not frames,
    are the unit. A resample repeats clips, which shifts every replicate up by about the
    same amount (fewer distinct clips), so the interval is the replicates' spread around
    their median, placed on the estimate (a bias-corrected percentile interval).
    """
    a, b = _check_pair(a, b, "frechet_distance_inf", min_rows=3)
    rng = np.random.default_rng(seed)
    ns = subset_sizes(min(len(a), len(b)), steps, smallest)
    value, slope, r2, means = _inf_point(a, b, ns, draws, rng)
    reps = []
    for _ in range(bootstrap):
        ra = a[rng.integers(0, len(a), len(a))]
        rb = b[rng.integers(0, len(b), len(b))]
        reps.append(_inf_point(ra, rb, ns, 1, rng)[0])
    interval = _percentiles(reps, level, centre=value)
    return FrechetInf(value, slope, r2, interval, ns, tuple(float(m) for m in means), draws)


def _percentiles(values: list[float], level: float, centre: float | None = None) -> Interval:
    """The central `level` share of `values`; with `centre`, their spread around their median moved onto it."""
    if not values:
        return Interval(None, None, level, 0)
    lo, hi = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    if centre is not None:
        shift = centre - float(np.median(values))
        lo, hi = lo + shift, hi + shift
    return Interval(float(lo), float(hi), level, len(values))


# ---------------------------------------------------------------- kernel distance


@dataclass(frozen=True)
class KernelDistance:
    """Unbiased MMD² between two sets with a fixed kernel (KID with `poly`, KAD with `rbf`)."""

    value: float
    interval: Interval
    kernel: str
    bandwidth: float | None  # rbf: σ, from the reference set (a)

    def to_dict(self) -> dict:
        return asdict(self)


def median_bandwidth(a: np.ndarray) -> float:
    """The median pairwise Euclidean distance within a set (the usual RBF bandwidth, as in KAD)."""
    from scipy.spatial.distance import pdist

    d = pdist(np.asarray(a, np.float64))
    med = float(np.median(d)) if len(d) else 0.0
    return med if med > 0 else 1.0  # a set of identical rows: any σ gives MMD² = 0 among them


def _kernel(kind: str, bandwidth: float | None, dim: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    from scipy.spatial.distance import cdist

    if kind == "poly":
        # KID's cubic kernel (x·y/D + 1)³ (Bińkowski et al. 2018)
        return lambda x, y: (x @ y.T / dim + 1.0) ** 3
    if kind == "rbf":
        two_s2 = 2.0 * float(bandwidth) ** 2
        return lambda x, y: np.exp(-cdist(x, y, "sqeuclidean") / two_s2)
    raise ValueError(f"kernel_distance: kernel must be rbf or poly, got {kind!r}")


def _within(k: np.ndarray, c: np.ndarray) -> float:
    """Mean of k over pairs of rows of distinct clips, with clip i taken c[i] times."""
    pairs = c.sum() ** 2 - np.sum(c * c)
    return float((c @ k @ c - np.sum(c * c * np.diag(k))) / pairs)


def _mmd2(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> float:
    """Unbiased MMD² with clip i of a taken cx[i] times and clip j of b cy[j] times (all ones: the
    plain estimate); pairs of copies of one clip are left out, as the diagonal is."""
    return _within(kxx, cx) + _within(kyy, cy) - 2 * float(cx @ kxy @ cy) / (cx.sum() * cy.sum())


def kernel_distance(a: np.ndarray, b: np.ndarray, kernel: Literal["rbf", "poly"] = "rbf",
                    bandwidth: float | None = None) -> float:
    """Unbiased MMD² between two (N, D) sets (0 in expectation for one distribution; may be
    slightly negative). `rbf` uses σ = `bandwidth`, by default the median pairwise distance
    of `a` (keep `a` the same reference across comparisons); `poly` is KID's cubic kernel."""
    return kernel_distance_ci(a, b, kernel, bandwidth, bootstrap=0).value


def kernel_distance_ci(a: np.ndarray, b: np.ndarray, kernel: Literal["rbf", "poly"] = "rbf",
                       bandwidth: float | None = None, *, bootstrap: int = 200, level: float = 0.95,
                       seed: int = 0) -> KernelDistance:
    """`kernel_distance` with a bootstrap interval: clips of both sets resampled with replacement,
    pairs of copies of one clip left out of the within-set means (they would count k(x, x))."""
    a, b = _check_pair(a, b, "kernel_distance_ci" if bootstrap else "kernel_distance")
    if kernel == "rbf" and bandwidth is None:
        bandwidth = median_bandwidth(a)
    k = _kernel(kernel, bandwidth, a.shape[1])
    kxx, kyy, kxy = k(a, a), k(b, b), k(a, b)
    value = _mmd2(kxx, kyy, kxy, np.ones(len(a)), np.ones(len(b)))
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(bootstrap):
        cx = np.bincount(rng.integers(0, len(a), len(a)), minlength=len(a)).astype(np.float64)
        cy = np.bincount(rng.integers(0, len(b), len(b)), minlength=len(b)).astype(np.float64)
        if np.count_nonzero(cx) > 1 and np.count_nonzero(cy) > 1:
            reps.append(_mmd2(kxx, kyy, kxy, cx, cy))
    return KernelDistance(value, _percentiles(reps, level), kernel, bandwidth if kernel == "rbf" else None)
