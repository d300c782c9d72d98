"""Plotly figure dicts for a study page, drawn from the numbers in `study_data`.

Every figure is SVG (no WebGL trace types), so it draws in any browser, headless ones
included; the parallel-coordinates plot is therefore drawn with one line per trial
over normalised axes rather than with plotly's WebGL `parcoords`.
"""

from __future__ import annotations

import math
from typing import Any

from bench.report import study_data as D
from bench.report.fmt import BETTER, fmt
from bench.report.plots import COLOURS, STATE_COLOURS, layout

# Viridis, sampled: dark = low objective, yellow = high.
_SCALE = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]


def history_figure(h: D.History, metric: str, direction: str) -> dict[str, Any]:
    data = [
        {"type": "scatter", "mode": "markers", "x": h.numbers, "y": h.values, "name": "complete trial",
         "marker": {"color": STATE_COLOURS["COMPLETE"], "size": 8},
         "hovertemplate": "trial %{x}: %{y}<extra></extra>"},
        {"type": "scatter", "mode": "lines", "x": h.numbers, "y": h.best_so_far, "name": "best so far",
         "line": {"color": COLOURS[3], "shape": "hv"}, "hovertemplate": "best after trial %{x}: %{y}<extra></extra>"},
    ]
    if h.pruned_numbers:
        data.append({"type": "scatter", "mode": "markers", "x": h.pruned_numbers, "y": h.pruned_values,
                     "name": "pruned (last reported value)",
                     "marker": {"color": STATE_COLOURS["PRUNED"], "symbol": "x", "size": 9},
                     "hovertemplate": "trial %{x} pruned at %{y}<extra></extra>"})
    failed = f" · failed trials (no value): {', '.join(map(str, h.failed))}" if h.failed else ""
    return {"data": data, "layout": layout(
        f"Optimization history: {metric} per trial ({BETTER.get(direction, direction)}){failed}",
        "trial number", metric, xaxis={"dtick": _dtick(h.numbers + h.pruned_numbers), "zeroline": False})}


def curves_figure(curves: list[D.Curve], metric: str) -> dict[str, Any]:
    data, seen = [], set()
    for c in curves:
        colour = STATE_COLOURS.get(c.state, COLOURS[7])
        data.append({"type": "scatter", "mode": "lines+markers", "x": c.steps, "y": c.values,
                     "name": c.state.lower(), "legendgroup": c.state, "showlegend": c.state not in seen,
                     "line": {"color": colour, "width": 1.5}, "marker": {"size": 5}, "text": [c.number] * len(c.steps),
                     "hovertemplate": f"trial {c.number} ({c.state.lower()})<br>step %{{x}}: %{{y}}<extra></extra>"})
        seen.add(c.state)
    steps = [s for c in curves for s in c.steps]
    return {"data": data, "layout": layout(f"Intermediate {metric} reported by each trial (what the pruner saw)",
                                           "step (as reported to the pruner)", metric,
                                           xaxis={"dtick": _dtick(steps), "zeroline": False})}


def importance_figure(imp: D.Importances, metric: str) -> dict[str, Any]:
    fanova = imp.method is not None and imp.method.startswith("optuna")
    axis = "importance (share of the objective's variance)" if fanova else "importance (normalised |Spearman ρ|)"
    return {"data": [{"type": "bar", "orientation": "h", "y": imp.params, "x": imp.values,
                      "marker": {"color": COLOURS[0]}, "text": [f"{v:.0%}" for v in imp.values],
                      "textposition": "auto", "hovertemplate": "%{y}: %{x:.3f}<extra></extra>"}],
            "layout": layout(f"Parameter importances for {metric}", axis, "parameter",
                             xaxis={"range": [0, max([*imp.values, 0.01]) * 1.1], "tickformat": ".0%"},
                             yaxis={"autorange": "reversed", "type": "category"},
                             height=max(240, 110 + 40 * len(imp.params)))}


def parallel_figure(pc: D.Parallel, metric: str, direction: str) -> dict[str, Any]:
    axes = [*pc.axes, pc.objective]
    xs = list(range(len(axes)))
    lo, hi = pc.objective.low or 0.0, pc.objective.high or 0.0
    # Better trials are drawn last, on top of the others.
    order = sorted(pc.lines, key=lambda ln: ln[2] if direction == "max" else -ln[2])
    data = [{"type": "scatter", "mode": "lines", "x": xs, "y": pos, "connectgaps": False, "showlegend": False,
             "line": {"color": _colour((value - lo) / (hi - lo) if hi > lo else 0.5), "width": 2},
             "opacity": 0.8, "hovertemplate": f"trial {number}: {metric} {fmt(value)}<extra></extra>"}
            for number, pos, value in order]
    data.append({"type": "scatter", "mode": "markers", "x": [xs[-1]] * len(order), "y": [ln[1][-1] for ln in order],
                 "showlegend": False, "hovertemplate": f"{metric} %{{marker.color}}<extra></extra>",
                 "marker": {"size": 9, "color": [ln[2] for ln in order], "cmin": lo, "cmax": hi,
                            "colorscale": [[i / (len(_SCALE) - 1), c] for i, c in enumerate(_SCALE)],
                            "colorbar": {"title": {"text": metric}}, "line": {"width": 1, "color": "#fff"}}})
    shapes = [{"type": "line", "x0": x, "x1": x, "y0": 0, "y1": 1, "line": {"color": "#59636e", "width": 1}}
              for x in xs]
    notes = [note for x, p in zip(xs, axes) for note in _axis_labels(x, p)]
    return {"data": data, "layout": layout(
        f"Parallel coordinates of the complete trials (colour: {metric})", "parameter",
        "position in each axis's range (bottom: low, top: high)",
        xaxis={"tickvals": xs, "ticktext": [_axis_name(p) for p in axes], "range": [-0.4, xs[-1] + 0.4],
               "showgrid": False, "zeroline": False},
        yaxis={"range": [-0.08, 1.08], "showticklabels": False, "showgrid": False, "zeroline": False},
        shapes=shapes, annotations=notes, height=460, margin={"l": 60, "r": 20, "t": 50, "b": 90})}


def slice_figure(s: D.Slice, metric: str) -> dict[str, Any]:
    p = s.param
    xaxis: dict[str, Any] = {"type": "log" if p.log else ("category" if p.kind == "categorical" else "linear")}
    return {"data": [{"type": "scatter", "mode": "markers", "x": [fmt(x) if p.kind == "categorical" else x
                                                                  for x in s.x], "y": s.y,
                      "customdata": s.numbers, "name": p.name,
                      "marker": {"size": 9, "color": s.numbers, "colorscale": [[0, "#9ecae1"], [1, "#08306b"]], "showscale": True,
                                 "colorbar": {"title": {"text": "trial number"}}, "line": {"width": 1, "color": "#1f2328"}},
                      "hovertemplate": f"trial %{{customdata}}<br>{p.name} = %{{x}}<br>{metric} = %{{y}}<extra></extra>"}],
            "layout": layout(f"{metric} against {p.name}", _axis_name(p), metric, xaxis=xaxis, height=340)}


def _dtick(values: list[int]) -> int:
    """Whole-number ticks, about a dozen at most."""
    span = max(values) - min(values) if values else 0
    return max(1, math.ceil(span / 12))


def _axis_name(p: D.Param) -> str:
    return p.name + (" (log scale)" if p.log else "")


def _axis_labels(x: int, p: D.Param) -> list[dict[str, Any]]:
    if p.kind == "categorical":
        ticks = [(p.position(c), fmt(c)) for c in p.choices]
    elif p.low == p.high:
        ticks = [(0.5, fmt(p.low))]
    else:
        ticks = [(0.0, fmt(p.low)), (1.0, fmt(p.high))]
    return [{"x": x, "y": y, "text": text, "showarrow": False, "xanchor": "left", "xshift": 4,
             "font": {"size": 11, "color": "#59636e"}, "bgcolor": "rgba(255,255,255,0.7)"} for y, text in ticks]


def _colour(share: float) -> str:
    """A colour on _SCALE at `share` (0 to 1), interpolated in RGB."""
    share = min(1.0, max(0.0, share)) * (len(_SCALE) - 1)
    i = min(int(share), len(_SCALE) - 2)
    a, b = _SCALE[i], _SCALE[i + 1]
    mix = [round(int(a[k:k + 2], 16) + (int(b[k:k + 2], 16) - int(a[k:k + 2], 16)) * (share - i)) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in mix)
