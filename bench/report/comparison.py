"""The numbers behind a task's comparison page: per-fold scores of its runs and paired tests.

Every pair of the task's runs (up to MAX_RUNS of them, leaderboard order first) is
tested here with bench.compare's paired t-test and Wilcoxon signed-rank test over the
folds both runs scored, so the page's picker only looks numbers up: no statistics
are computed in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.compare import paired_t, wilcoxon_p
from bench.report.records import RunRecord, TaskBoard

MAX_RUNS = 30  # 870 ordered pairs at most


@dataclass(frozen=True)
class Pair:
    a: int  # indices into TaskComparison.runs
    b: int
    folds: list[str]  # folds both runs scored, in a's order
    a_scores: list[float]
    b_scores: list[float]
    mean_diff: float | None  # mean of a - b over the shared folds
    t: float | None  # paired t statistic, df = len(folds) - 1
    p_t: float | None  # two-sided
    p_wilcoxon: float | None  # two-sided (exact for small n)


@dataclass(frozen=True)
class TaskComparison:
    task: str
    metric: str
    direction: str
    runs: list[RunRecord]
    pairs: dict[tuple[int, int], Pair]  # both orders: (i, j) and (j, i) for i != j
    default: tuple[int, int]  # the best two runs on the leaderboard (else the first two)
    left_out: int  # runs beyond MAX_RUNS


def task_comparison(board: TaskBoard) -> TaskComparison | None:
    """None when the task has fewer than two runs with the board's metric."""
    runs = [r for r in board.ranked + board.others if r.metric == board.metric and r.fold_scores]
    if len(runs) < 2:
        return None
    kept = runs[:MAX_RUNS]
    pairs = {}
    for i in range(len(kept)):
        for j in range(i + 1, len(kept)):
            pairs[(i, j)] = pair(kept, i, j)
            pairs[(j, i)] = swapped(pairs[(i, j)])
    return TaskComparison(board.task, board.metric, board.direction, kept, pairs, (0, 1), len(runs) - len(kept))


def pair(runs: list[RunRecord], i: int, j: int) -> Pair:
    a, b = runs[i].fold_scores, runs[j].fold_scores
    folds = [name for name in a if name in b]
    xa, xb = [a[n] for n in folds], [b[n] for n in folds]
    mean_diff = sum(x - y for x, y in zip(xa, xb)) / len(folds) if folds else None
    t, p_t = paired_t(xa, xb)
    return Pair(i, j, folds, xa, xb, mean_diff, t, p_t, wilcoxon_p(xa, xb))


def swapped(p: Pair) -> Pair:
    """The same pair with A and B exchanged: the differences and t change sign, the p-values do not."""
    return Pair(p.b, p.a, p.folds, p.b_scores, p.a_scores, -p.mean_diff if p.mean_diff is not None else None,
                -p.t if p.t is not None else None, p.p_t, p.p_wilcoxon)
