"""Nearest-neighbour scores (bench.core.neighbours): precision/recall/density/coverage and memorisation."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.neighbours import RULE, memorisation, prdc


def _gauss(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim))


def _prdc_loops(real, gen, k):
    """Naeem et al. 2020 written out point by point (continuous data: no distance ties)."""
    def kth(x, i):
        return sorted(np.linalg.norm(x[i] - x[j]) for j in range(len(x)) if j != i)[k - 1]

    r_real = [kth(real, i) for i in range(len(real))]
    r_gen = [kth(gen, j) for j in range(len(gen))]
    d = [[np.linalg.norm(real[i] - gen[j]) for j in range(len(gen))] for i in range(len(real))]
    n, m = len(real), len(gen)
    precision = sum(any(d[i][j] < r_real[i] for i in range(n)) for j in range(m)) / m
    recall = sum(any(d[i][j] < r_gen[j] for j in range(m)) for i in range(n)) / n
    density = sum(d[i][j] < r_real[i] for i in range(n) for j in range(m)) / (k * m)
    coverage = sum(min(d[i]) < r_real[i] for i in range(n)) / n
    return precision, recall, density, coverage


def test_prdc_equals_the_definition_written_out():
    real, gen = _gauss(40, 3, 0), _gauss(30, 3, 1) * 1.2 + 0.3
    got = prdc(real, gen, k=4)
    assert got.k == 4
    assert (got.precision, got.recall, got.density, got.coverage) == pytest.approx(_prdc_loops(real, gen, 4))


def test_prdc_identical_sets():
    real = _gauss(300, 8, 0)
    got = prdc(real, real)
    assert (got.precision, got.recall, got.coverage) == (1.0, 1.0, 1.0)
    assert got.density >= 1.0


def test_prdc_identical_sets_have_density_one():
    """Strictly inside a ball, as the reference code counts: a point on its boundary (its own k-th neighbour
    here) is out, or density would be (k + 1) / k."""
    real = _gauss(300, 8, 0)
    assert prdc(real, real).density == pytest.approx(1.0, abs=0.05)


def test_prdc_two_samples_of_one_distribution():
    got = prdc(_gauss(1000, 8, 0), _gauss(1000, 8, 1))
    assert got.precision > 0.9 and got.recall > 0.9
    assert got.density == pytest.approx(1.0, abs=0.1)
    assert got.coverage == pytest.approx(1 - 0.5 ** 5, abs=0.03)  # Naeem et al., Lemma 2, for M = N


def test_prdc_far_away_set_scores_zero():
    real = _gauss(200, 8, 0)
    got = prdc(real, real + 100.0)
    assert (got.precision, got.recall, got.density, got.coverage) == (0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize("noise", [0.0, 1e-3])
def test_prdc_mode_collapse(noise):
    real = _gauss(300, 8, 0)
    collapsed = real[:1] + noise * _gauss(100, 8, 1)  # every generated clip is (nearly) real clip 0
    got = prdc(real, collapsed)
    assert got.precision == 1.0  # high fidelity ...
    assert got.recall < 0.05 and got.coverage < 0.1  # ... no diversity


@pytest.mark.parametrize("n", [2, 3])
def test_prdc_lowers_k_for_tiny_sets(n):
    real, gen = _gauss(n, 4, 0), _gauss(n + 2, 4, 1)
    got = prdc(real, gen, k=5)
    assert got.k == n - 1
    assert all(np.isfinite([got.precision, got.recall, got.density, got.coverage]))


def test_prdc_refuses_a_single_point():
    with pytest.raises(ValueError, match="prdc"):
        prdc(_gauss(1, 4, 0), _gauss(10, 4, 1))


# ---------------------------------------------------------------- memorisation


@pytest.fixture(scope="module")
def train_heldout():
    return _gauss(300, 16, 0), _gauss(150, 16, 1)


def test_exact_copies_of_training_clips_are_flagged(train_heldout):
    train, heldout = train_heldout
    m = memorisation(train, train[:100], heldout)
    assert m.flagged and m.near_copies == 1.0
    assert m.generated_median == 0.0 and m.ratio == 0.0 and m.p_value < 1e-10
    assert m.rule == RULE


def test_noisy_copies_of_training_clips_are_flagged(train_heldout):
    train, heldout = train_heldout
    copies = train[50:150] + 1e-3 * _gauss(100, 16, 2)
    m = memorisation(train, copies, heldout)
    assert m.flagged and m.near_copies > 0.9 and m.ratio < 0.01


def test_a_partial_copier_is_flagged_by_near_copies(train_heldout):
    train, heldout = train_heldout
    gen = np.concatenate([train[:15], _gauss(85, 16, 3)])  # 15% copies
    m = memorisation(train, gen, heldout)
    assert m.flagged and m.near_copies >= 0.15 and m.ratio > 0.5  # the median alone would not see it


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_fresh_draws_are_not_flagged(train_heldout, seed):
    train, heldout = train_heldout
    m = memorisation(train, _gauss(100, 16, seed), heldout)
    assert not m.flagged
    assert m.near_copies < 0.05 and 0.8 < m.ratio < 1.2 and m.p_value > 0.01


def test_memorisation_reports_one_distance_per_clip(train_heldout):
    train, heldout = train_heldout
    gen = _gauss(37, 16, 4)
    m = memorisation(train, gen, heldout)
    assert len(m.generated) == 37 and len(m.heldout) == len(heldout)
    nearest = np.linalg.norm(gen[:, None, :] - train[None, :, :], axis=2).min(axis=1)
    np.testing.assert_allclose(m.generated, nearest, atol=1e-6)  # rounded to 6 decimals
    assert m.generated_median == pytest.approx(np.median(nearest))
    d = m.to_dict()
    assert isinstance(d["generated"], list) and len(d["heldout"]) == len(heldout)


def test_memorisation_needs_two_heldout_clips(train_heldout):
    train, heldout = train_heldout
    with pytest.raises(ValueError, match="memorisation"):
        memorisation(train, train[:5], heldout[:1])
