"""What every figure shares: the layout (title, axis titles, font) and the colours."""

from __future__ import annotations

from typing import Any

FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
STATE_COLOURS = {"COMPLETE": "#1f77b4", "PRUNED": "#d4a72c", "FAIL": "#d62728"}


def layout(title: str, x: str, y: str, **extra: Any) -> dict[str, Any]:
    """A plotly layout with a title and both axis titles; `extra` is merged one level deep."""
    out = {
        "title": {"text": title, "x": 0, "xanchor": "left"},
        "xaxis": {"title": {"text": x}, "automargin": True},
        "yaxis": {"title": {"text": y}, "automargin": True},
        "font": {"family": FONT, "size": 13},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "height": 380, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#fafbfc",
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
