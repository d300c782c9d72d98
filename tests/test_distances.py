"""Distances between embedding sets (bench.core.distances): Fréchet, FAD∞ and the kernel distance.

Every reference value here is computed independently of the library: closed forms on
sample sets whose sample moments are prescribed exactly, `scipy.linalg.sqrtm`,
torchaudio's `frechet_distance`, mpmath at 40 digits, and direct double loops over pairs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.distance import pdist

from bench.core import distances as D
from bench.core.distances import (
    RankDeficientWarning,
    frechet_distance,
    frechet_distance_inf,
    kernel_distance,
    kernel_distance_ci,
    median_bandwidth,
    subset_sizes,
)


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    """These are small matrices: one BLAS thread is as fast on an idle machine and several times
    faster on a loaded one (OpenBLAS threads spin-wait for each other)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        return fn(*args, **kw)


def _rel(x: float, ref: float) -> float:
    return abs(x - ref) / abs(ref)


def _spd(dim: int, rng: np.random.Generator, lo: float = 0.5, hi: float = 3.0) -> np.ndarray:
    """A full, well-conditioned covariance: random orthogonal eigenvectors, eigenvalues in [lo, hi]."""
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return (q * rng.uniform(lo, hi, dim)) @ q.T


def _with_moments(n: int, mu: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """n rows whose SAMPLE mean is mu and SAMPLE covariance (n − 1) is sigma, to rounding."""
    x = rng.normal(size=(n, len(mu)))
    x -= x.mean(0)
    l_x = np.linalg.cholesky(x.T @ x / (n - 1))
    white = scipy.linalg.solve_triangular(l_x, x.T, lower=True).T  # sample covariance I
    return white @ np.linalg.cholesky(sigma).T + mu


def _closed_form(mu_a, sa, mu_b, sb) -> float:
    """‖Δμ‖² + tr(Σa + Σb − 2 (Σa Σb)^½) with scipy's sqrtm of the (non-symmetric) product."""
    root = scipy.linalg.sqrtm(sa @ sb)  # no disp= (removed in SciPy 1.18)
    if np.iscomplexobj(root):
        assert np.abs(root.imag).max() < 1e-10
    d = mu_a - mu_b
    return float(d @ d + np.trace(sa) + np.trace(sb) - 2 * np.trace(root.real))


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize("n_a, n_b, dim", [(40, 55, 6), (300, 200, 12), (100, 100, 30)])
def test_frechet_equals_closed_form_on_samples_with_prescribed_moments(n_a, n_b, dim):
    rng = np.random.default_rng(dim)
    sa, sb = _spd(dim, rng), _spd(dim, rng)
    assert np.abs(sa @ sb - sb @ sa).max() > 0.1  # full and non-commuting: no shortcut formula applies
    mu_a, mu_b = rng.normal(size=dim), rng.normal(size=dim)
    a, b = _with_moments(n_a, mu_a, sa, rng), _with_moments(n_b, mu_b, sb, rng)
    np.testing.assert_allclose(np.cov(a, rowvar=False), sa, atol=1e-12)  # the construction did its job
    np.testing.assert_allclose(b.mean(0), mu_b, atol=1e-12)
    expected = _closed_form(mu_a, sa, mu_b, sb)
    for method in ("auto", "symmetric", "gram"):
        assert _rel(frechet_distance(a, b, method=method), expected) < 1e-9, method
    assert _rel(D.frechet_from_moments(mu_a, sa, mu_b, sb), expected) < 1e-9


def test_frechet_diagonal_covariances_match_the_per_dimension_formula():
    rng = np.random.default_rng(7)
    dim = 9
    var_a, var_b = rng.uniform(0.2, 4.0, dim), rng.uniform(0.2, 4.0, dim)
    mu_a, mu_b = rng.normal(size=dim), rng.normal(size=dim)
    a = _with_moments(500, mu_a, np.diag(var_a), rng)
    b = _with_moments(400, mu_b, np.diag(var_b), rng)
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    for method in ("auto", "symmetric", "gram"):
        assert _rel(frechet_distance(a, b, method=method), expected) < 1e-9, method


def test_frechet_one_dimension_is_the_gaussian_w2():
    rng = np.random.default_rng(3)
    a = _with_moments(50, np.array([1.5]), np.array([[4.0]]), rng)
    b = _with_moments(80, np.array([-0.5]), np.array([[0.25]]), rng)
    assert _rel(frechet_distance(a, b), (1.5 + 0.5) ** 2 + (2.0 - 0.5) ** 2) < 1e-9


# ---------------------------------------------------------------- identical and shifted sets


def test_identical_sets_give_tiny_values_that_are_not_clipped():
    values = []
    for seed in range(40):
        a = np.random.default_rng(seed).normal(size=(100, 64))
        values.append(frechet_distance(a, a))
    values = np.array(values)
    assert np.abs(values).max() < 1e-8
    assert (values < 0).any(), "rounding never made FD(a, a) negative: is the result clipped at zero?"


def test_identical_sets_return_the_unclipped_formula_value():
    # the same check without relying on rounding's sign: the library returns the formula's own value
    a = np.random.default_rng(11).normal(size=(100, 64))
    mu, c = a.mean(0), a - a.mean(0)
    s = c.T @ c / 99
    d = mu - mu
    formula = float(d @ d + np.trace(s) + np.trace(s) - 2 * D.trace_sqrt_product(s, s))
    assert abs(formula) < 1e-12
    # exact equality: the same float operations in the library's order; the value is -5.7e-14 here
    # (OpenBLAS), so a clip at zero would show
    assert frechet_distance(a, a, method="symmetric") == formula


@pytest.mark.parametrize("n, dim, method", [
    (200, 16, "auto"), (200, 16, "symmetric"), (200, 16, "gram"),
    (40, 64, "auto"), (40, 64, "gram"), (40, 64, "symmetric"),
])
def test_shift_gives_squared_norm(n, dim, method):
    rng = np.random.default_rng(n)
    a = rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim))
    delta = rng.normal(size=dim)
    assert _rel(_quiet(frechet_distance, a, a + delta, method=method), delta @ delta) < 1e-9


# ---------------------------------------------------------------- routes agree


SHAPES_FULL_RANK = [(300, 200, 40), (500, 400, 16), (150, 120, 100), (300, 260, 128)]
SHAPES_RANK_DEFICIENT = [(50, 70, 100), (30, 30, 64), (20, 40, 200), (10, 12, 300)]


def _pair(n_a, n_b, dim, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_a, dim)), rng.normal(size=(n_b, dim)) * 1.3 + 0.2


def _torchaudio(a, b) -> float:
    torch = pytest.importorskip("torch")
    ta = pytest.importorskip("torchaudio.functional")

    def t(x):
        return torch.tensor(x, dtype=torch.float64)

    return float(ta.frechet_distance(t(a.mean(0)), t(np.cov(a, rowvar=False)), t(b.mean(0)), t(np.cov(b, rowvar=False))))


@pytest.mark.parametrize("n_a, n_b, dim", SHAPES_FULL_RANK + SHAPES_RANK_DEFICIENT)
def test_routes_agree_with_each_other_torchaudio_and_auto(n_a, n_b, dim):
    a, b = _pair(n_a, n_b, dim)
    sym, gram = _quiet(frechet_distance, a, b, method="symmetric"), _quiet(frechet_distance, a, b, method="gram")
    assert _rel(sym, gram) < 1e-9
    assert _rel(gram, _torchaudio(a, b)) < 1e-6
    assert _quiet(frechet_distance, a, b) in (sym, gram)


def test_gram_route_is_exact_when_rank_deficient_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    n_a, n_b, dim = 6, 8, 16
    a, b = _pair(n_a, n_b, dim)
    with mpmath.workdps(40):
        def moments(x):
            m = mpmath.matrix(x.tolist())
            mu = [mpmath.fsum(m[i, j] for i in range(len(x))) / len(x) for j in range(dim)]
            c = mpmath.matrix(len(x), dim)
            for i in range(len(x)):
                for j in range(dim):
                    c[i, j] = m[i, j] - mu[j]
            return mu, c.T * c / (len(x) - 1)

        (mu_a, sa), (mu_b, sb) = moments(a), moments(b)
        ev = mpmath.eig(sa * sb, left=False, right=False)
        root = mpmath.fsum(mpmath.sqrt(mpmath.re(e)) for e in ev if mpmath.re(e) > mpmath.mpf(10) ** -25)
        exact = float(mpmath.fsum((mu_a[j] - mu_b[j]) ** 2 + sa[j, j] + sb[j, j] for j in range(dim)) - 2 * root)
    assert _rel(_quiet(frechet_distance, a, b, method="gram"), exact) < 1e-12
    # rounding noise in the null space is zeroed before the square root (it once cost 1e-8 relative)
    assert _rel(_quiet(frechet_distance, a, b, method="symmetric"), exact) < 1e-9


# ---------------------------------------------------------------- n < d, and sample-size bias


def test_fewer_rows_than_dimensions_warns_but_kernel_distance_is_fine():
    a, b = _pair(30, 40, 64)
    with pytest.warns(RankDeficientWarning, match="frechet_distance"):
        frechet_distance(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(kernel_distance(a, b))
        assert np.isfinite(kernel_distance(a, b, kernel="poly"))
        frechet_distance(*_pair(65, 70, 64))  # min(N) > D: no warning


def test_sample_size_bias_is_large_for_frechet_and_absent_for_the_kernel_distance():
    rng = np.random.default_rng(1)
    small = rng.normal(size=(2, 40, 128))
    large = rng.normal(size=(2, 2000, 128))
    fd_small, fd_large = _quiet(frechet_distance, *small), frechet_distance(*large)
    assert fd_small / fd_large > 10
    for a, b in (small, large):
        iv = kernel_distance_ci(a, b).interval
        assert iv.low < 0 < iv.high, (len(a), iv)


# ---------------------------------------------------------------- FAD∞


@pytest.fixture(scope="module")
def same_gaussian():
    rng = np.random.default_rng(0)
    return rng.normal(size=(1000, 32)), rng.normal(size=(1000, 32))


@pytest.fixture(scope="module")
def inf_seed0(same_gaussian):
    return frechet_distance_inf(*same_gaussian)


def test_fad_inf_removes_the_sample_size_bias(same_gaussian, inf_seed0):
    raw = frechet_distance(*same_gaussian)
    r = inf_seed0
    assert abs(r.value) < 0.15 * raw
    assert r.interval.low < 0 < r.interval.high
    assert r.interval.replicates == 100 and r.interval.level == 0.95
    assert r.r2 > 0.9
    assert r.ns == subset_sizes(1000) and r.ns[-1] == 1000 and len(r.distances) == len(r.ns)
    assert list(r.distances) == sorted(r.distances, reverse=True)  # larger subsets, smaller FD


def test_fad_inf_recovers_a_mean_shift():
    rng = np.random.default_rng(5)
    dim, n = 32, 4000
    delta = np.full(dim, 0.3)
    r = frechet_distance_inf(rng.normal(size=(n, dim)), rng.normal(size=(n, dim)) + delta, bootstrap=10)
    assert _rel(r.value, delta @ delta) < 0.10
    assert r.interval.low < r.value < r.interval.high


def test_fad_inf_is_seeded(same_gaussian):
    a, b = same_gaussian[0][:400], same_gaussian[1][:400]
    first = frechet_distance_inf(a, b, bootstrap=20, seed=0)
    assert frechet_distance_inf(a, b, bootstrap=20, seed=0) == first
    other = frechet_distance_inf(a, b, bootstrap=20, seed=1)
    assert (other.interval.low, other.interval.high) != (first.interval.low, first.interval.high)


def test_fad_inf_must_draw_without_replacement(same_gaussian, inf_seed0):
    """Subsets drawn WITH replacement extrapolate to the FD between the two finite samples
    (the bias of their size stays); without replacement, to the population's (≈ 0 here)."""
    a, b = same_gaussian
    raw = frechet_distance(a, b)
    rng = np.random.default_rng(123)
    ns = np.array(subset_sizes(len(a)))
    means = [np.mean([frechet_distance(a[rng.integers(0, len(a), n)], b[rng.integers(0, len(b), n)])
                      for _ in range(4)]) for n in ns]
    _, with_replacement = np.polyfit(1.0 / ns, means, 1)
    assert abs(with_replacement - raw) < 0.35 * raw  # stays near the biased full-sample FD
    assert abs(inf_seed0.value) < 0.15 * raw  # the library's is near the true 0
    assert with_replacement > 4 * abs(inf_seed0.value)


def test_subset_sizes_are_even_in_one_over_n():
    ns = subset_sizes(1000)
    assert ns[0] == 250 and ns[-1] == 1000 and len(ns) == 8
    np.testing.assert_allclose(np.diff(1.0 / np.array(ns)), np.diff(1.0 / np.array(ns))[0], rtol=0.02)
    assert subset_sizes(3) == (2, 3)


# ---------------------------------------------------------------- kernel distance


def test_kernel_distance_same_distribution_and_shifted():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    same = kernel_distance_ci(a, b)
    assert same.interval.low < 0 < same.interval.high
    assert same.bandwidth == pytest.approx(np.median(pdist(a)))
    shifted = kernel_distance_ci(a, b + 0.5)
    assert shifted.value > 0 and shifted.interval.low > 0
    poly = kernel_distance_ci(a, b + 0.5, kernel="poly")
    assert poly.value > 0 and poly.interval.low > 0 and poly.bandwidth is None


def _unbiased_mmd2_loops(x, y, k, groups_x=None, groups_y=None) -> float:
    """Direct unbiased MMD²: within-set means over pairs of rows of different clips (groups;
    by default each row its own clip), the cross mean over all pairs."""
    gx = list(range(len(x))) if groups_x is None else list(groups_x)
    gy = list(range(len(y))) if groups_y is None else list(groups_y)

    def within(z, g):
        vals = [k(z[i], z[j]) for i in range(len(z)) for j in range(len(z)) if g[i] != g[j]]
        return sum(vals) / len(vals)

    cross = sum(k(x[i], y[j]) for i in range(len(x)) for j in range(len(y))) / (len(x) * len(y))
    return within(x, gx) + within(y, gy) - 2 * cross


def test_poly_kernel_equals_kid_double_loop():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 0.3
    dim = a.shape[1]
    expected = _unbiased_mmd2_loops(a, b, lambda x, y: (float(x @ y) / dim + 1.0) ** 3)
    assert kernel_distance(a, b, kernel="poly") == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_rbf_kernel_with_explicit_bandwidth_equals_double_loop():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(8, 4)) * 1.5
    sigma = 1.7
    expected = _unbiased_mmd2_loops(a, b, lambda x, y: np.exp(-np.sum((x - y) ** 2) / (2 * sigma ** 2)))
    got = kernel_distance_ci(a, b, "rbf", bandwidth=sigma, bootstrap=0)
    assert got.value == pytest.approx(expected, rel=1e-12, abs=1e-14)
    assert got.bandwidth == sigma and got.interval.replicates == 0
    # default bandwidth: the median pairwise distance of the first set
    sigma_a = float(np.median([np.linalg.norm(a[i] - a[j]) for i in range(6) for j in range(i + 1, 6)]))
    assert median_bandwidth(a) == pytest.approx(sigma_a, rel=1e-12)
    assert kernel_distance(a, b) == pytest.approx(kernel_distance(a, b, bandwidth=sigma_a), rel=1e-12)


def _rbf(sigma):
    return lambda x, y: float(np.exp(-np.sum((x - y) ** 2) / (2 * sigma ** 2)))


def test_multiplicity_counts_equal_explicit_resample_without_same_clip_pairs():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(5, 3)) + 0.4
    ia = np.array([0, 0, 2, 3, 3, 3])  # one bootstrap resample of a, made by hand: clips 1, 4, 5 missing
    ib = np.array([1, 1, 1, 4, 0])
    sigma = 1.3
    explicit = _unbiased_mmd2_loops(a[ia], b[ib], _rbf(sigma), groups_x=ia, groups_y=ib)
    k = D._kernel("rbf", sigma, 3)
    cx = np.bincount(ia, minlength=len(a)).astype(float)
    cy = np.bincount(ib, minlength=len(b)).astype(float)
    counted = D._mmd2(k(a, a), k(b, b), k(a, b), cx, cy)
    assert counted == pytest.approx(explicit, rel=1e-12)
    # and leaving out only the diagonal of the resampled array would be a different number
    naive = _unbiased_mmd2_loops(a[ia], b[ib], _rbf(sigma))
    assert abs(naive - explicit) > 1e-3


def test_kernel_bootstrap_interval_equals_explicit_resamples():
    """The whole public bootstrap, redone with explicit resampled arrays and double loops."""
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(8, 3)), rng.normal(size=(7, 3)) + 0.2
    sigma, reps_wanted, seed = 1.1, 25, 3
    got = kernel_distance_ci(a, b, "rbf", bandwidth=sigma, bootstrap=reps_wanted, seed=seed)
    draw = np.random.default_rng(seed)
    reps = []
    for _ in range(reps_wanted):
        ia, ib = draw.integers(0, len(a), len(a)), draw.integers(0, len(b), len(b))
        if len(set(ia)) > 1 and len(set(ib)) > 1:
            reps.append(_unbiased_mmd2_loops(a[ia], b[ib], _rbf(sigma), groups_x=ia, groups_y=ib))
    low, high = np.percentile(reps, [2.5, 97.5])
    assert got.interval.replicates == len(reps)
    assert got.interval.low == pytest.approx(low, rel=1e-10, abs=1e-14)
    assert got.interval.high == pytest.approx(high, rel=1e-10, abs=1e-14)


# ---------------------------------------------------------------- input checks and public names


GOOD = np.random.default_rng(9).normal(size=(10, 4))
BAD_PAIRS = {
    "mismatched D": (GOOD, GOOD[:, :3]),
    "3-D array": (GOOD[None], GOOD[None]),
    "one row": (GOOD[:1], GOOD),
    "NaN": (np.where(np.eye(10, 4) > 0, np.nan, GOOD), GOOD),
    "inf": (GOOD, np.where(np.eye(10, 4) > 0, np.inf, GOOD)),
}
FUNCTIONS = {
    "frechet_distance": (frechet_distance, "frechet_distance"),
    "frechet_distance_inf": (lambda a, b: frechet_distance_inf(a, b, bootstrap=0), "frechet_distance_inf"),
    "kernel_distance": (kernel_distance, "kernel_distance"),
    # kernel_distance_ci's messages name kernel_distance (the check is shared)
    "kernel_distance_ci": (lambda a, b: kernel_distance_ci(a, b, bootstrap=0), "kernel_distance"),
}


@pytest.mark.parametrize("case", list(BAD_PAIRS))
@pytest.mark.parametrize("fn", list(FUNCTIONS))
def test_bad_inputs_raise_value_error_naming_the_function(fn, case):
    call, name = FUNCTIONS[fn]
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        _quiet(call, *BAD_PAIRS[case])


def test_bad_method_or_kernel_is_refused():
    with pytest.raises(ValueError, match="method"):
        frechet_distance(GOOD, GOOD, method="sqrtm")
    with pytest.raises(ValueError, match="kernel"):
        kernel_distance(GOOD, GOOD, kernel="linear")


def test_public_library_exposes_the_same_objects():
    from bench import metrics
    from bench.core import distances, neighbours

    assert metrics.frechet_distance is distances.frechet_distance
    assert metrics.frechet_distance_inf is distances.frechet_distance_inf
    assert metrics.kernel_distance is distances.kernel_distance
    assert metrics.kernel_distance_ci is distances.kernel_distance_ci
    assert metrics.RankDeficientWarning is distances.RankDeficientWarning
    assert metrics.prdc is neighbours.prdc
    assert metrics.memorisation is neighbours.memorisation
