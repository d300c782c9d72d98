"""Plotly figure dicts for the front page and the comparison pages."""

from __future__ import annotations

from typing import Any

from bench.report.comparison import Pair
from bench.report.fmt import BETTER
from bench.report.plots import COLOURS, layout
from bench.report.records import TaskBoard


def solutions_figure(board: TaskBoard) -> dict[str, Any]:
    best = board.best
    errors = [b.std or 0.0 for b in best]
    bar = {"type": "bar", "orientation": "h", "y": [b.solution for b in best], "x": [b.score for b in best],
           "customdata": [b.run_id for b in best], "marker": {"color": COLOURS[0]},
           "hovertemplate": "%{y}: %{x}<br>%{customdata}<extra></extra>"}
    if any(errors):
        bar["error_x"] = {"type": "data", "array": errors, "visible": True}
    spread = ", bars: ± sample std over folds" if any(errors) else ""
    return {"data": [bar],
            "layout": layout(f"Best run per solution: {board.metric} ({BETTER.get(board.direction, board.direction)}"
                             f"{spread})", board.metric, "solution",
                             yaxis={"autorange": "reversed", "type": "category"},
                             height=max(240, 100 + 36 * len(best)))}


def compare_figure(pair: Pair, names: tuple[str, str], metric: str, direction: str) -> dict[str, Any]:
    """Per-fold scores of runs A and B side by side; the page's picker swaps the data."""
    def bars(label: str, name: str, scores: list[float], colour: str) -> dict[str, Any]:
        return {"type": "bar", "name": f"{label}: {name}", "x": pair.folds, "y": scores,
                "marker": {"color": colour}, "hovertemplate": f"{label} %{{x}}: %{{y}}<extra></extra>"}

    return {"data": [bars("A", names[0], pair.a_scores, COLOURS[0]), bars("B", names[1], pair.b_scores, COLOURS[1])],
            "layout": layout(f"{metric} per fold, run A beside run B ({BETTER.get(direction, direction)})",
                             "fold (scored on its held-out data)", metric, barmode="group",
                             xaxis={"type": "category"},
                             legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}, height=440,
                             margin={"l": 60, "r": 20, "t": 90, "b": 50})}
