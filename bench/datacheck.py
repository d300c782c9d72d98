"""`bench data check`: validate a dataset before any training, and describe it.

Reads the layout with the task's own reader (which lists missing, extra and
duplicate files, metadata that disagrees with file names or class ids, and group
leakage across folds), then decodes every file to find unreadable ones, and
summarises durations, sample rates, bit depths, channels, classes, folds and groups.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.audio import BadAudioError, decode
from bench.contracts import LayoutError, TaskData
from bench.datasummary import summarize
from bench.parallel import pmap
from bench.progress import Progress


@dataclass
class CheckReport:
    root: str
    problems: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _decode_problem(path: str) -> str | None:
    try:
        decode(path)
    except BadAudioError as exc:
        return exc.reason
    return None


def describe(data: TaskData) -> dict:
    """Class, fold and group counts of a dataset's labelled clips, plus the file formats."""
    by_fold: dict[str, Counter] = defaultdict(Counter)
    groups: Counter = Counter()
    for c in data.clips:
        by_fold[str(c.fold) if c.fold is not None else "-"][c.label] += 1
        if c.group is not None:
            groups[c.group] += 1
    out = {
        "n_clips": len(data.clips),
        "n_unlabelled": len(data.unlabelled),
        "classes": dict(Counter(c.label for c in data.clips)),
        "clips_per_fold": {k: sum(v.values()) for k, v in sorted(by_fold.items(), key=lambda kv: kv[0].zfill(3))},
        "files": summarize([c.path for c in data.clips + data.unlabelled]),
    }
    if groups:
        sizes = list(groups.values())
        out["groups"] = {"n": len(groups), "clips_min": min(sizes), "clips_mean": round(sum(sizes) / len(sizes), 2),
                         "clips_max": max(sizes)}
    return out


def check(task, cache_dir: Path, *, workers: int = 0, progress: bool = True) -> CheckReport:
    root = str(getattr(task.config, "data_dir", None) or "(embedded synthetic data)")
    report = CheckReport(root)
    try:
        data = task.load(cache_dir, logging.getLogger("bench"))
    except LayoutError as exc:
        report.problems += exc.problems
        return report
    report.root = str(data.root)
    paths = [str(c.path) for c in data.clips + data.unlabelled]
    with Progress(len(paths), "decoding", enabled=progress) as bar:
        for path, reason in zip(paths, pmap(_decode_problem, paths, workers=workers)):
            if reason:
                report.problems.append(f"{path}: {reason}")
            bar.advance()
    report.summary = describe(data)
    report.summary["notes"] = data.notes
    return report
