"""Every registered task and solution passes the conformance kit (bench.testing); a new one is covered automatically."""

from __future__ import annotations

import pytest

from bench import registry, testing
from bench.contracts import Split, TaskKind

# one cheap pair per kind in the default run; the whole matrix is slow (about 2 minutes on 2 cores)
FAST = {TaskKind.CLASSIFICATION: ("kaggle5", "audiocnn")}
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
    assert (tmp_path / "leaderboard.csv").exists() and result["folds"][0]["history"]


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


@pytest.mark.parametrize("broken,match", [(_Leaky, "in two parts"), (_Generous, "always predicting class")])
def test_kit_catches_a_broken_task(broken, match, cache_dir):
    with pytest.raises(AssertionError, match=match):
        testing.check_task(broken, cache_dir)



def test_task_conformance_class_runs_the_kit(cache_dir):
    class Broken(testing.TaskConformance):
        task = _Leaky

    Broken.cache_dir = cache_dir
    with pytest.raises(AssertionError, match="in two parts"):
        Broken().test_contract()
