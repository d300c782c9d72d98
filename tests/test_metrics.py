"""The metric registry: every registered metric on inputs whose value is known by hand, and the registry's refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as sk

from bench.core import metrics

# (truth, outputs, value worked out by hand) for every built-in metric
Y4, P4 = np.array([0, 1, 2, 1]), np.array([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.2, 0.2, 0.6], [0.3, 0.5, 0.2]])
KNOWN = {
    # argmax [0, 2, 2, 1]: three of four right
    "accuracy": (Y4, P4, 0.75),
    # predictions [0, 1, 1, 1] of [0, 0, 1, 1]: F1 2/3 for class 0 and 4/5 for class 1; class 2 is absent from both
    "macro_f1": (np.array([0, 0, 1, 1]), np.eye(3)[[0, 1, 1, 1]], (2 / 3 + 4 / 5) / 2),
    "log_loss": (np.array([0, 1]), np.array([[0.8, 0.2], [0.4, 0.6]]), -(math.log(0.8) + math.log(0.6)) / 2),
    # column 1 is exact (1); column 2 is shifted by one: 2 cov / (vx + vy + 1) = (4/3) / (7/3)
    "ccc": (np.array([[1, 1], [2, 2], [3, 3]]), np.array([[1, 2], [2, 3], [3, 4]]), (1 + 4 / 7) / 2),
    "mse": (np.array([[0.0], [0.0]]), np.array([[1.0], [3.0]]), 5.0),
    "rmse": (np.array([[0.0], [0.0]]), np.array([[1.0], [3.0]]), math.sqrt(5.0)),
    "mae": (np.array([[0.0], [0.0]]), np.array([[1.0], [-3.0]]), 2.0),
    # residual sum of squares 1 against a total of 2
    "r2": (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]), 0.5),
    # (N, C, F, T) features, generated = real: no distance
    "frechet_logmel": (np.random.default_rng(0).normal(size=(40, 1, 3, 5)),
                       np.random.default_rng(0).normal(size=(40, 1, 3, 5)), 0.0),
}


def test_every_builtin_metric_has_a_known_value_here():
    computed = {n for n, m in metrics.METRICS.items() if not m.assessed}  # assessed ones: tests/test_esc50_gan.py
    assert computed <= set(KNOWN), f"add known inputs for {sorted(computed - set(KNOWN))}"


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_metric_on_known_inputs(name):
    truth, outputs, value = KNOWN[name]
    m = metrics.get(name)
    assert m.name == name and m.help
    assert m(truth, outputs) == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_best_value_is_what_perfect_outputs_score(name):
    m = metrics.get(name)
    truth, outputs, _ = KNOWN[name]
    perfect = np.eye(outputs.shape[1])[truth] if m.needs == "probabilities" else np.asarray(truth, float)
    assert m.best is not None and m(truth, perfect) == pytest.approx(m.best, abs=1e-9)


def test_better_follows_the_direction():
    assert metrics.get("accuracy").better(0.9, 0.8) and not metrics.get("accuracy").better(0.8, 0.9)
    assert metrics.get("rmse").better(0.1, 0.2) and not metrics.get("rmse").better(0.2, 0.1)
    assert not metrics.get("ccc").better(0.5, 0.5)


def test_macro_f1_agrees_with_sklearn():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 4, 50), rng.dirichlet(np.ones(5), 50)  # class 4 is never true
    assert metrics.get("macro_f1")(y, p) == pytest.approx(sk.f1_score(y, p.argmax(1), average="macro"))
    assert metrics.get("log_loss")(y, p) == pytest.approx(sk.log_loss(y, p, labels=range(5)))


def test_log_loss_of_a_zero_probability_is_large_not_infinite():
    assert metrics.get("log_loss")(np.array([0]), np.array([[0.0, 1.0]])) == pytest.approx(-math.log(1e-12))


@pytest.mark.parametrize("name,reference", [
    ("mse", sk.mean_squared_error), ("mae", sk.mean_absolute_error),
    ("r2", lambda t, p: sk.r2_score(t, p, multioutput="uniform_average")),
])
def test_regression_metrics_agree_with_sklearn(name, reference):
    rng = np.random.default_rng(2)
    t = rng.normal(size=(30, 2))
    p = t + rng.normal(scale=0.5, size=(30, 2))
    assert metrics.get(name)(t, p) == pytest.approx(reference(t, p))
    # one target as a flat vector is one column
    assert metrics.get(name)(t[:, 0], p[:, 0]) == pytest.approx(reference(t[:, :1], p[:, :1]))


def test_ccc_is_zero_for_a_constant_guess_and_below_one_for_a_scaled_one():
    t = np.array([[1.0], [2.0], [4.0]])
    assert metrics.get("ccc")(t, np.full((3, 1), 7.0)) == 0.0
    assert metrics.get("ccc")(np.ones((3, 1)), np.ones((3, 1))) == 0.0  # no spread on either side: no agreement measured
    assert 0 < metrics.get("ccc")(t, 2 * t) < 1  # perfectly correlated, not concordant


def test_frechet_distance_of_identical_sets_is_zero_and_symmetric():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 4)), rng.normal(size=(150, 4)) * 2 + 1
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), rel=1e-8)
    assert metrics.frechet_distance(a, b) > 1


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    rng = np.random.default_rng(4)
    shift = np.array([1.0, 2.0, 0.0])
    a = rng.normal(size=(500, 3))
    # the same sample moved: equal covariances, so the distance is exactly |shift|^2
    assert metrics.frechet_distance(a, a + shift) == pytest.approx(5.0, rel=1e-8)
    # independent samples of N(0, I) and N(shift, I): |shift|^2 up to sampling error
    b = rng.normal(size=(20000, 3)) + shift
    assert metrics.frechet_distance(rng.normal(size=(20000, 3)), b) == pytest.approx(5.0, abs=0.05)


def test_frechet_distance_of_scaled_gaussians_in_one_dimension():
    """1-D: (m1 - m2)^2 + (s1 - s2)^2; b = 3a + 2 has the mean 3m + 2 and three times a's spread."""
    a = np.random.default_rng(5).normal(size=(300, 1))
    m, s = a.mean(), a.std(ddof=1)
    assert metrics.frechet_distance(a, 3 * a + 2) == pytest.approx((2 * m + 2) ** 2 + (3 * s - s) ** 2, rel=1e-8)


def test_frechet_distance_refuses_mismatched_or_too_small_sets():
    with pytest.raises(ValueError, match="same D"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="same D"):
        metrics.frechet_distance(np.zeros((5, 3, 1)), np.zeros((5, 3, 1)))
    with pytest.raises(ValueError, match="at least two"):
        metrics.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_frechet_logmel_compares_time_averaged_features():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(60, 1, 3, 8))
    # a constant added over time moves the time averages by that constant in every bin
    assert metrics.get("frechet_logmel")(real, real + 0.5) == pytest.approx(3 * 0.25, rel=1e-8)
    # shuffling frames in time changes no time average
    assert metrics.get("frechet_logmel")(real, real[..., ::-1]) == pytest.approx(0.0, abs=1e-8)


def test_a_second_registration_of_a_name_is_refused(monkeypatch):
    monkeypatch.setattr(metrics, "METRICS", dict(metrics.METRICS))
    with pytest.raises(ValueError, match="metric 'accuracy' is already registered \\(bench.core.metrics\\)"):
        metrics.register_metric("accuracy", "max", "probabilities", 1.0, "again")(lambda t, p: 0.0)
    assert metrics.METRICS["accuracy"].fn is metrics.accuracy

    @metrics.register_metric("hit_rate", "max", "probabilities", 1.0, "a plugin's accuracy")
    def hit_rate(t, p):
        return metrics.accuracy(t, p)

    assert metrics.get("hit_rate")(Y4, P4) == 0.75 and metrics.get("hit_rate").direction == "max"
    with pytest.raises(ValueError, match="already registered"):
        metrics.register_metric("hit_rate", "max", "probabilities", 1.0, "twice")(hit_rate)


def test_an_unknown_name_gets_a_suggestion_and_the_list():
    with pytest.raises(KeyError, match="unknown metric 'acuracy' \\(did you mean 'accuracy'\\?\\); metrics: accuracy, ccc"):
        metrics.get("acuracy")
