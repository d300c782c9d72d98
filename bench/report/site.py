"""The report site: the front page, one comparison page per task, and `render_all`.

    render_all(runs_dir, reports_dir, studies_dir, scores_dir)  every page, from the records
    render_runs(run_dirs, runs_dir, reports_dir, studies_dir)   these runs' pages, the index, comparisons
    render_index(runs_dir, reports_dir, studies_dir)            the index and comparison pages

The front page is built from the run records (runs/*/result.json), never from
leaderboard.csv, from the study records (studies/*.json) and from the audio score
records (scores/*.json, `bench score-audio`). A record that cannot be read is named on
the front page and left out; it does not stop the other pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report import comparison as C
from bench.report import records as R
from bench.report import site_plots as P
from bench.report.fmt import BETTER, fmt, p_text, score_text, seconds, sort_key
from bench.report.pages import (
    SAFE_NAME,
    compare_page,
    href,
    run_page,
    safe_name,
    script_json,
    study_page,
    write_page,
)
from bench.report.score_page import load_score, score_page
from bench.report.study_data import Study, load_study


@dataclass
class Site:
    index: Path
    runs: list[Path] = field(default_factory=list)
    studies: list[Path] = field(default_factory=list)
    comparisons: list[Path] = field(default_factory=list)
    scores: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # records that could not be read or rendered


def render_all(runs_dir: Path, reports_dir: Path, studies_dir: Path = Path("studies"),
               scores_dir: Path = Path("scores")) -> Site:
    """Re-render every run page, study page, score page, comparison page and the index."""
    runs = [p.parent for p in sorted(Path(runs_dir).glob(f"*/{R.RESULT_JSON}"))]
    return _render(runs, True, Path(runs_dir), Path(reports_dir), Path(studies_dir), Path(scores_dir))


def render_runs(run_dirs: list[Path], runs_dir: Path, reports_dir: Path,
                studies_dir: Path = Path("studies"), scores_dir: Path = Path("scores")) -> Site:
    """The pages of these runs (say, just finished), then the index and the comparison pages."""
    return _render([Path(d) for d in run_dirs], False, Path(runs_dir), Path(reports_dir), Path(studies_dir),
                   Path(scores_dir))


def render_index(runs_dir: Path, reports_dir: Path, studies_dir: Path = Path("studies"),
                 scores_dir: Path = Path("scores")) -> Site:
    """Write reports_dir/index.html and a comparison page per task with two or more runs."""
    return _render([], False, Path(runs_dir), Path(reports_dir), Path(studies_dir), Path(scores_dir))


def _render(run_dirs: list[Path], with_studies: bool, runs_dir: Path, reports_dir: Path, studies_dir: Path,
            scores_dir: Path) -> Site:
    """Pages link only to pages that exist or that this call writes (`planned`), so the
    order of writing does not decide which links a page gets."""
    from bench.report.run_page import render_run
    from bench.report.score_page import render_score
    from bench.report.study_page import render_study

    records, problems = R.load_records(runs_dir)
    studies, study_problems = _load_studies(studies_dir)
    scores, score_problems = _load_scores(scores_dir)
    boards = R.boards(records)
    by_task: dict[str, list[R.TaskBoard]] = {}
    for b in boards:
        by_task.setdefault(b.task, []).append(b)
    comparisons = {task: C.task_comparison(*bs) for task, bs in by_task.items() if SAFE_NAME.match(task)}
    planned = {compare_page(reports_dir, task) for task, c in comparisons.items() if c is not None}
    planned |= {run_page(reports_dir, r.run_id) for r in records if SAFE_NAME.match(r.run_id)}
    if with_studies:
        planned |= {study_page(reports_dir, s.name) for s in studies if SAFE_NAME.match(s.name)}
        planned |= {score_page(reports_dir, name) for name, _, _ in scores}
    site = Site(reports_dir / "index.html", problems=problems + study_problems + score_problems)
    for run_dir in run_dirs:
        try:
            site.runs.append(render_run(run_dir, reports_dir, planned))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            site.problems.append(R.problem(run_dir / R.RESULT_JSON, exc))
    for study in studies if with_studies else []:
        try:
            site.studies.append(render_study(study.path, reports_dir, planned))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            site.problems.append(f"{study.path}: {exc}")
    for name, path, _ in scores if with_studies else []:
        try:
            site.scores.append(render_score(path, reports_dir))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            site.problems.append(f"{path}: {exc}")
    site.problems = list(dict.fromkeys(site.problems))
    _write_index(site, records, boards, comparisons, studies, scores, reports_dir)
    return site


def _write_index(site: Site, records: list[R.RunRecord], boards: list[R.TaskBoard],
                 comparisons: dict[str, C.TaskComparison | None], studies: list[Study],
                 scores: list[tuple[str, Path, dict]], reports_dir: Path) -> None:
    figs: dict[str, dict] = {}
    tasks = []
    for compare in comparisons.values():
        if compare is not None:
            site.comparisons.append(_render_compare(compare, reports_dir))
    n_boards = {b.task: sum(o.task == b.task for o in boards) for b in boards}
    for i, board in enumerate(boards):
        fig_id = None
        if len(board.best) >= 2:
            fig_id = f"fig-task-{i}"
            figs[fig_id] = P.solutions_figure(board)
        tasks.append(_task_context(board, comparisons.get(board.task), reports_dir, fig_id, n_boards[board.task]))
    write_page(site.index, "index.html", root="", figures=figs, title="leaderboard", tasks=tasks,
               studies=[_study_row(s, reports_dir) for s in studies], n_runs=len(records), problems=site.problems,
               scores=[_score_row(name, record, reports_dir) for name, _, record in scores])


def _load_scores(scores_dir: Path) -> tuple[list[tuple[str, Path, dict]], list[str]]:
    """(name, path, record) of each readable score record, newest first."""
    found, problems = [], []
    for path in sorted(Path(scores_dir).glob("*.json")) if Path(scores_dir).is_dir() else []:
        try:
            record = load_score(path)
            found.append((safe_name(str(record.get("name") or path.stem), "score name", path), path, record))
        except (OSError, ValueError) as exc:
            problems.append(str(exc))
    return sorted(found, key=lambda f: str(f[2].get("created", "")), reverse=True), problems


def _score_row(name: str, record: dict, reports_dir: Path) -> dict[str, Any]:
    position = record.get("position") or {}
    return {"name": name, "href": href(score_page(reports_dir, name), reports_dir),
            "embedding": record.get("embedding", {}).get("name", "?"),
            "generated": record.get("sets", {}).get("generated", {}).get("source", "?"),
            "real": record.get("reference", {}).get("source", "?"), "n": record.get("n", "?"),
            "kernel": fmt(position.get("kernel")), "frechet_inf": fmt(position.get("frechet_inf")),
            "created": record.get("created", "—")}


def _study_files(studies_dir: Path) -> list[Path]:
    return sorted(Path(studies_dir).glob("*.json")) if Path(studies_dir).is_dir() else []


def _load_studies(studies_dir: Path) -> tuple[list[Study], list[str]]:
    studies, problems = [], []
    for path in _study_files(studies_dir):
        try:
            studies.append(load_study(path))
        except (OSError, ValueError) as exc:
            problems.append(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
    return studies, problems


# ---------------------------------------------------------------- the front page

def _task_context(board: R.TaskBoard, compare: C.TaskComparison | None, reports_dir: Path,
                  fig_id: str | None, n_boards: int) -> dict[str, Any]:
    out = {
        "task": board.task, "metric": board.metric, "better": BETTER.get(board.direction, board.direction),
        "data": board.data_text, "synthetic": board.synthetic, "n_boards": n_boards,
        "toc": board.task if n_boards == 1 else
        f"{board.task} · {'embedded data' if board.synthetic else Path(board.data_root).name or 'data not recorded'}",
        "fig": fig_id, "varying": [k.split(".", 1)[-1] for k in board.varying],
        "ranked": [_run_row(r, n + 1, board, reports_dir) for n, r in enumerate(board.ranked)],
        "others": [_run_row(r, None, board, reports_dir) for r in board.others],
        "optimistic": [_run_row(r, n + 1, board, reports_dir) for n, r in enumerate(board.optimistic)],
        "compare_href": None, "compare_pair": None, "compare_opens_here": False,
    }
    if compare is not None:
        a, b = (compare.runs[k].run_id for k in compare.default)
        out["compare_opens_here"] = any(r.run_id == a for r in board.ranked + board.others)
        out["compare_href"] = href(compare_page(reports_dir, board.task), reports_dir)
        out["compare_pair"] = (a, b)
    return out


def _run_row(rec: R.RunRecord, rank: int | None, board: R.TaskBoard, reports_dir: Path) -> dict[str, Any]:
    study = rec.tags.study
    study_href = href(study_page(reports_dir, study), reports_dir) if study and SAFE_NAME.match(study) else None
    tags = [(t, study_href if t == f"study={study}" else None) for t in rec.tags.all if t != "tuned"]
    folds = f"{rec.n_folds} of {rec.n_folds_total}" if rec.n_folds_total > 1 else str(rec.n_folds)
    return {
        "rank": rank, "run_id": rec.run_id, "solution": rec.solution,
        "href": href(run_page(reports_dir, rec.run_id), reports_dir) if SAFE_NAME.match(rec.run_id) else None,
        "score": score_text(rec.score, rec.std), "score_key": sort_key(rec.score),
        "folds": folds, "folds_key": sort_key(rec.n_folds),
        "settings": R.settings_text(rec, board.varying), "tuned": rec.tags.tuned, "study": study,
        "study_href": study_href, "tags": tags, "params": fmt(rec.n_params), "params_key": sort_key(rec.n_params),
        "macs": _millions(rec.macs), "macs_key": sort_key(rec.macs),
        "device": rec.device or "—", "wall": seconds(rec.wall_seconds), "wall_key": sort_key(rec.wall_seconds),
        "finished": _when(rec.finished), "finished_key": rec.finished, "config_hash": rec.config_hash or "—", "code_version": rec.code_version or "—",
        "combined_from": len(rec.combined_from), "synthetic": rec.synthetic,
    }


def _millions(x: int | None) -> str:
    return "—" if x is None else f"{x / 1e6:,.1f}\u00a0M"  # no-break space: the unit stays with the number


def _when(iso: str) -> str:
    """2026-11-22T14:07:07+00:00 -> 2026-11-22 14:07 (records are written in UTC)."""
    return iso[:16].replace("T", " ") if len(iso) >= 16 else (iso or "—")


def _study_row(study: Study, reports_dir: Path) -> dict[str, Any]:
    best = study.best
    best_run = study.best_run or (best.run_dir if best else None)
    name = Path(best_run).name if best_run else None
    return {
        "name": study.name, "href": href(study_page(reports_dir, study.name), reports_dir),
        "task": study.task, "solution": study.solution,
        "metric": f"{study.metric} ({BETTER.get(study.direction, study.direction)})",
        "counts": study.counts(), "n_trials": len(study.trials),
        "best": f"{fmt(best.value)} (trial {best.number})" if best else "—", "best_key": sort_key(best.value if best else None),
        "best_run": name, "best_run_href": href(run_page(reports_dir, name), reports_dir) if name else None,
        "updated": study.updated or "—",
    }


# ---------------------------------------------------------------- comparison pages

def _render_compare(c: C.TaskComparison, reports_dir: Path) -> Path:
    page = compare_page(reports_dir, c.task)
    i, j = c.default
    names = (c.runs[i].run_id, c.runs[j].run_id)
    default = c.pairs[(i, j)]
    runs = [{"id": r.run_id, "solution": r.solution, "score": score_text(r.score, r.std),
             "folds": f"{r.n_folds} of {r.n_folds_total}", "partial": r.partial,
             "href": href(run_page(reports_dir, r.run_id), page.parent),
             "label": f"{r.run_id} · {r.solution} · {score_text(r.score, r.std)}"
                      + (f" (partial: {r.n_folds} of {r.n_folds_total} folds)" if r.partial else "")}
            for r in c.runs]
    # The page's picker only swaps these in: every pair's table and tests are written here.
    pairs = {f"{a}-{b}": {"folds": p.folds, "a": p.a_scores, "b": p.b_scores,
                          "table": _pair_table(p), "tests": _pair_tests(p)}
             for (a, b), p in c.pairs.items()}
    from markupsafe import Markup

    return write_page(page, "compare.html", root="../",
                      figures={"fig-compare": P.compare_figure(default, names, c.metric, c.direction)},
                      title=f"compare runs · {c.task}", task=c.task, metric=c.metric,
                      better=BETTER.get(c.direction, c.direction), runs=runs, default=c.default,
                      table=_pair_table(default), tests=_pair_tests(default), left_out=c.left_out,
                      compare_json=Markup(script_json({"runs": runs, "pairs": pairs})))


def _pair_table(p: C.Pair) -> dict[str, Any]:
    rows = [(name, fmt(a), fmt(b), f"{a - b:+.4f}") for name, a, b in zip(p.folds, p.a_scores, p.b_scores)]
    n = len(p.folds)
    mean = (fmt(sum(p.a_scores) / n), fmt(sum(p.b_scores) / n), f"{p.mean_diff:+.4f}") if n else ("—", "—", "—")
    return {"rows": rows, "mean": mean}


def _pair_tests(p: C.Pair) -> list[tuple[str, str]]:
    n = len(p.folds)
    t_text = p.t_note if p.t is None else f"t = {p.t:.3f}, df = {n - 1}, p = {p_text(p.p_t)}"
    w_text = f"p = {p_text(p.p_wilcoxon)}" if p.p_wilcoxon is not None else \
        "not defined (fewer than 2 shared folds, or every difference is 0)"
    return [("data", p.data.text()), ("shared folds", f"{n} ({', '.join(p.folds)})" if n else "0"),
            ("paired t-test (two-sided)", t_text or "not defined"), ("Wilcoxon signed-rank test (two-sided)", w_text)]
