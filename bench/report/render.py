"""Draw the report: plotly figure dicts from `figures` data, and the jinja2 pages.

Pages are static files that work offline: plotly.js is copied once beside them and
loaded by a relative path, the CSS is inlined, and figures travel as JSON inside the
page. Every value from a result record is escaped by jinja2's autoescape; the one
hand-made piece of markup (the figure JSON) is escaped for a <script> block below.
"""

from __future__ import annotations

import json
import math
import os
import pkgutil
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.atomic import write_bytes, write_text
from bench.report import figures as F

TEMPLATES = Path(__file__).parent / "templates"
PLOTLY_ASSET = Path("assets") / "plotly.min.js"
# run ids become file names; anything else could write outside reports_dir/runs.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
_DASH = {"train": "dot", "valid": "solid", "test": "dash", "": "solid"}
_BETTER = {"max": "higher is better", "min": "lower is better"}


# ---------------------------------------------------------------- public API

def render_run(run_dir: Path, reports_dir: Path) -> Path:
    """Write reports_dir/runs/<run_id>.html for the result.json in `run_dir`."""
    run_dir, reports_dir = Path(run_dir), Path(reports_dir)
    result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    run_id = str(result.get("run_id") or run_dir.name)
    if not _SAFE_ID.match(run_id):
        raise ValueError(f"{run_dir / 'result.json'}: run_id {run_id!r} is not a safe file name "
                         "(letters, digits, '.', '_', '-')")
    _copy_plotly(reports_dir)
    page = reports_dir / "runs" / f"{run_id}.html"
    figs: dict[str, dict] = {}
    context = _run_context(result, run_id, run_dir, page.parent, figs)
    write_text(page, _page("run.html", root="../", figures=figs, **context))
    return page


def render_index(rows: list[dict[str, str]], reports_dir: Path) -> Path:
    """Write reports_dir/index.html: the leaderboard grouped per task, best first."""
    reports_dir = Path(reports_dir)
    _copy_plotly(reports_dir)
    figs: dict[str, dict] = {}
    groups = []
    for i, group in enumerate(F.leaderboard(rows)):
        fig_id = None
        if len(group.best) >= 2:
            fig_id = f"fig-task-{i}"
            figs[fig_id] = _solutions_figure(group)
        groups.append({"task": group.task, "fig": fig_id,
                       "rows": [_index_row(r, n + 1, reports_dir) for n, r in enumerate(group.rows)]})
    page = reports_dir / "index.html"
    write_text(page, _page("index.html", root="", figures=figs, groups=groups, n_runs=len(rows)))
    return page


# ---------------------------------------------------------------- pages

@lru_cache(maxsize=1)
def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _page(template: str, *, figures: dict[str, dict], **context: Any) -> str:
    from markupsafe import Markup

    css = Markup((TEMPLATES / "style.css").read_text(encoding="utf-8"))
    return _env().get_template(template).render(
        css=css, figures_json=Markup(_script_json(figures)), plotly_src=context["root"] + PLOTLY_ASSET.as_posix(),
        **context)


def _script_json(obj: Any) -> str:
    """JSON that cannot end its <script> block early, whatever class names it holds."""
    text = json.dumps(_clean(obj), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _clean(obj: Any) -> Any:
    # JSON.parse rejects NaN, so a non-finite number becomes a gap (null) instead.
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def _copy_plotly(reports_dir: Path) -> None:
    data = pkgutil.get_data("plotly", "package_data/plotly.min.js")
    if data is None:
        raise RuntimeError("plotly is installed without package_data/plotly.min.js; reinstall plotly")
    target = reports_dir / PLOTLY_ASSET
    # A size check is enough to notice a plotly upgrade and saves rewriting 4 MB per page.
    if not target.is_file() or target.stat().st_size != len(data):
        write_bytes(target, data)


def _run_context(result: dict, run_id: str, run_dir: Path, page_dir: Path,
                 figs: dict[str, dict]) -> dict[str, Any]:
    metric = str(result.get("metric") or "score")
    direction = str(result.get("direction") or "")
    score = _score_text(result.get("score"), result.get("std"))
    title = " · ".join([str(result.get("task") or "?"), str(result.get("solution") or "?"), score])

    curves = []
    for i, curve in enumerate(F.learning_curves(result)):
        figs[f"fig-curve-{i}"] = _curve_figure(curve, len(F.folds(result)))
        curves.append(f"fig-curve-{i}")
    conf = F.confusion(result)
    if conf is not None:
        figs["fig-confusion"] = _confusion_figure(conf)
        figs["fig-class-accuracy"] = _class_accuracy_figure(F.class_accuracy(conf), conf.n_folds)
    scores = F.fold_scores(result)
    if scores is not None:
        figs["fig-folds"] = _fold_scores_figure(scores)
    timing = F.timing(result)
    if timing is not None:
        figs["fig-timing"] = _timing_figure(timing)

    return {
        "title": title, "run_id": run_id, "status": str(result.get("status") or "unknown"),
        "summary": _summary_rows(result, metric, direction),
        "metrics": [(k, _fmt(v)) for k, v in _dict(result.get("metrics")).items()],
        "fold_table": _fold_table(result),
        "notes": _validation_notes(result),
        "curves": curves, "has_folds": bool(F.folds(result)),
        "has_confusion": conf is not None, "has_fold_scores": scores is not None,
        "has_timing": timing is not None,
        "data": _facts(_dict(result.get("data"))),
        "bad_files": _bad_files(result.get("bad_files")),
        "artifacts": _artifacts(result.get("artifacts"), run_dir, page_dir),
        "config": _config_tables(result.get("config")),
        "extra": _facts(_dict(result.get("extra"))),
    }


def _summary_rows(result: dict, metric: str, direction: str) -> list[tuple[str, str]]:
    rows = [
        ("metric", f"{metric} ({_BETTER[direction]})" if direction in _BETTER else metric),
        ("score", _fmt(result.get("score"))),
        ("std", _fmt(result.get("std"))),
        ("folds", _fmt(result.get("n_folds", len(F.folds(result)) or None))),
        ("task kind", _fmt(result.get("task_kind"))),
        ("device", _fmt(result.get("device"))),
        ("wall time", _seconds(result.get("wall_seconds"))),
        ("code version", _fmt(result.get("code_version"))),
        ("config hash", _fmt(result.get("config_hash"))),
        ("status", _fmt(result.get("status"))),
        ("created", _fmt(result.get("created"))),
        ("finished", _fmt(result.get("finished"))),
    ]
    total = result.get("n_folds_total")
    if isinstance(total, int) and total != result.get("n_folds"):
        rows.insert(4, ("cross-validation", f"partial: {result.get('n_folds')} of {total} folds, not on the leaderboard"))
    sources = result.get("combined_from")
    if isinstance(sources, list) and sources:
        rows.insert(4, ("combined from", ", ".join(Path(str(s)).name for s in sources)))
    for key, value in _dict(result.get("complexity")).items():
        rows.append((key, _fmt(value)))
    return rows


def _fold_table(result: dict) -> dict[str, list]:
    """Per-fold facts as a table, without the columns no fold has a value for."""
    folds = F.folds(result)
    metric_names = list(dict.fromkeys(k for f in folds for k in _dict(f.get("metrics"))))
    columns = ["fold", "scored on", "score", *metric_names, "epochs", "best epoch",
               "n_train", "n_valid", "n_test", "resumed from"]
    rows = []
    for i, f in enumerate(folds):
        metrics = _dict(f.get("metrics"))
        rows.append([F.fold_name(f, i), f.get("scored_on"), f.get("score"),
                     *[metrics.get(m) for m in metric_names], len(f.get("history") or []) or None,
                     f.get("best_epoch"), f.get("n_train"), f.get("n_valid"), f.get("n_test"),
                     f.get("resumed_from")])
    keep = [c for c in range(len(columns)) if any(r[c] is not None for r in rows)]
    return {"columns": [columns[c] for c in keep],
            "rows": [[_fmt(r[c]) for c in keep] for r in rows]}


def _validation_notes(result: dict) -> list[tuple[str, str]]:
    """Each distinct note once, with the folds it applies to."""
    notes: dict[str, list[str]] = {}
    for i, f in enumerate(F.folds(result)):
        if f.get("validation_note"):
            notes.setdefault(str(f["validation_note"]), []).append(F.fold_name(f, i))
    n = len(F.folds(result))
    return [("all folds" if len(names) == n and n > 1 else ", ".join(names), note)
            for note, names in notes.items()]


def _bad_files(raw: Any) -> list[tuple[str, str]]:
    rows = []
    for item in raw or []:
        if isinstance(item, (list, tuple)):
            rows.append((str(item[0]) if item else "?", " ".join(str(x) for x in item[1:])))
        elif isinstance(item, dict):
            rows.append((str(item.get("path") or item.get("file") or "?"),
                         str(item.get("reason") or item.get("error") or "")))
        else:
            rows.append((str(item), ""))
    return rows


def _artifacts(raw: Any, run_dir: Path, page_dir: Path) -> list[tuple[str, str, str | None]]:
    """(name, path, link) with a relative link when the file is there to open."""
    rows = []
    for name, rel in (raw or {}).items() if isinstance(raw, dict) else []:
        target = run_dir / str(rel)
        href = None
        if target.exists():
            try:
                href = quote(Path(os.path.relpath(target.resolve(), page_dir.resolve())).as_posix())
            except ValueError:  # another drive on Windows: no relative path exists
                href = None
        rows.append((str(name), str(rel), href))
    return rows


def _config_tables(config: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    if not isinstance(config, dict):
        return []
    order = ["task", "solution", "runner"]
    sections = order + [k for k in config if k not in order]
    tables = []
    for section in sections:
        values = config.get(section)
        if isinstance(values, dict):
            tables.append((section, [(str(k), _config_value(v)) for k, v in values.items()]))
    return tables


def _config_value(v: Any) -> str:
    # Config values are shown as written in an override (`key=value`), so not rounded.
    return v if isinstance(v, str) else json.dumps(v, default=str)


def _facts(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Nested facts as (dotted key, text) rows; a dict of plain values becomes one row."""
    rows = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values()):
            rows += _facts(value, name + ".")
        elif isinstance(value, dict):
            rows.append((name, " · ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) or "—"))
        elif isinstance(value, list):
            shown = ", ".join(_fmt(v) if not isinstance(v, (list, dict)) else json.dumps(v, default=str)
                              for v in value[:20])
            rows.append((name, shown + (f", … ({len(value) - 20} more)" if len(value) > 20 else "") or "—"))
        else:
            rows.append((name, _fmt(value)))
    return rows


def _index_row(row: dict[str, str], rank: int, reports_dir: Path) -> dict[str, Any]:
    run_id = row.get("run_id") or ""
    page = reports_dir / "runs" / f"{run_id}.html"
    linked = bool(_SAFE_ID.match(run_id)) and page.is_file()
    return {
        "rank": rank, "run_id": run_id, "href": f"runs/{run_id}.html" if linked else None,
        "time": row.get("time") or "—", "solution": row.get("solution") or "—",
        "metric": row.get("metric") or "—", "direction": _BETTER.get(row.get("direction") or "", ""),
        "score": _score_text(row.get("score"), row.get("std")), "raw_score": row.get("score") or "",
        "n_folds": row.get("n_folds") or "—", "params": _fmt(_number(row.get("params"))),
        "device": row.get("device") or "—", "wall": _seconds(row.get("wall_seconds")),
        "config_hash": row.get("config_hash") or "—", "code_version": row.get("code_version") or "—",
    }


# ---------------------------------------------------------------- formatting

def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _number(text: Any) -> Any:
    """A leaderboard cell as a number when it is one, else unchanged."""
    if isinstance(text, str):
        try:
            return int(text)
        except ValueError:
            return F.finite(text) if F.finite(text) is not None else (text or None)
    return text


def _fmt(x: Any) -> str:
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


def _score_text(score: Any, std: Any) -> str:
    s, d = F.finite(score), F.finite(std)
    if s is None:
        return "no score"
    return f"{_fmt(s)} ± {_fmt(d)}" if d is not None else _fmt(s)


def _seconds(x: Any) -> str:
    s = F.finite(x)
    if s is None:
        return "—"
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(round(s), 60)
    hours, minutes = divmod(minutes, 60)
    clock = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"
    return f"{s:,.1f} s ({clock})"


# ---------------------------------------------------------------- figures

def _layout(title: str, x: str, y: str, **extra: Any) -> dict[str, Any]:
    layout = {
        "title": {"text": title, "x": 0, "xanchor": "left"},
        "xaxis": {"title": {"text": x}, "automargin": True},
        "yaxis": {"title": {"text": y}, "automargin": True},
        "font": {"family": _FONT, "size": 13},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "height": 380, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#fafbfc",
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _curve_figure(curve: F.LearningCurve, n_folds: int) -> dict[str, Any]:
    fold_names = list(dict.fromkeys(line.fold for line in curve.lines))
    data = []
    for line in curve.lines:
        colour = _COLOURS[fold_names.index(line.fold) % len(_COLOURS)]
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
    return {"data": data, "layout": _layout(f"{curve.quantity.replace('_', ' ')} per epoch",
                                            "epoch", curve.quantity.replace("_", " "),
                                            xaxis={"dtick": max(1, math.ceil(n_epochs / 12))})}


def _confusion_figure(conf: F.Confusion) -> dict[str, Any]:
    n = len(conf.classes)
    folds = f" (summed over {conf.n_folds} folds)" if conf.n_folds > 1 else ""
    return {
        "data": [{
            "type": "heatmap", "x": conf.classes, "y": conf.classes, "z": conf.normalised,
            "text": conf.counts, "texttemplate": "%{text}" if n <= 30 else "",
            "zmin": 0, "zmax": 1, "colorscale": "Blues",
            "colorbar": {"title": {"text": "share of<br>true class"}, "tickformat": ".0%"},
            "hovertemplate": "true %{y}<br>predicted %{x}<br>%{text} clips (%{z:.1%} of row)<extra></extra>",
        }],
        "layout": _layout(f"Confusion matrix{folds}: clip counts, colour = share of the true class",
                          "predicted class", "true class",
                          yaxis={"autorange": "reversed", "type": "category"},
                          xaxis={"type": "category", "tickangle": -30 if n > 6 else 0},
                          height=max(380, 120 + 28 * n)),
    }


def _class_accuracy_figure(acc: F.ClassAccuracy, n_folds: int) -> dict[str, Any]:
    folds = f", {n_folds} folds pooled" if n_folds > 1 else ""
    return {
        "data": [{
            "type": "bar", "x": acc.classes, "y": acc.accuracy, "customdata": acc.support,
            "text": [f"n={s}" for s in acc.support], "textposition": "outside",
            "marker": {"color": _COLOURS[0]},
            "hovertemplate": "%{x}: %{y:.1%} of %{customdata} clips<extra></extra>",
        }],
        "layout": _layout(f"Accuracy per class (recall{folds})", "true class",
                          "accuracy (share of the class's clips)",
                          yaxis={"range": [0, 1.1], "tickformat": ".0%"},
                          xaxis={"type": "category", "tickangle": -30 if len(acc.classes) > 6 else 0}),
    }


def _fold_scores_figure(fs: F.FoldScores) -> dict[str, Any]:
    lo, hi = fs.mean - fs.std, fs.mean + fs.std
    shapes = [
        {"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": lo, "y1": hi,
         "fillcolor": "rgba(214,39,40,0.12)", "line": {"width": 0}, "layer": "below"},
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": fs.mean, "y1": fs.mean,
         "line": {"color": "#d62728", "width": 2, "dash": "dash"}},
    ]
    note = {"xref": "paper", "x": 1, "xanchor": "right", "y": hi, "yanchor": "bottom", "showarrow": False,
            "text": f"mean {_fmt(fs.mean)} ± {_fmt(fs.std)} (sample std over folds)", "font": {"color": "#d62728"}}
    return {
        "data": [{"type": "bar", "x": fs.names, "y": fs.scores, "name": fs.metric,
                  "marker": {"color": _COLOURS[0]}, "text": [_fmt(s) for s in fs.scores],
                  "textposition": "inside", "hovertemplate": "%{x}: %{y}<extra></extra>"}],
        "layout": _layout(f"{fs.metric} per fold ({_BETTER.get(fs.direction, fs.direction)})",
                          "fold", fs.metric, shapes=shapes, annotations=[note],
                          xaxis={"type": "category"}),
    }


def _timing_figure(t: F.Timing) -> dict[str, Any]:
    total = t.wall_seconds or sum(t.seconds)
    wall = f" · wall time {_seconds(t.wall_seconds)}" if t.wall_seconds else ""
    return {
        "data": [{"type": "bar", "orientation": "h", "y": t.stages, "x": t.seconds,
                  "marker": {"color": _COLOURS[2]}, "textposition": "auto",
                  "text": [f"{s:.1f} s ({s / total:.0%})" if total else f"{s:.1f} s" for s in t.seconds],
                  "hovertemplate": "%{y}: %{x:.2f} s<extra></extra>"}],
        "layout": _layout(f"Time per stage{wall}", "time (seconds)", "stage",
                          yaxis={"autorange": "reversed", "type": "category"},
                          height=max(260, 90 + 40 * len(t.stages))),
    }


def _solutions_figure(group: F.TaskGroup) -> dict[str, Any]:
    metric = group.rows[0].get("metric") or "score"
    direction = group.rows[0].get("direction") or ""
    best = group.best
    errors = [b.std or 0.0 for b in best]
    bar = {"type": "bar", "orientation": "h", "y": [b.solution for b in best], "x": [b.score for b in best],
           "customdata": [b.run_id for b in best], "marker": {"color": _COLOURS[0]},
           "hovertemplate": "%{y}: %{x}<br>%{customdata}<extra></extra>"}
    if any(errors):
        bar["error_x"] = {"type": "data", "array": errors, "visible": True}
    return {"data": [bar],
            "layout": _layout(f"Best run per solution: {metric} ({_BETTER.get(direction, direction)})",
                              metric, "solution", yaxis={"autorange": "reversed", "type": "category"},
                              height=max(240, 100 + 36 * len(best)))}
