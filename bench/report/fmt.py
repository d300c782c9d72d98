"""How numbers, durations and scores read on every page."""

from __future__ import annotations

import math
from typing import Any

from bench.report.figures import finite

BETTER = {"max": "higher is better", "min": "lower is better"}


def as_dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def fmt(x: Any) -> str:
    if x is None or x == "":
        return "—"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"
    return str(x)


def score_text(score: Any, std: Any) -> str:
    s, d = finite(score), finite(std)
    if s is None:
        return "no score"
    # one number of decimals for mean and std, so a column of scores lines up
    places = 3 if abs(s) < 10 else 1
    return f"{s:.{places}f} ± {d:.{places}f}" if d is not None else f"{s:.{places}f}"


def seconds(x: Any) -> str:
    s = finite(x)
    if s is None:
        return "—"
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(round(s), 60)
    hours, minutes = divmod(minutes, 60)
    clock = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"
    return f"{s:,.1f} s ({clock})"


def p_text(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def sort_key(x: Any) -> str:
    """The value a sortable table column sorts by: a plain number, or the text."""
    f = finite(x)
    return repr(f) if f is not None else ("" if x is None else str(x))
