"""The numbers and files behind a generation run's page: what its folds' assessments kept.

Plain data, read from the record (`FoldResult.assessment`, written by
`bench.scoring.rounds`) and from the files the assessment left in each fold's folder:
real and generated example spectrograms (`generated/examples.npz`), the generated WAV
files, and the full score records (`scores/<embedding>.json`). A record without an
assessment (another kind, an older run) gives None; a missing file gives what is there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import figures as F

METRICS = (("kernel", "kernel distance"), ("frechet_inf", "FAD∞"))
TIME_STEP = 2  # every second frame of an example: half the numbers in the page, the shape kept


@dataclass(frozen=True)
class Examples:
    fold: str
    labels: list[str]  # one real and one generated example per class, in class order
    real: list[list[list[float]]]  # (n_mels, frames / TIME_STEP) in dB
    generated: list[list[list[float]]]
    seconds: float  # the clip's duration (the x axis)


@dataclass(frozen=True)
class ScoreRow:
    fold: str
    embedding: str
    metric: str
    generated: float | None
    floor: float | None
    vocoder_floor: float | None
    ceiling: float | None
    position: float | None


@dataclass(frozen=True)
class Players:
    fold: str
    clips: list[tuple[str, list[Path]]]  # (class, generated WAV files)


@dataclass
class Generation:
    scores: list[ScoreRow] = field(default_factory=list)
    examples: Examples | None = None
    players: Players | None = None
    records: list[tuple[str, str, Path]] = field(default_factory=list)  # (fold, embedding, score record file)
    classifier: list[dict[str, Any]] = field(default_factory=list)  # per fold: GAN-test, TSTR, memorisation


def _assessed(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for i, fold in enumerate(F.folds(result)):
        a = fold.get("assessment")
        if isinstance(a, dict) and isinstance(a.get("generated"), dict):
            out.append((F.fold_name(fold, i), a))
    return out


def generation(result: dict[str, Any], run_dir: Path, per_class: int = 2) -> Generation | None:
    folds = _assessed(result)
    if not folds:
        return None
    g = Generation()
    for name, a in folds:
        folder = Path(run_dir) / "folds" / name
        for emb, s in (a.get("scores") or {}).items():
            for metric, _ in METRICS:
                g.scores.append(ScoreRow(name, emb, metric, *(F.finite((s.get(k) or {}).get(metric))
                                                                for k in ("generated", "floor", "vocoder_floor", "ceiling")),
                                         F.finite((s.get("position") or {}).get(metric))))
            if isinstance(s.get("file"), str) and (folder / s["file"]).is_file():
                g.records.append((name, emb, folder / s["file"]))
        g.classifier.append(_classifier_row(name, a))
    name, a = folds[0]
    g.examples = _examples(name, a, Path(run_dir) / "folds" / name)
    g.players = _players(name, a, Path(run_dir) / "folds" / name, per_class)
    return g


def _classifier_row(fold: str, a: dict[str, Any]) -> dict[str, Any]:
    gan, tstr, memo = a.get("gan_test") or {}, a.get("tstr") or {}, a.get("memorisation") or {}
    check = a.get("condition_check") or {}
    return {"fold": fold, "gan_test": F.finite(gan.get("accuracy")), "judge_real": F.finite(gan.get("real_accuracy")),
            "chance": F.finite(gan.get("chance")),
            "tstr": F.finite((tstr.get("train_on_generated") or {}).get("accuracy")),
            "trtr": F.finite((tstr.get("train_on_real") or {}).get("accuracy")),
            "near_copies": F.finite(memo.get("near_copies")), "memorised": memo.get("flagged"),
            "obeys": check.get("obeys"), "wilcoxon_p": F.finite(check.get("wilcoxon_p"))}


def _examples(fold: str, a: dict[str, Any], folder: Path) -> Examples | None:
    gen = a["generated"]
    path = folder / str(gen.get("dir", "generated")) / str(gen.get("examples", "examples.npz"))
    if not path.is_file():
        return None
    with np.load(path) as d:
        labels = [str(x) for x in d["labels"]]
        real, generated = d["real"], d["generated"]
    first = [labels.index(c) for c in dict.fromkeys(labels)]  # one example per class

    def rows(x: np.ndarray) -> list[list[list[float]]]:
        return [np.round(x[i, 0, :, ::TIME_STEP], 1).tolist() for i in first]

    spec = gen.get("spec") or {}
    frames = real.shape[-1]
    seconds = frames * float(spec.get("hop_length", 512)) / float(spec.get("sample_rate", 22050))
    return Examples(fold, [labels[i] for i in first], rows(real), rows(generated), round(seconds, 3))


def _players(fold: str, a: dict[str, Any], folder: Path, per_class: int) -> Players | None:
    gen = a["generated"]
    base = folder / str(gen.get("dir", "generated"))
    by_class: dict[str, list[Path]] = {}
    for rel in gen.get("files") or []:
        label = str(rel).split("/", 1)[0]
        path = (base / str(rel)).resolve()
        # the record may come from elsewhere: only files inside the fold's generated folder are linked
        if path.is_relative_to(base.resolve()) and path.is_file() and len(by_class.setdefault(label, [])) < per_class:
            by_class[label].append(path)
    return Players(fold, sorted(by_class.items())) if by_class else None
