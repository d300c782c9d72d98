"""Plotly figure dicts for a run page, drawn from the numbers in `figures`."""

from __future__ import annotations

import math
from typing import Any

from bench.report import figures as F
from bench.report.fmt import BETTER, fmt, seconds
from bench.report.plots import COLOURS, layout

_DASH = {"train": "dot", "valid": "solid", "test": "dash", "": "solid"}


def curve_figure(curve: F.LearningCurve, n_folds: int) -> dict[str, Any]:
    fold_names = list(dict.fromkeys(line.fold for line in curve.lines))
    data = []
    for line in curve.lines:
        colour = COLOURS[fold_names.index(line.fold) % len(COLOURS)]
        label = line.split or curve.quantity
        data.append({
            "type": "scatter", "mode": "lines+markers" if len(line.epochs) <= 30 else "lines",
            "x": line.epochs, "y": line.values, "connectgaps": False,
            "name": f"{line.fold} · {label}" if n_folds > 1 else label, "legendgroup": line.fold,
            "line": {"color": colour, "dash": _DASH.get(line.split, "solid")}, "marker": {"size": 5},
        })
    best_x, best_y, best_text = [], [], []
    for fold, epoch in curve.best_epochs.items():
        # Mark the best epoch on the line it was chosen by: valid when there is one.
        candidates = [ln for ln in curve.lines if ln.fold == fold]
        line = next((ln for ln in candidates if ln.split == "valid"), candidates[0] if candidates else None)
        if line is not None and epoch in line.epochs and line.values[line.epochs.index(epoch)] is not None:
            best_x.append(epoch)
            best_y.append(line.values[line.epochs.index(epoch)])
            best_text.append(fold)
    if best_x:
        data.append({"type": "scatter", "mode": "markers", "x": best_x, "y": best_y, "text": best_text,
                     "name": "best epoch", "hovertemplate": "best epoch %{x} (%{text})<extra></extra>",
                     "marker": {"symbol": "star", "size": 13, "color": "#222"}})
    n_epochs = max((len(line.epochs) for line in curve.lines), default=1)
    return {"data": data, "layout": layout(f"{curve.quantity.replace('_', ' ')} per epoch",
                                            "epoch", curve.quantity.replace("_", " "),
                                            xaxis={"dtick": max(1, math.ceil(n_epochs / 12))})}


# White for an empty cell, darkening with the share of the row (ColorBrewer Blues).
# Plotly's own "Blues" runs the other way, which made empty cells the darkest.
CONFUSION_COLOURS = [[0.0, "#ffffff"], [0.125, "#deebf7"], [0.25, "#c6dbef"], [0.375, "#9ecae1"],
                     [0.5, "#6baed6"], [0.625, "#4292c6"], [0.75, "#2171b5"], [0.875, "#08519c"],
                     [1.0, "#08306b"]]


def confusion_cell_text(conf: F.Confusion) -> list[list[str]]:
    """`count<br>share of the row`, and a bare 0 for an empty cell so the eye skips it."""
    return [[f"{c}<br>{share:.0%}" if c else "0" for c, share in zip(counts, shares)]
            for counts, shares in zip(conf.counts, conf.normalised)]


def confusion_figure(conf: F.Confusion) -> dict[str, Any]:
    n = len(conf.classes)
    folds = f" (summed over {conf.n_folds} folds)" if conf.n_folds > 1 else ""
    return {
        "data": [{
            "type": "heatmap", "x": conf.classes, "y": conf.classes, "z": conf.normalised,
            "text": confusion_cell_text(conf), "customdata": conf.counts,
            "texttemplate": "%{text}" if n <= 30 else "",
            "zmin": 0, "zmax": 1, "colorscale": CONFUSION_COLOURS, "xgap": 1, "ygap": 1,
            "colorbar": {"title": {"text": "share of<br>true class"}, "tickformat": ".0%"},
            "hovertemplate": "true %{y}<br>predicted %{x}<br>%{customdata} clips (%{z:.1%} of row)<extra></extra>",
        }],
        "layout": layout(f"Confusion matrix{folds}: clip counts and share of the true class (row)",
                          "predicted class", "true class",
                          yaxis={"autorange": "reversed", "type": "category"},
                          xaxis={"type": "category", "tickangle": -30 if n > 6 else 0},
                          height=max(380, 120 + 28 * n)),
    }


def class_accuracy_figure(acc: F.ClassAccuracy, n_folds: int) -> dict[str, Any]:
    folds = f", {n_folds} folds pooled" if n_folds > 1 else ""
    return {
        "data": [{
            "type": "bar", "x": acc.classes, "y": acc.accuracy, "customdata": acc.support,
            "text": [f"n={s}" for s in acc.support], "textposition": "outside",
            "marker": {"color": COLOURS[0]},
            "hovertemplate": "%{x}: %{y:.1%} of %{customdata} clips<extra></extra>",
        }],
        "layout": layout(f"Accuracy per class (recall{folds})", "true class",
                          "accuracy (share of the class's clips)",
                          yaxis={"range": [0, 1.1], "tickformat": ".0%"},
                          xaxis={"type": "category", "tickangle": -30 if len(acc.classes) > 6 else 0}),
    }


def fold_scores_figure(fs: F.FoldScores) -> dict[str, Any]:
    lo, hi = fs.mean - fs.std, fs.mean + fs.std
    shapes = [
        {"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": lo, "y1": hi,
         "fillcolor": "rgba(214,39,40,0.12)", "line": {"width": 0}, "layer": "below"},
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": fs.mean, "y1": fs.mean,
         "line": {"color": "#d62728", "width": 2, "dash": "dash"}},
    ]
    note = {"xref": "paper", "x": 1, "xanchor": "right", "y": hi, "yanchor": "bottom", "showarrow": False,
            "text": f"mean {fmt(fs.mean)} ± {fmt(fs.std)} (sample std over folds)", "font": {"color": "#d62728"}}
    return {
        "data": [{"type": "bar", "x": fs.names, "y": fs.scores, "name": fs.metric,
                  "marker": {"color": COLOURS[0]}, "text": [fmt(s) for s in fs.scores],
                  "textposition": "inside", "hovertemplate": "%{x}: %{y}<extra></extra>"}],
        "layout": layout(f"{fs.metric} per fold ({BETTER.get(fs.direction, fs.direction)})",
                          "fold", fs.metric, shapes=shapes, annotations=[note],
                          xaxis={"type": "category"}),
    }


def timing_figure(t: F.Timing) -> dict[str, Any]:
    total = t.wall_seconds or sum(t.seconds)
    wall = f" · wall time {seconds(t.wall_seconds)}" if t.wall_seconds else ""
    return {
        "data": [{"type": "bar", "orientation": "h", "y": t.stages, "x": t.seconds,
                  "marker": {"color": COLOURS[2]}, "textposition": "auto",
                  "text": [f"{s:.1f} s ({s / total:.0%})" if total else f"{s:.1f} s" for s in t.seconds],
                  "hovertemplate": "%{y}: %{x:.2f} s<extra></extra>"}],
        "layout": layout(f"Time per stage{wall}", "time (seconds)", "stage",
                          yaxis={"autorange": "reversed", "type": "category"},
                          height=max(260, 90 + 40 * len(t.stages))),
    }


def residual_figure(res: F.Residuals) -> dict[str, Any]:
    """Predicted against true, one colour per fold, with the identity line a perfect model sits on."""
    n_folds = len(res.series)
    data = [{"type": "scatter", "mode": "markers", "x": s.true, "y": s.pred,
             "name": s.fold if n_folds > 1 else "clips", "marker": {"color": COLOURS[i % len(COLOURS)], "size": 6,
                                                                   "opacity": 0.75},
             "hovertemplate": f"{s.fold}<br>true %{{x:.4g}}<br>predicted %{{y:.4g}}<extra></extra>"}
            for i, s in enumerate(res.series)]
    pad = (res.high - res.low) * 0.05 or 1.0
    span = [res.low - pad, res.high + pad]
    data.append({"type": "scatter", "mode": "lines", "x": span, "y": span, "name": "predicted = true",
                 "hoverinfo": "skip", "line": {"color": "#7f7f7f", "dash": "dash", "width": 1}})
    folds = f" from {n_folds} folds" if n_folds > 1 else ""
    # the numbers on a line of their own: one long title ran under plotly's toolbar
    stats = f"{res.n} clips{folds} · RMSE {fmt(res.rmse)} · bias {fmt(res.bias)} (mean predicted − true)"
    return {"data": data, "layout": layout(
        f"{res.target}: predicted against true<br><span style=\"font-size:12px\">{stats}</span>",
        f"true {res.target}", f"predicted {res.target}",
        # square, both axes over the same span: the plot area shrinks rather than one range growing
        xaxis={"range": span, "constrain": "domain", "zeroline": False},
        yaxis={"range": span, "scaleanchor": "x", "scaleratio": 1, "constrain": "domain", "zeroline": False},
        # top left: where an identity scatter leaves room (it needs predictions far above the truth)
        legend={"x": 0.02, "y": 0.98, "xanchor": "left", "yanchor": "top", "bgcolor": "rgba(255,255,255,0.8)"},
        margin={"t": 70}, height=440)}


def per_class_figure(pc: F.PerClass) -> dict[str, Any]:
    """Grouped bars: a colour per metric, a group per class (the table beside it has the exact values)."""
    folds = f", mean over {pc.n_folds} folds" if pc.n_folds > 1 else ""
    data = [{"type": "bar", "name": m + (f" ({BETTER[pc.directions[m]]})" if m in pc.directions else ""),
             "x": pc.classes, "y": pc.values[m], "marker": {"color": COLOURS[i % len(COLOURS)]},
             "text": [fmt(v) if v is not None else "" for v in pc.values[m]], "textposition": "outside",
             "hovertemplate": f"%{{x}}: {m} %{{y:.4g}}<extra></extra>"}
            for i, m in enumerate(pc.metrics)]
    return {"data": data, "layout": layout(
        f"Scores per class{folds}", "class", pc.metrics[0] if len(pc.metrics) == 1 else "score",
        barmode="group", xaxis={"type": "category", "tickangle": -30 if len(pc.classes) > 6 else 0})}
