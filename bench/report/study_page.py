"""The page of one tuning study: reports_dir/studies/<study>.html from studies/<study>.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Collection

from bench.report import study_data as D
from bench.report import study_plots as P
from bench.report.fmt import BETTER, fmt, sort_key
from bench.report.pages import href, run_page, safe_name, study_page, write_page


def render_study(study_json: Path, reports_dir: Path, planned: Collection[Path] = ()) -> Path:
    """Write reports_dir/studies/<study>.html; links go to run pages that exist or are `planned`."""
    study = D.load_study(Path(study_json))
    safe_name(study.name, "study name", study.path)
    page = study_page(Path(reports_dir), study.name)
    figs: dict[str, dict] = {}
    context = _context(study, Path(reports_dir), page.parent, figs, planned)
    return write_page(page, "study.html", root="../", figures=figs, **context)


def _context(study: D.Study, reports_dir: Path, page_dir: Path, figs: dict[str, dict],
             planned: Collection[Path]) -> dict[str, Any]:
    metric = study.metric
    params = D.infer_params(study)
    h = D.history(study)
    if h.numbers or h.pruned_numbers:
        figs["fig-history"] = P.history_figure(h, metric, study.direction)
    curves = D.curves(study)
    if curves:
        figs["fig-intermediate"] = P.curves_figure(curves, metric)
    imp = D.importances(study)
    if imp.params:
        figs["fig-importance"] = P.importance_figure(imp, metric)
    pc = D.parallel(study)
    if pc is not None:
        figs["fig-parallel"] = P.parallel_figure(pc, metric, study.direction)
    slice_ids = []
    for i, s in enumerate(D.slices(study)):
        figs[f"fig-slice-{i}"] = P.slice_figure(s, metric)
        slice_ids.append(f"fig-slice-{i}")

    best = study.best
    link = _run_link(reports_dir, page_dir, planned, study.path.parent.parent)
    best_run = study.best_run or (best.run_dir if best else None)
    return {
        "title": f"study {study.name}", "study": study,
        "better": BETTER.get(study.direction, study.direction),
        "counts": study.counts(), "n_trials": len(study.trials),
        "best": best, "best_value": fmt(best.value) if best else "—",
        "best_run": best_run, "best_run_href": link(best_run),
        "fixed": [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in study.fixed.items()],
        "space": [(p.name, study.space.get(p.name, "—"), _observed(p)) for p in params]
                 + [(k, v, "no trial has it yet") for k, v in study.space.items() if k not in {p.name for p in params}],
        "has_history": "fig-history" in figs, "has_intermediate": "fig-intermediate" in figs,
        "has_parallel": "fig-parallel" in figs, "slices": slice_ids, "importances": imp,
        "trial_columns": [p.name for p in params],
        "trials": [_trial_row(t, params, link) for t in study.trials],
        "has_notes": any(t.note for t in study.trials),
    }


def _observed(p: D.Param) -> str:
    if p.kind == "categorical":
        return "categories seen: " + ", ".join(fmt(c) for c in p.choices)
    scale = ", log scale" if p.log else ""
    return f"{p.kind} from {fmt(p.low)} to {fmt(p.high)}{scale}"


def _run_link(reports_dir: Path, page_dir: Path, planned: Collection[Path], base: Path):
    """A link to a run's page; for a trial folder (no run page), to its run.log if it is there.

    A relative run folder is looked for from the working folder, then beside the studies folder.
    """
    def link(run_dir: str | None) -> str | None:
        if not run_dir:
            return None
        page = href(run_page(reports_dir, Path(run_dir).name), page_dir, planned)
        if page:
            return page
        for folder in (Path(run_dir), base / run_dir):
            if (folder / "run.log").is_file():
                return href(folder / "run.log", page_dir)
        return None

    return link


def _trial_row(t: D.Trial, params: list[D.Param], link) -> dict[str, Any]:
    cells = [(fmt(t.params.get(p.name)) if p.name in t.params else "—", sort_key(t.params.get(p.name)))
             for p in params]
    steps = f"{len(t.intermediate)} (last step {t.intermediate[-1][0]}: {fmt(t.intermediate[-1][1])})" \
        if t.intermediate else "—"
    return {"number": t.number, "state": t.state, "value": fmt(t.value), "value_key": sort_key(t.value),
            "params": cells, "steps": steps, "n_steps": len(t.intermediate),
            "run": t.run_dir, "run_href": link(t.run_dir), "note": t.note}
