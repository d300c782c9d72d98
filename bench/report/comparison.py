"""The numbers behind a task's comparison page: per-fold scores of its runs and paired tests.

Every pair of the task's runs (up to MAX_RUNS of them, leaderboard order first) is
tested here with bench.results.compare's paired t-test and Wilcoxon signed-rank test over the
folds both runs scored, so the page's picker only looks numbers up: no statistics
are computed in the browser. A task's runs on every data set are on its page, and
each pair says whether its two runs used the same data (bench.results.compare.DataMatch);
the page opens on the best two runs of one data set.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.report.records import RunRecord, TaskBoard
from bench.results.compare import (
    DataMatch,
    data_where,
    no_t_reason,
    paired_t,
    wilcoxon_p,
)

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
    t_note: str | None  # why there is no t-test, when there is none
    data: DataMatch


@dataclass(frozen=True)
class TaskComparison:
    task: str
    metric: str
    direction: str
    runs: list[RunRecord]
    pairs: dict[tuple[int, int], Pair]  # both orders: (i, j) and (j, i) for i != j
    default: tuple[int, int]  # the best two runs on the leaderboard (else the first two)
    left_out: int  # runs beyond MAX_RUNS


def task_comparison(*boards: TaskBoard) -> TaskComparison | None:
    """The runs of one task's boards (one per data set, the first leading); None when
    there are fewer than two runs with the first board's metric."""
    first = boards[0]
    runs = [r for b in boards for r in b.ranked + b.others if r.metric == first.metric and r.fold_scores]
    if len(runs) < 2:
        return None
    kept = runs[:MAX_RUNS]
    pairs = {}
    for i in range(len(kept)):
        for j in range(i + 1, len(kept)):
            pairs[(i, j)] = pair(kept, i, j)
            pairs[(j, i)] = swapped(pairs[(i, j)])
    return TaskComparison(first.task, first.metric, first.direction, kept, pairs, _default(kept),
                          len(runs) - len(kept))


def _default(runs: list[RunRecord]) -> tuple[int, int]:
    """The best two runs on the same data (the runs come best first per data set)."""
    for i, r in enumerate(runs):
        for j in range(i + 1, len(runs)):
            if runs[j].data_key == r.data_key:
                return i, j
    return 0, 1


def pair(runs: list[RunRecord], i: int, j: int) -> Pair:
    a, b = runs[i].fold_scores, runs[j].fold_scores
    folds = [name for name in a if name in b]
    xa, xb = [a[n] for n in folds], [b[n] for n in folds]
    mean_diff = sum(x - y for x, y in zip(xa, xb)) / len(folds) if folds else None
    t, p_t = paired_t(xa, xb)
    ra, rb = runs[i], runs[j]
    data = DataMatch(ra.data_id, rb.data_id, data_where({"root": ra.data_root, "synthetic": ra.synthetic}),
                     data_where({"root": rb.data_root, "synthetic": rb.synthetic}))
    return Pair(i, j, folds, xa, xb, mean_diff, t, p_t, wilcoxon_p(xa, xb), no_t_reason(xa, xb), data)


def swapped(p: Pair) -> Pair:
    """The same pair with A and B exchanged: the differences and t change sign, the p-values do not."""
    d = p.data
    return Pair(p.b, p.a, p.folds, p.b_scores, p.a_scores, -p.mean_diff if p.mean_diff is not None else None,
                -p.t if p.t is not None else None, p.p_t, p.p_wilcoxon,
                no_t_reason(p.b_scores, p.a_scores), DataMatch(d.b, d.a, d.b_where, d.a_where))
