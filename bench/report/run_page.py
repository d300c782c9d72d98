"""The page of one run: reports_dir/runs/<run_id>.html from the run's result.json."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Collection

from bench.report import figures as F
from bench.report import generation_data as GD
from bench.report import generation_plots as GP
from bench.report import run_plots as P
from bench.report.fmt import BETTER, as_dict, fmt, score_text, seconds
from bench.report.pages import (
    SAFE_NAME,
    compare_page,
    href,
    run_page,
    safe_name,
    study_page,
    write_page,
)
from bench.report.records import run_tags
from bench.report.score_page import render_score
from bench.results.record import load_result

log = logging.getLogger("bench")


def render_run(run_dir: Path, reports_dir: Path, planned: Collection[Path] = ()) -> Path:
    """Write reports_dir/runs/<run_id>.html for the result.json in `run_dir`.

    Links go to pages that exist or are `planned` (being written by the same call).
    """
    run_dir, reports_dir = Path(run_dir), Path(reports_dir)
    result = load_result(run_dir).to_json()
    run_id = safe_name(str(result.get("run_id") or run_dir.name), "run_id", run_dir / "result.json")
    page = run_page(reports_dir, run_id)
    figs: dict[str, dict] = {}
    context = _run_context(result, run_id, run_dir, page.parent, figs)
    context["links"] = _links(result, reports_dir, page.parent, planned)
    context["generation"] = _generation(result, run_dir, reports_dir, page.parent, figs)
    return write_page(page, "run.html", root="../", figures=figs, **context)


def _generation(result: dict, run_dir: Path, reports_dir: Path, page_dir: Path,
                figs: dict[str, dict]) -> dict[str, Any] | None:
    """A generation run's scores between floors and ceilings, spectrograms, players and score pages."""
    g = GD.generation(result, run_dir)
    if g is None:
        return None
    if g.examples is not None:
        figs["fig-spectrograms"] = GP.spectrogram_grid(g.examples)
    pages = []
    for fold, emb, path in g.records:
        try:
            pages.append((fold, emb, href(render_score(path, reports_dir), page_dir)))
        except (ValueError, KeyError, OSError) as exc:
            pages.append((fold, emb, None))
            log.warning("score page of fold %s (%s) left out: %s", fold, emb, exc)
    names = dict(GD.METRICS)
    return {
        "scores": [[r.fold, r.embedding, names[r.metric], fmt(r.floor), fmt(r.vocoder_floor), fmt(r.generated),
                    fmt(r.ceiling), fmt(r.position)] for r in g.scores],
        "has_spectrograms": g.examples is not None,
        "players": None if g.players is None else {
            "fold": g.players.fold,
            "clips": [(c, [(p.name, href(p, page_dir)) for p in files]) for c, files in g.players.clips]},
        "pages": pages,
        "classifier": [[r["fold"], fmt(r["gan_test"]), fmt(r["judge_real"]), fmt(r["chance"]), fmt(r["tstr"]),
                        fmt(r["trtr"]), fmt(r["near_copies"]), _yes_no(r["memorised"]), _yes_no(r["obeys"])]
                       for r in g.classifier],
    }


def _yes_no(v: Any) -> str:
    return "—" if v is None else "yes" if v else "no"


def _run_context(result: dict, run_id: str, run_dir: Path, page_dir: Path,
                 figs: dict[str, dict]) -> dict[str, Any]:
    metric = str(result.get("metric") or "score")
    direction = str(result.get("direction") or "")
    score = score_text(result.get("score"), result.get("std"))
    title = " · ".join([str(result.get("task") or "?"), str(result.get("solution") or "?"), score])

    curves = []
    for i, curve in enumerate(F.learning_curves(result)):
        figs[f"fig-curve-{i}"] = P.curve_figure(curve, len(F.folds(result)))
        curves.append(f"fig-curve-{i}")
    conf = F.confusion(result)
    if conf is not None:
        figs["fig-confusion"] = P.confusion_figure(conf)
        figs["fig-class-accuracy"] = P.class_accuracy_figure(F.class_accuracy(conf), conf.n_folds)
    residuals = []
    for i, res in enumerate(F.residuals(result)):
        figs[f"fig-residuals-{i}"] = P.residual_figure(res)
        residuals.append(f"fig-residuals-{i}")
    per_class = F.per_class(result)
    if per_class is not None:
        figs["fig-per-class"] = P.per_class_figure(per_class)
    scores = F.fold_scores(result)
    if scores is not None:
        figs["fig-folds"] = P.fold_scores_figure(scores)
    timing = F.timing(result)
    if timing is not None:
        figs["fig-timing"] = P.timing_figure(timing)

    return {
        "title": title, "run_id": run_id, "status": str(result.get("status") or "unknown"),
        "summary": _summary_rows(result, metric, direction),
        "metrics": [(k, fmt(v)) for k, v in as_dict(result.get("metrics")).items()],
        "fold_table": _fold_table(result),
        "notes": _validation_notes(result),
        "curves": curves, "has_folds": bool(F.folds(result)),
        "has_confusion": conf is not None, "has_fold_scores": scores is not None,
        "residuals": residuals, "per_class": _per_class_table(per_class),
        "has_timing": timing is not None,
        "memory": [(name, f"{mib:,.0f} MiB") for name, mib in F.memory(result)],
        "data": _facts(as_dict(result.get("data"))),
        "bad_files": _bad_files(result.get("bad_files"), result),
        "skipped_test": _skipped_test(as_dict(result.get("skipped_unlabelled"))),
        "artifacts": _artifacts(result.get("artifacts"), run_dir, page_dir),
        "config": _config_tables(result.get("config")),
        "extra": _facts(as_dict(result.get("extra"))),
    }


def _summary_rows(result: dict, metric: str, direction: str) -> list[tuple[str, str]]:
    rows = [
        ("metric", f"{metric} ({BETTER[direction]})" if direction in BETTER else metric),
        ("score", fmt(result.get("score"))),
        ("std", fmt(result.get("std"))),
        ("folds", fmt(result.get("n_folds", len(F.folds(result)) or None))),
        ("task kind", fmt(result.get("task_kind"))),
        ("device", fmt(result.get("device"))),
        ("wall time", seconds(result.get("wall_seconds"))),
        ("code version", fmt(result.get("code_version"))),
        ("config hash", fmt(result.get("config_hash"))),
        ("status", fmt(result.get("status"))),
        ("created", fmt(result.get("created"))),
        ("finished", fmt(result.get("finished"))),
    ]
    total = result.get("n_folds_total")
    if isinstance(total, int) and total != result.get("n_folds"):
        rows.insert(4, ("cross-validation", f"partial: {result.get('n_folds')} of {total} folds, not on the leaderboard"))
    sources = result.get("combined_from")
    if isinstance(sources, list) and sources:
        rows.insert(4, ("combined from", ", ".join(Path(str(s)).name for s in sources)))
    for key, value in as_dict(result.get("complexity")).items():
        rows.append((key, fmt(value)))
    return rows


def _fold_table(result: dict) -> dict[str, list]:
    """Per-fold facts as a table, without the columns no fold has a value for."""
    folds = F.folds(result)
    metric_names = list(dict.fromkeys(k for f in folds for k in as_dict(f.get("metrics"))))
    columns = ["fold", "scored on", "score", *metric_names, "epochs", "best epoch",
               "n_train", "n_valid", "n_test", "resumed from"]
    rows = []
    for i, f in enumerate(folds):
        metrics = as_dict(f.get("metrics"))
        rows.append([F.fold_name(f, i), f.get("scored_on"), f.get("score"),
                     *[metrics.get(m) for m in metric_names], len(f.get("history") or []) or None,
                     f.get("best_epoch"), f.get("n_train"), f.get("n_valid"), f.get("n_test"),
                     f.get("resumed_from")])
    keep = [c for c in range(len(columns)) if any(r[c] is not None for r in rows)]
    return {"columns": [columns[c] for c in keep],
            "rows": [[fmt(r[c]) for c in keep] for r in rows]}


def _per_class_table(pc: F.PerClass | None) -> dict[str, list] | None:
    if pc is None:
        return None
    columns = ["class", *(f"{m} ({BETTER[pc.directions[m]]})" if m in pc.directions else m for m in pc.metrics)]
    rows = [[c, *(fmt(pc.values[m][i]) for m in pc.metrics)] for i, c in enumerate(pc.classes)]
    return {"columns": columns, "rows": rows}


def _validation_notes(result: dict) -> list[tuple[str, str]]:
    """Each distinct note once, with the folds it applies to."""
    notes: dict[str, list[str]] = {}
    for i, f in enumerate(F.folds(result)):
        if f.get("validation_note"):
            notes.setdefault(str(f["validation_note"]), []).append(F.fold_name(f, i))
    n = len(F.folds(result))
    return [("all folds" if len(names) == n and n > 1 else ", ".join(names), note)
            for note, names in notes.items()]


def _bad_files(raw: Any, result: dict) -> list[tuple[str, str, str]]:
    """(file, reason, what became of it); records made before `skipped_unlabelled` existed leave the last empty."""
    skipped_test = as_dict(result.get("skipped_unlabelled"))
    test_paths = set(map(str, skipped_test.get("paths") or []))
    rows = []
    for item in raw or []:
        if isinstance(item, (list, tuple)):
            path, reason = (str(item[0]) if item else "?", " ".join(str(x) for x in item[1:]))
        elif isinstance(item, dict):
            path, reason = (str(item.get("path") or item.get("file") or "?"),
                            str(item.get("reason") or item.get("error") or ""))
        else:
            path, reason = str(item), ""
        if path in test_paths:
            fate = f"unlabelled (test) file: {skipped_test.get('rows') or 'skipped'}"
        elif "skipped_unlabelled" in result:
            fate = "labelled: left out before splitting, so never trained, validated or scored on"
        else:
            fate = ""
        rows.append((path, reason, fate))
    return rows


def _skipped_test(raw: dict) -> dict[str, Any] | None:
    """Unlabelled files skipped as bad audio and what their outputs hold, or None."""
    files = [str(f) for f in raw.get("files") or []]
    return {"files": files, "rows": str(raw.get("rows") or "")} if files else None


def _artifacts(raw: Any, run_dir: Path, page_dir: Path) -> list[tuple[str, str, str | None]]:
    """(name, path, link) with a relative link when the file is there to open."""
    return [(str(name), str(rel), href(run_dir / str(rel), page_dir))
            for name, rel in (raw.items() if isinstance(raw, dict) else [])]


def _links(result: dict, reports_dir: Path, page_dir: Path, planned: Collection[Path]) -> dict[str, Any]:
    """The run's tags, and links to its study page (or pages) and its task's comparison page.

    Nested tuning has no study of the record's name: each outer fold was tuned by a study
    of its own (`NAME.outerK`), so the page links those instead.
    """
    tags = run_tags(result)
    study = tags.study
    task = str(result.get("task") or "")
    tuning = as_dict(result.get("tuning"))
    outer = _outer_studies(tuning, reports_dir, page_dir, planned) if tuning.get("nested") else []
    return {
        "tags": tags.all,
        "trial": tuning.get("trial"),
        "study": study,
        "study_href": href(study_page(reports_dir, study), page_dir, planned) if study and not outer else None,
        "outer": outer,
        "compare_href": href(compare_page(reports_dir, task), page_dir, planned) if task else None,
    }


def _outer_studies(tuning: dict, reports_dir: Path, page_dir: Path,
                   planned: Collection[Path]) -> list[dict[str, Any]]:
    """(outer fold, its study, the study's trial that was refitted, a link to the study page)."""
    out = []
    for o in tuning.get("outer") or []:
        if not isinstance(o, dict) or not o.get("study"):
            continue
        name = str(o["study"])
        link = href(study_page(reports_dir, name), page_dir, planned) if SAFE_NAME.match(name) else None
        out.append({"fold": o.get("fold"), "study": name, "trial": o.get("trial"), "href": link})
    return out


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
            rows.append((name, " · ".join(f"{k}: {fmt(v)}" for k, v in value.items()) or "—"))
        elif isinstance(value, list):
            shown = ", ".join(fmt(v) if not isinstance(v, (list, dict)) else json.dumps(v, default=str)
                              for v in value[:20])
            rows.append((name, shown + (f", … ({len(value) - 20} more)" if len(value) > 20 else "") or "—"))
        else:
            rows.append((name, fmt(value)))
    return rows
