"""`bench data check`: validate a dataset before any training, and describe it.

Reads the layout with the task's own reader (which lists missing, extra and
duplicate files, metadata that disagrees with file names or class ids, and group
leakage across folds), then puts every file through the frontend's own per-file
checks for a feature spec (the ones a run makes, so the check passes exactly the
files a run accepts), and summarises durations, sample rates, bit depths,
channels, classes, folds and groups.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.contracts import FeatureSpec, LayoutError, TaskData
from bench.core.parallel import pmap
from bench.core.progress import Progress
from bench.data.audio import BadAudioError
from bench.data.frontend import checked_waveform
from bench.data.summary import summarize


@dataclass
class CheckReport:
    root: str
    problems: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    decoded: bool = False  # False when layout problems stopped the check before any file was read

    @property
    def ok(self) -> bool:
        return not self.problems


def default_spec(task) -> FeatureSpec:
    """The frontend's defaults at the task's rate and length, for a check that names no solution."""
    return FeatureSpec("logmel", task.audio.sample_rate, task.audio.clip_seconds)


def _file_problem(job: tuple[str, FeatureSpec]) -> str | None:
    path, spec = job
    try:
        checked_waveform(path, spec)
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


def check(task, cache_dir: Path, spec: FeatureSpec, *, workers: int = 0, progress: bool = True) -> CheckReport:
    """Every problem of the dataset: the layout's, or else every file's under `spec`."""
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
        for path, reason in zip(paths, pmap(_file_problem, [(p, spec) for p in paths], workers=workers)):
            if reason:
                report.problems.append(f"{path}: {reason}")
            bar.advance()
    report.decoded = True
    report.summary = describe(data)
    report.summary["notes"] = data.notes
    return report
