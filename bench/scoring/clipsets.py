"""The clips a score compares: a folder of audio files, or the clips of a task's folds.

    DIR                      every audio file under DIR; files in DIR/<class>/ are labelled <class>
    task:NAME                every labelled clip of a task (its embedded data, or data_dir=)
    task:NAME:5              the clips of fold 5; task:NAME:1,2,3,4 those of folds 1 to 4

A task's clips keep their grouping key (the source recording: ESC-50's src_file,
UrbanSound8K's fsID), so that the real clips are halved by recording, as folds are.

Files are decoded once with bench's decoder (`bench.data.audio`: soundfile, with the
same checks as a run), averaged to mono, and kept at their own rate, or resampled at
once to `sample_rate` (the embedding's: a 96 kHz dataset would otherwise sit in memory
at 96 kHz); `at(rate)` gives them at any rate. A bad file stops the command with every
bad file listed, unless skip_bad is set.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torchaudio

from bench.core.config import ConfigError
from bench.data.audio import BadAudioError, decode, to_mono
from bench.data.features import raise_bad_files

AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".mp3", ".ogg")
TASK_PREFIX = "task:"


@dataclass
class ClipSet:
    name: str  # what the record calls it: "generated", "real (half A)", "white noise", ...
    waves: list[np.ndarray]  # mono float32, each at its own rate
    rates: list[int]
    labels: list[str | None]
    origins: list[str]  # the file, or how the clip was made
    source: str  # the folder, task spec or control that made the set
    groups: list[str | None] | None = None  # source recordings (a task's grouping key); None: each clip its own
    file_rates: list[int] | None = None  # the files' own rates, where the clips were resampled on loading
    _resampled: dict[int, list[np.ndarray]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.waves)

    @classmethod
    def from_waves(cls, waves: Sequence[np.ndarray], sample_rate: int, labels: Sequence[str | None] | None = None,
                   name: str = "clips", source: str = "waveforms in memory") -> ClipSet:
        """Clips already in memory (mono, one rate)."""
        waves = [np.ascontiguousarray(w, np.float32).reshape(-1) for w in waves]
        labels = list(labels) if labels is not None else [None] * len(waves)
        if len(labels) != len(waves):
            raise ValueError(f"{name}: {len(waves)} clips but {len(labels)} labels")
        return cls(name, waves, [int(sample_rate)] * len(waves), labels,
                   [f"{name}[{i}]" for i in range(len(waves))], source)

    @classmethod
    def from_features(cls, features: np.ndarray, spec, labels: Sequence[str | None] | None = None,
                      name: str = "generated", n_iter: int = 32, seed: int = 0,
                      levels: dict[str, float] | None = None) -> ClipSet:
        """(N, 1, n_mels, T) log-mel features in dB (`spec`'s frontend) rendered to audio (inverse mel,
        Griffin-Lim): how a spectrogram generator's output is scored in an audio embedding. `levels`: the
        RMS each label's clips are brought to (a label without one keeps the rendered level)."""
        from bench.data.render import render

        x = np.asarray(features)
        if x.ndim != 4 or x.shape[1] != 1 or spec.kind != "logmel":
            raise ValueError(f"{name}: from_features renders (N, 1, n_mels, T) log-mel features, got {x.shape}"
                             f" of kind {spec.kind}")
        names = list(labels) if labels is not None else [None] * len(x)
        waves = [render(x[i, 0], spec, n_iter=n_iter, seed=seed + i, level=(levels or {}).get(names[i]))
                 for i in range(len(x))]
        loudness = ", loudness of the class's real training clips" if levels else ""
        return cls.from_waves(waves, spec.sample_rate, labels, name,
                              f"{len(x)} log-mel spectrograms rendered by Griffin-Lim ({n_iter} iterations){loudness}")

    def at(self, rate: int) -> list[np.ndarray]:
        """Every clip resampled to `rate` (kept for the next call)."""
        if rate not in self._resampled:
            self._resampled[rate] = [w if r == rate else resample(w, r, rate) for w, r in zip(self.waves, self.rates)]
        return self._resampled[rate]

    def seconds(self) -> np.ndarray:
        return np.array([len(w) / r for w, r in zip(self.waves, self.rates)])

    def subset(self, index: Sequence[int], name: str | None = None) -> ClipSet:
        idx = [int(i) for i in index]
        return ClipSet(name or self.name, [self.waves[i] for i in idx], [self.rates[i] for i in idx],
                       [self.labels[i] for i in idx], [self.origins[i] for i in idx], self.source,
                       None if self.groups is None else [self.groups[i] for i in idx],
                       None if self.file_rates is None else [self.file_rates[i] for i in idx])

    def group_of(self, i: int) -> str:
        """The source recording of clip i: its group where known, else the clip itself."""
        g = self.groups[i] if self.groups is not None else None
        return g if g is not None else f"#clip{i}:{self.origins[i]}"

    def classes(self) -> list[str]:
        return sorted({lab for lab in self.labels if lab is not None})

    def rows_of(self, label: str) -> np.ndarray:
        return np.array([i for i, lab in enumerate(self.labels) if lab == label], dtype=np.int64)

    def describe(self) -> dict:
        sec = self.seconds()
        counts = {c: len(self.rows_of(c)) for c in self.classes()}
        return {"name": self.name, "source": self.source, "n": len(self), "seconds_total": round(float(sec.sum()), 3),
                "seconds_mean": round(float(sec.mean()), 3) if len(sec) else 0.0,
                "seconds_min": round(float(sec.min()), 3) if len(sec) else 0.0,
                "seconds_max": round(float(sec.max()), 3) if len(sec) else 0.0,
                "sample_rates": sorted(set(self.file_rates or self.rates)), "classes": counts}


def resample(wave: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    return torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(wave, np.float32)),
                                          rate_in, rate_out).numpy()


def load(spec: str, name: str, *, data_dir: Path | None = None, cache_dir: Path | None = None,
         skip_bad: bool = False, sample_rate: int | None = None, log: logging.Logger | None = None) -> ClipSet:
    """The clips `spec` names (a folder, or task:NAME[:FOLDS]), decoded."""
    log = log or logging.getLogger("bench")
    if spec.startswith(TASK_PREFIX):
        paths, labels, groups = _task_clips(spec, data_dir, cache_dir, log)
    else:
        paths, labels = _folder_clips(Path(spec).expanduser(), name)
        groups = [None] * len(paths)
    return from_files(paths, labels, groups, name, spec, skip_bad=skip_bad, sample_rate=sample_rate, log=log)


def from_files(paths: Sequence[Path], labels: Sequence[str | None], groups: Sequence[str | None], name: str,
               source: str, *, skip_bad: bool = False, sample_rate: int | None = None,
               log: logging.Logger | None = None) -> ClipSet:
    """These files decoded (mono; at `sample_rate` if given), with their labels and groups."""
    log = log or logging.getLogger("bench")
    waves, rates, file_rates, keep, bad = [], [], [], [], []
    for i, path in enumerate(paths):
        try:
            d = decode(path)
        except BadAudioError as exc:
            bad.append((str(path), exc.reason))
            continue
        mono = to_mono(d.samples)
        if sample_rate is not None and d.sample_rate != sample_rate:
            mono = resample(mono, d.sample_rate, sample_rate)
        waves.append(mono)
        rates.append(sample_rate or d.sample_rate)
        file_rates.append(d.sample_rate)
        keep.append(i)
    if bad and not skip_bad:
        raise_bad_files(bad, "fix or remove them, or pass skip_bad=true to score the other clips")
    for path, reason in bad:
        log.warning("%s: skipped %s: %s", name, path, reason)
    if not waves:
        raise ConfigError(f"{name}={source}: no clip could be decoded")
    return ClipSet(name, waves, rates, [labels[i] for i in keep], [str(paths[i]) for i in keep], source,
                   [groups[i] for i in keep], file_rates)


def _folder_clips(root: Path, name: str) -> tuple[list[Path], list[str | None]]:
    if not root.is_dir():
        raise ConfigError(f"{name}={root}: not a folder (give a folder of audio files, or task:NAME[:FOLDS])")
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and (p.is_file() or p.is_symlink()))
    if not paths:
        raise ConfigError(f"{name}={root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in it or its subfolders")
    # a file's class is its first folder below root; deeper folders belong to that class
    labels = [p.relative_to(root).parts[0] if len(p.relative_to(root).parts) > 1 else None for p in paths]
    return paths, labels


def _task_clips(spec: str, data_dir: Path | None, cache_dir: Path | None,
                log: logging.Logger) -> tuple[list[Path], list[str | None], list[str | None]]:
    from bench.run.resolve import default_cache_dir, resolve_task

    parts = spec[len(TASK_PREFIX):].split(":")
    if len(parts) > 2 or not parts[0]:
        raise ConfigError(f"'{spec}': write task:NAME or task:NAME:FOLDS (FOLDS like 5 or 1,2,3,4)")
    pairs = {"task": parts[0]}
    if data_dir is not None:
        pairs["data_dir"] = str(data_dir)
    task_cls, task_cfg, _ = resolve_task(pairs)
    data = task_cls(task_cfg).load(cache_dir or default_cache_dir(), log)
    clips = data.clips
    if len(parts) == 2:
        try:
            folds = {int(f) for f in parts[1].split(",")}
        except ValueError:
            raise ConfigError(f"'{spec}': folds must be numbers separated by commas, like 1,2,3,4") from None
        known = sorted({c.fold for c in clips if c.fold is not None})
        if not known:
            raise ConfigError(f"'{spec}': task {parts[0]} has no folds; write task:{parts[0]}")
        missing = sorted(folds - set(known))
        if missing:
            raise ConfigError(f"'{spec}': no fold {', '.join(map(str, missing))} in task {parts[0]} (folds:"
                              f" {', '.join(map(str, known))})")
        clips = [c for c in clips if c.fold in folds]
    return [c.path for c in clips], [c.label for c in clips], [c.group for c in clips]
