"""The page of one audio score: reports_dir/scores/<name>.html from scores/<name>.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import score_data as S
from bench.report import score_plots as P
from bench.report.pages import safe_name, write_page


def score_page(reports_dir: Path, name: str) -> Path:
    return Path(reports_dir) / "scores" / f"{name}.html"


def load_score(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable score record ({exc})") from None
    if not isinstance(record, dict) or not str(record.get("schema", "")).startswith("bench.score/"):
        raise ValueError(f"{path}: not a score record (no bench.score schema); `bench score-audio` writes them")
    return record


def render_score(path: Path, reports_dir: Path) -> Path:
    record = load_score(path)
    name = safe_name(str(record.get("name") or Path(path).stem), "score name", Path(path))
    figs: dict[str, dict] = {}
    ladder_figs = []
    for ladder in S.ladders(record):
        figs[f"fig-ladder-{ladder.metric}"] = P.ladder_figure(ladder)
        ladder_figs.append(f"fig-ladder-{ladder.metric}")
    inf = P.inf_figure(record)
    if inf is not None:
        figs["fig-inf"] = inf
    classes = S.class_rows(record)
    titles = record.get("titles", {})
    # a class with too few clips on a side is listed as skipped; with every class skipped there is nothing to draw
    if any(r.kernel for r in classes):
        figs["fig-classes"] = P.class_figure(classes, titles)
    mem = record.get("memorisation")
    if mem:
        figs["fig-memorisation"] = P.memorisation_figure(mem)
    emb = record["embedding"]
    keys_seen = [k for k in ("real", "vocoded", "generated", "shuffled", "pink_noise", "white_noise", "silence")
                 if any(k in r.kernel for r in classes)]
    sets = [record["reference"], *record.get("sets", {}).values()]
    page = score_page(reports_dir, name)
    return write_page(
        page, "score.html", root="../", figures=figs, title=f"score {name}", name=name,
        class_figure="fig-classes" in figs,
        generated_source=record.get("sets", {}).get("generated", {}).get("source", "generated"),
        real_source=record["reference"].get("source", "real"), embedding=emb, dim=record.get("dim"),
        n=record.get("n"), summary=S.summary(record),
        embedding_rows=[(k, v) for k, v in emb.items() if k != "classes"],
        facts=[("created", record.get("created", "—")), ("code version", record.get("code_version", "—")),
               ("record", str(path)), ("seed", record.get("settings", {}).get("seed")),
               ("kernel", record.get("settings", {}).get("kernel")),
               ("bootstrap replicates", record.get("settings", {}).get("bootstrap")),
               *((f"time: {k}", f"{v:.1f} s") for k, v in record.get("timing", {}).items())],
        columns=["set", "Fréchet", "FAD∞ [95% CI]", "R²", "kernel distance [95% CI]", "precision", "recall",
                 "density", "coverage"],
        rows=[(S.ROLES.get(r.key, ""), r.cells()) for r in S.rows_of(record)], ladder_figs=ladder_figs,
        has_inf=inf is not None, classes=classes, class_cols=[(k, titles.get(k, k)) for k in keys_seen],
        fmt=lambda v: "–" if v is None else f"{v:.4g}", memorisation=mem, gan_test=record.get("gan_test"),
        sets=sets, command=record.get("command", "—"))
