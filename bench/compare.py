"""Two runs of one task side by side, fold by fold, with paired tests over the folds."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from bench.config import ConfigError
from bench.rundir import RESULT_JSON


@dataclass
class Comparison:
    task: str
    metric: str
    direction: str
    names: tuple[str, str]
    folds: list[str]
    a: list[float]
    b: list[float]
    mean_diff: float  # mean of a - b over the shared folds
    t: float | None  # paired t statistic
    p_t: float | None  # two-sided p of the paired t-test
    p_wilcoxon: float | None  # two-sided p of the Wilcoxon signed-rank test (exact for small n)

    @property
    def diffs(self) -> list[float]:
        return [x - y for x, y in zip(self.a, self.b)]


def load_result(run_dir: Path) -> dict:
    path = run_dir / RESULT_JSON
    if not path.exists():
        raise ConfigError(f"{run_dir}: no {RESULT_JSON}; is it a finished run folder?")
    return json.loads(path.read_text())


def compare(a: dict, b: dict) -> Comparison:
    if a["task"] != b["task"]:
        raise ConfigError(f"runs of different tasks ({a['task']} vs {b['task']}) cannot be compared")
    score_a = {f["name"]: f["score"] for f in a["folds"]}
    score_b = {f["name"]: f["score"] for f in b["folds"]}
    shared = [name for name in score_a if name in score_b]
    if not shared:
        raise ConfigError(f"runs {a['run_id']} and {b['run_id']} share no fold")
    xa, xb = [score_a[n] for n in shared], [score_b[n] for n in shared]
    t, p_t = paired_t(xa, xb)
    return Comparison(a["task"], a["metric"], a["direction"], (a["run_id"], b["run_id"]), shared, xa, xb,
                      sum(x - y for x, y in zip(xa, xb)) / len(shared), t, p_t, wilcoxon_p(xa, xb))


def paired_t(a: list[float], b: list[float]) -> tuple[float | None, float | None]:
    """Student's paired t-test; None when there are fewer than 2 folds or no spread."""
    from scipy import stats

    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    if n < 2:
        return None, None
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    if sd == 0:
        return None, None
    t = mean / (sd / math.sqrt(n))
    return t, float(2 * stats.t.sf(abs(t), n - 1))


def wilcoxon_p(a: list[float], b: list[float]) -> float | None:
    from scipy import stats

    d = [x - y for x, y in zip(a, b)]
    if len(d) < 2 or all(x == 0 for x in d):
        return None
    return float(stats.wilcoxon(a, b).pvalue)
