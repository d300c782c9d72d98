"""Deterministic synthetic data for `kaggle5`, a Kaggle-style 5-class sound competition.

Layout written (the real competition's):

    ROOT/train/<class_name>/<class_name>_0012.wav
    ROOT/test/clip_0007.wav
    ROOT/answers.csv            filename,label  (hidden labels of the test files)

Each clip is a procedurally synthesised, class-typical event over coloured
background noise at a random SNR, sometimes with a quieter distractor event from
another class, stored in a randomly drawn file format (8-48 kHz, 8/16/24-bit PCM or
32-bit float, mono or stereo).

Difficulty is designed, not accidental: all classes draw pitch, brightness,
spectral tilt and loudness from overlapping ranges, so per-clip spectral summaries
(MFCC mean/std) are confusable, while each class has its own time-frequency
structure (bark rhythm and falling pitch, siren wail, steady two-tone honks, fast
AM of drills, engine firing pulses) that a 2-D CNN on log-mels can learn.
The class recipes live in `bench.data.synthetic.sounds`, shared with other tasks' generators.

Every clip's random generator is derived from (seed, split, class, index), so the
output is byte-identical across runs and machines and independent of the order in
which clips are written.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import numpy as np

from bench.core.atomic import atomic_dir
from bench.data.synthetic import blocks as synth
from bench.data.synthetic.sounds import (
    car_horn,
    dog_bark,
    drilling,
    engine_idling,
    siren,
)

CLASSES = ("dog_bark", "siren", "car_horn", "drilling", "engine_idling")
SYNTH_VERSION = 1

_TRAIN, _TEST, _PLAN = 0, 1, 2  # split codes mixed into every seed
_COUNT_SPREAD = 0.15  # class counts vary by up to ±15% around n_train_per_class
_SNR_DB = (-3.0, 20.0)
_DISTRACTOR_PROBABILITY = 0.35


# ---------------------------------------------------------------- public entry point


def generate(
    root: Path,
    *,
    n_train_per_class: int = 100,
    n_test: int = 150,
    seed: int = 0,
    max_seconds: float = 4.0,
    min_seconds: float = 1.0,
) -> None:
    """Write the dataset to `root` atomically; refuse if `root` already exists.

    Clips are written into a temporary sibling folder that is renamed to `root`
    only when everything succeeded, so an interrupted run leaves no half dataset.
    """
    root = Path(root)
    if root.exists():
        raise FileExistsError(f"{root} already exists; remove it or choose another folder")
    if n_train_per_class < 1 or n_test < 0:
        raise ValueError("n_train_per_class must be >= 1 and n_test >= 0")
    if not 0 < min_seconds <= max_seconds:
        raise ValueError(f"need 0 < min_seconds <= max_seconds, got {min_seconds}, {max_seconds}")

    train_counts = class_counts(seed, n_train_per_class)
    test_labels = test_plan(seed, train_counts, n_test)
    durations = (float(min_seconds), float(max_seconds))

    # a concurrent writer that finishes first makes this raise FileExistsError
    with atomic_dir(root) as tmp:
        for c, name in enumerate(CLASSES):
            folder = tmp / "train" / name
            folder.mkdir(parents=True)
            for j in range(train_counts[c]):
                rng = clip_rng(seed, _TRAIN, c, j)
                _write_example(folder / f"{name}_{j:04d}.wav", c, rng, durations)
        (tmp / "test").mkdir()
        rows = []
        for j, c in enumerate(test_labels):
            filename = f"clip_{j:04d}.wav"
            _write_example(tmp / "test" / filename, c, clip_rng(seed, _TEST, j), durations)
            rows.append((filename, CLASSES[c]))
        with open(tmp / "answers.csv", "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["filename", "label"])
            writer.writerows(rows)


def clip_rng(seed: int, split: int, *index: int) -> np.random.Generator:
    """A generator owned by one clip: same key, same clip, whatever else is generated."""
    return np.random.default_rng(np.random.SeedSequence([SYNTH_VERSION, seed, split, *index]))


def class_counts(seed: int, n_per_class: int) -> list[int]:
    """Train examples per class, each within ±15% of `n_per_class` (at least 1)."""
    rng = clip_rng(seed, _PLAN, 0)
    spread = int(round(_COUNT_SPREAD * n_per_class))
    return [max(1, n_per_class + int(rng.integers(-spread, spread + 1))) for _ in CLASSES]


def test_plan(seed: int, train_counts: list[int], n_test: int) -> list[int]:
    """Shuffled test labels whose class proportions follow the training counts.

    Largest-remainder rounding makes the totals exact; the shuffle hides any order.
    """
    share = np.asarray(train_counts, dtype=np.float64) / sum(train_counts) * n_test
    counts = np.floor(share).astype(int)
    for c in np.argsort(-(share - counts), kind="stable")[: n_test - counts.sum()]:
        counts[c] += 1
    labels = np.repeat(np.arange(len(CLASSES)), counts)
    clip_rng(seed, _PLAN, 1).shuffle(labels)
    return [int(c) for c in labels]


# ---------------------------------------------------------------- one clip


def _write_example(path: Path, label: int, rng: np.random.Generator, durations: tuple[float, float]) -> None:
    fmt = synth.pick_format(rng)
    seconds = float(rng.uniform(*durations))
    audio = render_clip(rng, label, fmt.sample_rate, seconds)
    synth.write_clip(path, audio, fmt.sample_rate, fmt.subtype, fmt.channels)


def render_clip(rng: np.random.Generator, label: int, sample_rate: int, seconds: float) -> np.ndarray:
    """Target event (+ optional distractor) over background noise, at a random level."""
    n = max(int(round(seconds * sample_rate)), 2048)
    event = synth.normalize_rms(_timbre(rng, SOURCES[CLASSES[label]](rng, n, sample_rate), sample_rate))
    if rng.random() < _DISTRACTOR_PROBABILITY:
        other = int(rng.choice([c for c in range(len(CLASSES)) if c != label]))
        length = min(n, int(rng.uniform(0.3, 1.2) * sample_rate))
        piece = _timbre(rng, SOURCES[CLASSES[other]](rng, length, sample_rate), sample_rate)
        piece = synth.normalize_rms(piece) * synth.fade(length, sample_rate, 0.02, 0.02)
        # relative to the target's clip-level RMS; a short distractor is locally louder
        gain = synth.db_to_gain(rng.uniform(-16.0, -8.0))
        synth.add_at(event, piece, int(rng.integers(0, n - length + 1)), gain)
    noise = _background(rng, n, sample_rate)
    mix = synth.mix_at_snr(event, noise, rng.uniform(*_SNR_DB))
    return synth.normalize_rms(mix, synth.db_to_gain(rng.uniform(-36.0, -12.0)))


def _timbre(rng: np.random.Generator, x: np.ndarray, sample_rate: int) -> np.ndarray:
    """A random spectral tilt applied to every class alike, blurring class-average spectra."""
    return synth.spectral_tilt(x, sample_rate, rng.uniform(-6.0, 4.0), ref_hz=rng.uniform(300, 2000))


def _background(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    """Coloured noise, sometimes band-limited (a room, traffic hum, a distant road)."""
    color = str(rng.choice(synth.NOISE_COLORS))
    if rng.random() < 0.4:
        low = rng.uniform(0.0, 800.0)
        high = low + rng.uniform(1500.0, 9000.0)
        return synth.bandpass_noise(rng, n, sample_rate, low, high, color)
    return synth.colored_noise(rng, n, color)


SOURCES: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "dog_bark": dog_bark,
    "siren": siren,
    "car_horn": car_horn,
    "drilling": drilling,
    "engine_idling": engine_idling,
}
