"""Every registered task and solution passes the conformance kit (bench.testing); a new one is covered automatically."""

from __future__ import annotations

import dataclasses

import pytest

from bench import testing
from bench.core import metrics, registry
from bench.core.contracts import MetricSpec, Split, TaskKind

# one cheap pair per kind in the default run; the whole matrix is slow (about 2 minutes on 2 cores)
FAST = {TaskKind.CLASSIFICATION: ("kaggle5", "audiocnn"), TaskKind.GENERATION: ("esc50_gan", "cgan")}
SLOW_PAIRS = [p for p in testing.pairs() if p not in FAST.values()]


@pytest.mark.parametrize("name,kind", testing.solution_kinds())
def test_solution_contract(name, kind, tmp_path):
    testing.check_solution(name, tmp_path, kind)


@pytest.mark.parametrize("name", registry.solutions.names())
def test_solution_takes_the_smallest_input_it_states(name, tmp_path):
    testing.check_min_frames(name, tmp_path)


@pytest.mark.parametrize("name", registry.solutions.names())
def test_solution_settings(name):
    testing.check_params(name)


@pytest.mark.parametrize("name", registry.tasks.names())
def test_task_contract(name, cache_dir):
    testing.check_task(name, cache_dir)


def test_every_kind_with_pairs_has_a_fast_pair():
    kinds = {registry.tasks.get(t).kind for t, _ in testing.pairs()}
    assert kinds == set(FAST) and all(p in testing.pairs() for p in FAST.values())


@pytest.mark.parametrize("task,solution", FAST.values())
def test_tiny_run_of_one_pair_per_kind(task, solution, tmp_path, cache_dir):
    result = testing.check_pair(task, solution, tmp_path, cache_dir)
    # one fold of a cross-validation is partial, and stays off the leaderboard until the others are run
    assert (tmp_path / "leaderboard.csv").exists() != result["partial"] and result["folds"][0]["history"]


@pytest.mark.slow
@pytest.mark.parametrize("task,solution", SLOW_PAIRS)
def test_tiny_run_of_every_pair(task, solution, tmp_path, cache_dir):
    testing.check_pair(task, solution, tmp_path, cache_dir)


# the kit must fail on what it claims to catch


class _Forgetful(registry.solutions.get("baseline")):
    """Reloads all but the biases: predictions shift without any error."""

    def load_state(self, folder):
        super().load_state(folder)
        self.intercept = self.intercept * 0.0


def test_kit_catches_a_solution_that_does_not_reload(tmp_path):
    with pytest.raises(AssertionError, match="reloaded model predicts differently"):
        testing.check_solution(_Forgetful, tmp_path, TaskKind.CLASSIFICATION)


class _Leaky(registry.tasks.get("kaggle5")):
    def splits(self, data, seed):
        s = super().splits(data, seed)[0]
        return [Split(s.name, s.train, s.valid, s.train[:3])]


class _Generous(registry.tasks.get("kaggle5")):
    def score(self, y_true, outputs, data):
        return {"accuracy": 1.0, "macro_f1": 1.0}


@pytest.mark.parametrize("broken,match", [(_Leaky, "in two parts"), (_Generous, "accuracy of constant outputs")])
def test_kit_catches_a_broken_task(broken, match, cache_dir):
    with pytest.raises(AssertionError, match=match):
        testing.check_task(broken, cache_dir)


def test_every_task_names_registered_metrics_of_its_kind():
    """check_metrics alone, with no data: the registry side of every built-in task."""
    for name in registry.tasks.names():
        testing.check_metrics(name)


def _naming(spec: MetricSpec) -> type:
    return type("Named", (registry.tasks.get("kaggle5"),), {"metric": spec})


@pytest.mark.parametrize("spec,match", [
    (MetricSpec("acuracy", "max"), "unknown metric 'acuracy' \\(did you mean 'accuracy'\\?\\)"),
    (MetricSpec("accuracy", "max", ("ccc",)), "metric 'ccc' reads values, but classification tasks produce probabilities"),
    (MetricSpec("accuracy", "min"), "the direction 'min', the metric registry 'max'"),
])
def test_kit_catches_a_task_whose_metrics_disagree_with_the_registry(spec, match):
    with pytest.raises(AssertionError, match=match):
        testing.check_metrics(_naming(spec))


def test_kit_catches_a_registered_metric_that_misjudges_perfect_or_constant_outputs(monkeypatch):
    # an error rate registered as if it were an accuracy: perfect outputs score 0, not its best 1
    inverted = metrics.Metric("error_rate", lambda t, p: 1 - metrics.accuracy(t, p), "max", "probabilities", 1.0, "")
    monkeypatch.setitem(metrics.METRICS, "error_rate", inverted)
    with pytest.raises(AssertionError, match="error_rate of perfect outputs is 0.0, not its best value 1.0"):
        testing.check_metrics(_naming(MetricSpec("accuracy", "max", ("error_rate",))))
    # no best stated: still, a constant guess may not beat perfect outputs
    monkeypatch.setitem(metrics.METRICS, "error_rate", dataclasses.replace(inverted, best=None))
    with pytest.raises(AssertionError, match="error_rate of constant outputs .* beats perfect outputs"):
        testing.check_metrics(_naming(MetricSpec("accuracy", "max", ("error_rate",))))


class _Unnormalised(registry.solutions.get("baseline")):
    """Class scores that are not probabilities: the argmax is right, the metrics that read probabilities are not."""

    def predict(self, x, ctx):
        return super().predict(x, ctx) * 2.0


def test_kit_catches_outputs_that_are_not_probabilities(tmp_path):
    with pytest.raises(AssertionError, match="class probabilities must sum to 1"):
        testing.check_solution(_Unnormalised, tmp_path, TaskKind.CLASSIFICATION)
    testing.check_solution(_Unnormalised, tmp_path / "values", TaskKind.REGRESSION)  # values need not sum to 1


def test_task_conformance_class_runs_the_kit(cache_dir):
    class Broken(testing.TaskConformance):
        task = _Leaky

    Broken.cache_dir = cache_dir
    with pytest.raises(AssertionError, match="in two parts"):
        Broken().test_contract()

    class Misnamed(testing.TaskConformance):
        task = _naming(MetricSpec("acuracy", "max"))

    with pytest.raises(AssertionError, match="did you mean 'accuracy'"):
        Misnamed().test_metrics()
