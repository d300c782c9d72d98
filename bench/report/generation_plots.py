"""Plotly figure dicts for a generation run: real and generated spectrograms side by side, per class."""

from __future__ import annotations

from typing import Any

from bench.report.generation_data import Examples
from bench.report.plots import FONT

ROW_PX = 120


def spectrogram_grid(ex: Examples) -> dict[str, Any]:
    """One row per class, the real example on the left and the generated one on the right, one colour
    scale for all (dB), so a generated clip that is too quiet or too loud shows as such."""
    n = len(ex.labels)
    values = [v for grid in (ex.real, ex.generated) for spec in grid for row in spec for v in row]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    data, axes = [], {}
    gap = 0.04 / max(n, 1)
    for r, label in enumerate(ex.labels):
        top, bottom = 1 - r / n, 1 - (r + 1) / n + gap
        for c, (what, grid) in enumerate((("real", ex.real), ("generated", ex.generated))):
            k = r * 2 + c + 1
            suffix = "" if k == 1 else str(k)
            frames = len(grid[r][0]) if grid[r] else 1
            data.append({"type": "heatmap", "z": grid[r], "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
                         "x": [round(ex.seconds * i / frames, 3) for i in range(frames)],
                         "zmin": lo, "zmax": hi, "colorscale": "Viridis", "showscale": k == 1,
                         "colorbar": {"title": {"text": "dB"}, "len": 0.3, "y": 1, "yanchor": "top"},
                         "name": f"{label} · {what}",
                         "hovertemplate": f"{label} ({what})<br>%{{x:.2f}} s, mel bin %{{y}}: %{{z:.1f}} dB<extra></extra>"})
            # the top row's axes name the columns; the bottom row's carry the time in seconds
            axes[f"xaxis{suffix}"] = {"domain": [c * 0.5 + 0.01, c * 0.5 + 0.49], "anchor": f"y{suffix}",
                                      "showticklabels": r == n - 1,
                                      "title": {"text": what if r == 0 else "time (s)" if r == n - 1 else ""}}
            if r == 0:
                axes[f"xaxis{suffix}"]["side"] = "top"
            axes[f"yaxis{suffix}"] = {"domain": [bottom, top], "anchor": f"x{suffix}", "showticklabels": False,
                                      "title": {"text": label if c == 0 else ""}}
    return {"data": data, "layout": {
        "title": {"text": f"log-mel spectrograms, fold {ex.fold}: one real and one generated clip per class",
                  "x": 0, "xanchor": "left"},
        "font": {"family": FONT, "size": 12}, "height": 110 + ROW_PX * n,
        "margin": {"l": 110, "r": 20, "t": 90, "b": 50}, "paper_bgcolor": "rgba(0,0,0,0)", **axes}}
