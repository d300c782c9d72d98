"""Two runs of one task side by side, fold by fold, with paired tests over the folds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.core.config import ConfigError
from bench.results.record import RunResult, as_result

# Scores are averages over clips, so folds that differ by the same margin give
# differences equal only up to round-off (0.9 - 0.8 != 0.8 - 0.7 in floats). A spread
# that small is no spread: dividing by it gives t ~ 1e15 and p ~ 1e-47.
REL_TOLERANCE = 1e-9


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
    t_note: str | None  # why there is no t-test, when there is none
    data: "DataMatch"

    @property
    def diffs(self) -> list[float]:
        return [x - y for x, y in zip(self.a, self.b)]


@dataclass(frozen=True)
class DataMatch:
    """Whether two runs scored on the same data, by the data ids in their records."""

    a: str  # data id, "" when the record has none
    b: str
    a_where: str  # the data's folder, for saying which data
    b_where: str

    @property
    def same(self) -> bool | None:
        return None if not (self.a and self.b) else self.a == self.b

    def text(self) -> str:
        if self.same:
            return f"same data (data id {self.a})"
        if self.same is None:
            return "not known: a record has no data id (written by an older bench), so the data may differ"
        return (f"different data: A used data id {self.a} ({self.a_where}), B used data id {self.b} ({self.b_where});"
                " folds are paired by name only, so the paired tests do not compare the runs on the same clips")

    def warning(self) -> str | None:
        if self.same is None:
            return "it is not known whether the two runs used the same data"
        return None if self.same else "the two runs used different data; the paired tests pair folds by name only"


def data_match(a: RunResult, b: RunResult) -> DataMatch:
    da, db = (r.data if isinstance(r.data, dict) else {} for r in (a, b))
    return DataMatch(str(da.get("data_id") or ""), str(db.get("data_id") or ""),
                     data_where(da), data_where(db))


def data_where(data: dict) -> str:
    """Where a record's data came from, in words."""
    root = str(data.get("root") or "folder not recorded")
    return f"embedded synthetic data at {root}" if data.get("synthetic") else root


def compare(a: RunResult | dict, b: RunResult | dict) -> Comparison:
    a, b = as_result(a), as_result(b)
    if a.task != b.task:
        raise ConfigError(f"runs of different tasks ({a.task} vs {b.task}) cannot be compared")
    score_a = {f.name: f.score for f in a.folds}
    score_b = {f.name: f.score for f in b.folds}
    shared = [name for name in score_a if name in score_b]
    if not shared:
        raise ConfigError(f"runs {a.run_id} and {b.run_id} share no fold")
    xa, xb = [score_a[n] for n in shared], [score_b[n] for n in shared]
    t, p_t = paired_t(xa, xb)
    return Comparison(a.task, a.metric, a.direction, (a.run_id, b.run_id), shared, xa, xb,
                      sum(x - y for x, y in zip(xa, xb)) / len(shared), t, p_t, wilcoxon_p(xa, xb),
                      no_t_reason(xa, xb), data_match(a, b))


def differences(a: list[float], b: list[float]) -> list[float]:
    """a - b per fold, snapped to a grid of the tolerance so that round-off neither
    makes equal differences unequal (ties) nor makes a zero difference nonzero."""
    step = _tolerance(a, b)
    return [round((x - y) / step) * step for x, y in zip(a, b)]


def _tolerance(a: list[float], b: list[float]) -> float:
    return REL_TOLERANCE * max([1.0] + [abs(x) for x in list(a) + list(b) if math.isfinite(x)])


def _spread(d: list[float]) -> float:
    mean = sum(d) / len(d)
    return math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1))


def paired_t(a: list[float], b: list[float]) -> tuple[float | None, float | None]:
    """Student's paired t-test; None when there are fewer than 2 folds or no spread
    (a spread below the tolerance counts as none: see `no_t_reason`)."""
    from scipy import stats

    d = differences(a, b)
    n = len(d)
    if n < 2:
        return None, None
    sd = _spread(d)
    if sd <= _tolerance(a, b):
        return None, None
    t = (sum(d) / n) / (sd / math.sqrt(n))
    return t, float(2 * stats.t.sf(abs(t), n - 1))


def no_t_reason(a: list[float], b: list[float]) -> str | None:
    """Why `paired_t` gives no test, in words for the CLI and the page; None when it gives one."""
    n = len(a)
    if n < 2:
        return f"not defined: {n} shared fold{'s' if n != 1 else ''} (it needs 2 or more)"
    d = differences(a, b)
    if _spread(d) <= _tolerance(a, b):
        return (f"not defined: A − B is {sum(d) / n:+.4f} on every fold (equal up to rounding,"
                f" spread below {REL_TOLERANCE:g} of the scores), so there is no spread to test against")
    return None


def wilcoxon_p(a: list[float], b: list[float]) -> float | None:
    from scipy import stats

    d = differences(a, b)
    if len(d) < 2 or all(x == 0 for x in d):
        return None
    return float(stats.wilcoxon(d).pvalue)
