"""Several `bench tune` workers on one PostgreSQL study: exact trial count, killed workers retried."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import optuna
import pgserver
import pytest
from optuna.trial import TrialState

from bench.results import leaderboard
from bench.run.resolve import resolve
from bench.tuning import study_record

TINY = ("task=kaggle5", "preset=tiny", "progress=false", "report=false")
postgres_url = pytest.fixture(scope="session")(pgserver.serve)


@pytest.fixture
def dataset(cache_dir) -> None:
    """Write the embedded dataset first: workers started together must not race to create it."""
    res = resolve({"task": "kaggle5", "solution": "baseline", "preset": "tiny"})
    res.task_cls(res.task).load(cache_dir, logging.getLogger("bench"))


def start(tmp_path, cache_dir, *args: str) -> subprocess.Popen:
    env = {**os.environ, "BENCH_CACHE_DIR": str(cache_dir)}
    return subprocess.Popen([sys.executable, "-m", "bench", "tune", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{out}\n{err}"
    return out + err


def test_workers_share_one_study_and_finish_exactly_the_requested_trials(postgres_url, dataset, tmp_path, cache_dir):
    url = postgres_url
    args = (*TINY, "solution=baseline", "study=shared", f"storage={url}", "trials=6", "alpha=1")
    workers = [start(tmp_path, cache_dir, *args) for _ in range(3)]
    logs = [finish(w) for w in workers]
    assert pgserver.PASSWORD not in "".join(logs)  # the URL is shown with its password redacted

    trials = optuna.load_study(study_name="shared", storage=url.replace("postgresql:", "postgresql+psycopg:")).trials
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) == len(trials)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 6
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    # a trial that lost the race for the last places is the only kind of extra one, marked as such
    assert all("surplus" in t.user_attrs for t in trials if t.state == TrialState.FAIL)
    # exactly one worker reran the best trial
    rows = leaderboard.read(tmp_path / "leaderboard.csv").rows
    assert len(rows) == 1 and "tuned;study=shared" in rows[0]["tags"]
    record = study_record(tmp_path / "studies" / "shared.json")
    assert record["best_run"] == rows[0]["run_dir"] and pgserver.PASSWORD not in record["storage"]
    assert len(record["trials"]) == len(trials)


def test_a_killed_worker_leaves_no_running_trial(postgres_url, dataset, tmp_path, cache_dir):
    url = postgres_url
    storage = url.replace("postgresql:", "postgresql+psycopg:")
    args = (*TINY, "solution=audiocnn", "epochs=6", "patience=6", "study=killed", f"storage={url}", "trials=1",
            "pruner=none", "heartbeat=1", "grace_period=3", "rerun=false")
    victim = start(tmp_path, cache_dir, *args)
    deadline = time.monotonic() + 240
    running = None
    while running is None:  # wait until a trial is in the middle of its epochs
        assert time.monotonic() < deadline and victim.poll() is None, finish(victim)
        time.sleep(0.3)
        try:
            trials = optuna.load_study(study_name="killed", storage=storage).trials
        except KeyError:
            continue
        running = next((t for t in trials if t.state == TrialState.RUNNING and len(t.intermediate_values) >= 2), None)
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    finish(start(tmp_path, cache_dir, *args))
    trials = {t.number: t for t in optuna.load_study(study_name="killed", storage=storage).trials}
    assert trials[running.number].state == TrialState.FAIL  # its heartbeat stopped
    retry = [t for t in trials.values() if t.system_attrs.get("failed_trial") == running.number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].params == running.params
    assert retry[0].user_attrs["run_dir"] == running.user_attrs["run_dir"]  # its epochs were not redone
    assert not [t for t in trials.values() if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert [t.state for t in trials.values()] == [TrialState.FAIL, TrialState.COMPLETE]
    log = (tmp_path / running.user_attrs["run_dir"] / "run.log").read_text()
    assert "resuming from the checkpoint" in log
