"""Deterministic synthetic data for `urbansound`, in UrbanSound8K's own layout.

Layout written (the publisher's):

    ROOT/audio/fold1 ... fold10/[fsID]-[classID]-[occurrenceID]-[sliceID].wav
    ROOT/metadata/UrbanSound8K.csv
        slice_file_name,fsID,start,end,salience,fold,classID,class

As in the real data, a source recording (fsID) holds one or two occurrences of its
class, each cut into consecutive slices of at most `slice_seconds` (4 s); all
slices of a source sit in one fold. A source keeps its file format, its
background, its level, its salience (1 foreground, 2 background: quieter and
duller) and its sound (the recipe's `style` draws repeat for every slice), so
slices of one source are near-duplicates in style and must not be split across
train and test. Formats follow the real distribution: 8-96 kHz, 8/16/24-bit PCM
and 32-bit float, mostly stereo.

Folds differ in difficulty: each fold draws a level from 0 to 1 that lowers the
SNR and raises the chance of a distractor event from another class.

The default size (2 sources per class and fold, 1-2 slices each: about 300 clips)
is about the least on which the `audiocnn` recipe clearly beats MFCC statistics;
with one source per class and fold (about 150-200 clips) the two score alike.

Every random draw comes from a generator keyed by (seed, purpose, fold, class,
source, ...), so the output is byte-identical across runs and machines.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.atomic import atomic_dir
from bench.data.synthetic import blocks as synth
from bench.data.synthetic import sounds
from tasks.urbansound import CLASSES, COLUMNS, N_FOLDS

SYNTH_VERSION = 1

# Rough shares in the real UrbanSound8K: mostly 44.1/48 kHz, a tenth 96 kHz, few below 16 kHz.
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000)
SAMPLE_RATE_WEIGHTS = (0.03, 0.04, 0.05, 0.05, 0.04, 0.03, 0.42, 0.22, 0.12)
SUBTYPES = ("PCM_U8", "PCM_16", "PCM_24", "FLOAT")
SUBTYPE_WEIGHTS = (0.04, 0.62, 0.28, 0.06)
STEREO_PROBABILITY = 0.75

_PLAN, _SOURCE, _STYLE, _SLICE = 0, 1, 2, 3  # purpose codes mixed into every seed
_SHORT_EVENTS = ("car_horn", "gun_shot")  # fewer, shorter slices per source, as in the real data
_SNR_DB = (10.0, 24.0)  # foreground sources in the easiest fold; harder folds and salience 2 lower it
_FOLD_SNR_DROP_DB = 6.0
_BACKGROUND_SNR_DROP_DB = 4.0
_DISTRACTOR_PROBABILITY = (0.1, 0.35)  # easiest fold, hardest fold


@dataclass(frozen=True)
class Slice:
    """One metadata row."""

    file_name: str
    fs_id: int
    start: float
    end: float
    salience: int
    fold: int
    class_id: int
    occurrence: int
    index: int

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def row(self) -> list[str]:
        return [self.file_name, str(self.fs_id), repr(self.start), repr(self.end), str(self.salience),
                str(self.fold), str(self.class_id), CLASSES[self.class_id]]


@dataclass(frozen=True)
class Source:
    """A source recording and what all of its slices share."""

    fs_id: int
    fold: int
    class_id: int
    index: int  # within (fold, class)
    salience: int
    format: synth.ClipFormat
    snr_db: float
    level_db: float
    tilt_db: float
    tilt_ref_hz: float
    noise_color: str
    noise_band: tuple[float, float] | None
    slices: tuple[Slice, ...]


# ---------------------------------------------------------------- public entry points


def generate(root: Path, *, sources_per_class: int = 2, max_slices: int = 2, slice_seconds: float = 4.0,
             seed: int = 0) -> None:
    """Write the dataset to `root` atomically; raise FileExistsError if `root` exists."""
    sources = plan(seed, sources_per_class, max_slices, slice_seconds)
    difficulty = fold_difficulty(seed)
    with atomic_dir(root) as tmp:
        for k in range(1, N_FOLDS + 1):
            (tmp / "audio" / f"fold{k}").mkdir(parents=True)
        for src in sources:
            for sl in src.slices:
                audio = render_slice(seed, src, sl, float(difficulty[src.fold - 1]))
                path = tmp / "audio" / f"fold{src.fold}" / sl.file_name
                synth.write_clip(path, audio, src.format.sample_rate, src.format.subtype, src.format.channels)
        (tmp / "metadata").mkdir()
        rows = sorted((sl for src in sources for sl in src.slices), key=lambda sl: sl.file_name)
        with open(tmp / "metadata" / "UrbanSound8K.csv", "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(sl.row() for sl in rows)


def plan(seed: int, sources_per_class: int, max_slices: int, slice_seconds: float) -> list[Source]:
    """Every source and slice of the dataset, in (fold, class, source) order."""
    if sources_per_class < 1 or max_slices < 1:
        raise ValueError(f"need sources_per_class >= 1 and max_slices >= 1, got {sources_per_class}, {max_slices}")
    if not 0 < slice_seconds <= 4.0:
        raise ValueError(f"slice_seconds must be in (0, 4] (UrbanSound8K slices are at most 4 s), got {slice_seconds}")
    keys = [(k, c, j) for k in range(1, N_FOLDS + 1) for c in range(len(CLASSES)) for j in range(sources_per_class)]
    # distinct Freesound-like ids; only uniqueness matters, so one draw for the whole plan
    fs_ids = key_rng(seed, _PLAN, 0).choice(np.arange(1000, 200000), size=len(keys), replace=False)
    return [_source(seed, int(i), k, c, j, max_slices, slice_seconds) for i, (k, c, j) in zip(fs_ids, keys)]


def fold_difficulty(seed: int) -> np.ndarray:
    """Difficulty of folds 1..10: evenly spread over [0, 1], shuffled by the seed."""
    return key_rng(seed, _PLAN, 1).permutation(np.linspace(0.0, 1.0, N_FOLDS))


def key_rng(seed: int, purpose: int, *index: int) -> np.random.Generator:
    """A generator owned by one key: same key, same draws, whatever else is generated."""
    return np.random.default_rng(np.random.SeedSequence([SYNTH_VERSION, seed, purpose, *index]))


def pick_format(rng: np.random.Generator) -> synth.ClipFormat:
    """A storage format drawn from UrbanSound8K's rough mix of rates, depths and channels."""
    sr = int(rng.choice(np.asarray(SAMPLE_RATES), p=SAMPLE_RATE_WEIGHTS))
    subtype = str(rng.choice(np.asarray(SUBTYPES), p=SUBTYPE_WEIGHTS))
    channels = 2 if rng.random() < STEREO_PROBABILITY else 1
    return synth.ClipFormat(sr, subtype, channels)


# ---------------------------------------------------------------- planning one source


def _source(seed: int, fs_id: int, fold: int, class_id: int, index: int, max_slices: int,
            slice_seconds: float) -> Source:
    rng = key_rng(seed, _SOURCE, fold, class_id, index)
    short = CLASSES[class_id] in _SHORT_EVENTS
    salience = 1 if rng.random() < 0.65 else 2
    fmt = pick_format(rng)
    snr = rng.uniform(*_SNR_DB) - (_BACKGROUND_SNR_DROP_DB if salience == 2 else 0.0)
    level, tilt, ref = rng.uniform(-34.0, -14.0), rng.uniform(-4.0, 2.0), rng.uniform(300.0, 2000.0)
    color = str(rng.choice(synth.NOISE_COLORS))
    band = None
    if rng.random() < 0.5:
        low = rng.uniform(0.0, 600.0)
        band = (low, low + rng.uniform(1500.0, 9000.0))
    n_slices = int(rng.integers(1, min(max_slices, 2 if short else max_slices) + 1))
    slices = _slices(rng, fs_id, fold, class_id, salience, n_slices, slice_seconds, short)
    return Source(fs_id, fold, class_id, index, salience, fmt, snr, level, tilt, ref, color, band, slices)


def _slices(rng: np.random.Generator, fs_id: int, fold: int, class_id: int, salience: int, n_slices: int,
            slice_seconds: float, short: bool) -> tuple[Slice, ...]:
    """Cut one or two occurrences into consecutive slices; only an occurrence's last slice is short."""
    split = int(rng.integers(1, n_slices)) if n_slices > 1 and rng.random() < 0.4 else n_slices
    counts = [c for c in (split, n_slices - split) if c > 0]
    out: list[Slice] = []
    t = rng.uniform(0.0, 30.0)
    for occurrence, count in enumerate(counts):
        last = slice_seconds * (rng.uniform(0.25, 0.8) if short else rng.uniform(0.3, 1.0))
        for i in range(count):
            start = t + i * slice_seconds
            end = start + (last if i == count - 1 else slice_seconds)
            name = f"{fs_id}-{class_id}-{occurrence}-{i}.wav"
            out.append(Slice(name, fs_id, round(start, 6), round(end, 6), salience, fold, class_id, occurrence, i))
        t = out[-1].end + rng.uniform(1.0, 20.0)
    return tuple(out)


# ---------------------------------------------------------------- rendering one slice


def render_slice(seed: int, src: Source, sl: Slice, difficulty: float) -> np.ndarray:
    """The class sound (in its source's style) + maybe a distractor, over the source's background."""
    sr = src.format.sample_rate
    n = max(int(round(sl.seconds * sr)), 64)
    rng = key_rng(seed, _SLICE, src.fold, src.class_id, src.index, sl.occurrence, sl.index)
    style = key_rng(seed, _STYLE, src.fold, src.class_id, src.index)  # fresh per slice: same draws
    event = sounds.RECIPES[CLASSES[src.class_id]](rng, n, sr, style)
    event = synth.spectral_tilt(event, sr, src.tilt_db, src.tilt_ref_hz)
    if src.salience == 2:  # a distant source loses its highs
        event = synth.bandpass(event, sr, 0.0, rng.uniform(2500.0, 6000.0))
    event = synth.normalize_rms(event)
    lo, hi = _DISTRACTOR_PROBABILITY
    if rng.random() < lo + (hi - lo) * difficulty:
        _add_distractor(rng, event, src.class_id, sr)
    noise = _background(rng, src, n, sr)
    snr = src.snr_db - _FOLD_SNR_DROP_DB * difficulty + rng.uniform(-2.0, 2.0)
    mix = synth.mix_at_snr(event, noise, snr)
    return synth.normalize_rms(mix, synth.db_to_gain(src.level_db + rng.uniform(-2.0, 2.0)))


def _add_distractor(rng: np.random.Generator, event: np.ndarray, class_id: int, sr: int) -> None:
    """A shorter, quieter sound of another class somewhere in the slice (in place)."""
    n = len(event)
    other = int(rng.choice([c for c in range(len(CLASSES)) if c != class_id]))
    length = min(n, int(rng.uniform(0.5, 2.0) * sr))
    piece = synth.normalize_rms(sounds.RECIPES[CLASSES[other]](rng, length, sr))
    piece = piece * synth.fade(length, sr, 0.02, 0.02)
    synth.add_at(event, piece, int(rng.integers(0, n - length + 1)), synth.db_to_gain(rng.uniform(-14.0, -6.0)))


def _background(rng: np.random.Generator, src: Source, n: int, sr: int) -> np.ndarray:
    """The source's street ambience: its noise colour and band, with slow swells of passing traffic."""
    if src.noise_band is None:
        noise = synth.colored_noise(rng, n, src.noise_color)
    else:
        noise = synth.bandpass_noise(rng, n, sr, *src.noise_band, src.noise_color)
    return synth.amplitude_modulation(noise, sr, rng.uniform(0.05, 0.3), rng.uniform(0.0, 0.5), rng.uniform(0, 2 * np.pi))
