"""Plotly figure dicts for a score page, drawn from `score_data`."""

from __future__ import annotations

from typing import Any

from bench.report import score_data as S
from bench.report.plots import layout

ROLE_COLOURS = {"floor": "#2ca02c", "generated": "#1f77b4", "ceiling": "#d62728", "control": "#9467bd"}


def ladder_figure(ladder: S.Ladder) -> dict[str, Any]:
    """The metric for every set, floors to ceilings, with bootstrap intervals: where the generated set sits."""
    positive = all(v > 0 for v in ladder.values) and all(lo is None or lo > 0 for lo in ladder.lows)
    # ceilings are often orders of magnitude above the floors; a log axis keeps the floor-to-generated gap visible
    log = positive and max(ladder.values) / min(ladder.values) > 50
    err_plus = [None if hi is None else hi - v for v, hi in zip(ladder.values, ladder.highs)]
    err_minus = [None if lo is None else v - lo for v, lo in zip(ladder.values, ladder.lows)]
    data = [{
        "type": "scatter", "mode": "markers", "x": ladder.values, "y": ladder.labels,
        "marker": {"size": 13, "color": [ROLE_COLOURS.get(r, "#7f7f7f") for r in ladder.roles],
                   "symbol": ["diamond" if r == "generated" else "circle" for r in ladder.roles]},
        "error_x": {"type": "data", "array": [e or 0 for e in err_plus], "arrayminus": [e or 0 for e in err_minus],
                    "visible": any(e is not None for e in err_plus), "thickness": 1.5},
        "hovertemplate": "%{y}: %{x:.4g}<extra></extra>", "name": ladder.title, "showlegend": False,
    }]
    subtitle = "" if ladder.position is None else f" · generated at {ladder.position:.2f} of floor → ceiling"
    xaxis: dict[str, Any] = {"type": "log" if log else "linear"}
    annotations = []
    ordered = sorted(ladder.values)
    if not log and len(ordered) >= 3 and ordered[-2] > 0 and ordered[-1] > 5 * ordered[-2]:
        # one far ceiling (silence, usually) would squash every other point against zero: cut the axis
        # before it and write its value at the edge
        top = 1.25 * max([ordered[-2]] + [h for h in ladder.highs if h is not None and h < ordered[-1]])
        low = min(min(ordered), min((lo for lo in ladder.lows if lo is not None), default=0.0), 0.0)
        xaxis["range"] = [low - 0.05 * (top - low), top]
        for label, v in zip(ladder.labels, ladder.values):
            if v > top:
                annotations.append({"x": top, "y": label, "xref": "x", "yref": "y", "text": f"{v:.3g} →",
                                    "showarrow": False, "xanchor": "right", "font": {"color": "#d62728"}})
    return {"data": data, "layout": layout(
        f"{ladder.title}{subtitle}", ladder.title + (" (log scale)" if log else ""), "set compared with the reference",
        xaxis=xaxis, yaxis={"autorange": "reversed"}, annotations=annotations,
        height=90 + 42 * len(ladder.labels), margin={"l": 200})}


def class_figure(rows: list[S.ClassRow], titles: dict[str, str]) -> dict[str, Any]:
    """Per class, the kernel distance of the real floor, the generated clips and the shuffled-labels control."""
    scored = [r for r in rows if r.skipped is None]
    names = [r.name for r in scored]
    data = []
    for key, colour in (("real", "#2ca02c"), ("generated", "#1f77b4"), ("shuffled", "#9467bd"),
                        ("white_noise", "#d62728")):
        ys = [r.kernel.get(key) for r in scored]
        if any(y is not None for y in ys):
            data.append({"type": "bar", "x": names, "y": ys, "name": titles.get(key, key),
                         "marker": {"color": colour}})
    return {"data": data, "layout": layout("kernel distance per class (lower is closer to the real clips)",
                                           "class", "kernel distance (MMD²)", barmode="group",
                                           legend={"orientation": "h", "y": -0.3})}


def memorisation_figure(mem: dict[str, Any]) -> dict[str, Any]:
    """Distance of each clip to its nearest training clip: generated against held-out real."""
    data = [{"type": "histogram", "x": mem["heldout"], "name": "held-out real clips", "opacity": 0.6,
             "marker": {"color": "#2ca02c"}},
            {"type": "histogram", "x": mem["generated"], "name": "generated clips", "opacity": 0.6,
             "marker": {"color": "#1f77b4"}}]
    return {"data": data, "layout": layout("distance to the nearest training clip", "distance in the embedding",
                                           "clips", barmode="overlay", legend={"orientation": "h", "y": -0.25})}


def inf_figure(record: dict[str, Any]) -> dict[str, Any] | None:
    """FD against 1/n with the fitted line, for the floors and the generated set (the ceilings, far above,
    would flatten them): what FAD∞ extrapolates."""
    data = []
    for key in record.get("order", []):
        inf = (record["scores"].get(key) or {}).get("frechet_inf")
        if not inf or S.ROLES.get(key) == "ceiling":
            continue
        colour = ROLE_COLOURS.get(S.ROLES.get(key, ""), "#7f7f7f")
        xs = [1.0 / n for n in inf["ns"]]
        name = record.get("titles", {}).get(key, key)
        data.append({"type": "scatter", "mode": "markers", "x": xs, "y": inf["distances"], "name": name,
                     "legendgroup": key, "marker": {"color": colour}})
        data.append({"type": "scatter", "mode": "lines", "x": [0.0, max(xs)],
                     "y": [inf["value"], inf["value"] + inf["slope"] * max(xs)], "legendgroup": key,
                     "showlegend": False, "line": {"color": colour, "dash": "dot"},
                     "hovertemplate": f"{name}: FAD∞ %{{y:.4g}} at 1/n = 0<extra></extra>"})
    if not data:
        return None
    return {"data": data, "layout": layout("Fréchet distance against 1/n, and the fit FAD∞ reads at 1/n = 0",
                                           "1 / n (clips a side)", "Fréchet distance",
                                           legend={"orientation": "h", "y": -0.3})}
