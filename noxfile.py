"""Developer sessions. They run in the active environment: torch alone is several GB, and a
fresh virtualenv per session would download it again each time."""

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["tests"]


@nox.session
def tests(session):
    """The README's test command."""
    session.run("python", "-m", "pip", "install", "-q", "-e", ".[test]", "-c", "constraints.txt")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def smoke(session):
    """The whole pipeline on the tiny preset, through the real CLI."""
    session.run("bench", "run", "task=kaggle5", "solution=audiocnn", "preset=tiny")


@nox.session
def measure(session):
    """The runs behind the README's results table (a few minutes on 2 CPU cores)."""
    for solution in ("baseline", "audiocnn"):
        session.run("bench", "run", "task=kaggle5", f"solution={solution}")
    session.run("bench", "leaderboard", "task=kaggle5")


@nox.session
def benchmarks(session):
    """Training throughput, feature-extraction speed and the audio-scoring suite against their baselines
    (about 10 minutes on 2 CPU cores).

    `nox -s benchmarks -- --device cuda` runs them on a GPU.
    """
    for script in ("benchmarks/train_throughput.py", "benchmarks/feature_extraction.py", "benchmarks/gan_throughput.py",
                   "benchmarks/audio_scores.py"):
        session.run("python", script, *session.posargs)
