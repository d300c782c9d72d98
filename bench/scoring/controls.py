"""The reference sets a score is read against, built from the real clips.

- halves: the real clips split in two (per class, seeded). Half A is the reference
  every set is compared with; half B, compared with A, is the real-vs-real floor —
  the distance of a perfect generator at this sample size.
- vocoded: half B through bench's log-mel and back (`bench.data.render`: inverse mel,
  Griffin-Lim, the clip's loudness): the floor of any spectrogram generator that
  renders audio the way bench does.
- white noise, pink noise, silence: one per clip of half B, of its length and (for the
  noises) its loudness: ceilings no generator should reach.
- shuffled labels: generated clips under a random permutation of their labels; per
  class they must score worse than under their own labels if the generator obeys
  its condition.
"""

from __future__ import annotations

import numpy as np
import torch

from bench.core.contracts import FeatureSpec
from bench.data.frontend import compute_features
from bench.data.render import logmel_to_audio, match_loudness, rms
from bench.scoring.clipsets import ClipSet

# bench's standard log-mel (the embedded tasks' rate, audiocnn's frontend): what a generator of bench's
# features renders from. A generator with other settings is scored with its own (vocoder_* settings).
VOCODER = FeatureSpec("logmel", sample_rate=22050, clip_seconds=5.0, n_fft=1024, hop_length=512, n_mels=64)


def halves(clips: ClipSet, seed: int, by_recording: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint index sets of about half the clips each, split within each label, whole source
    recordings on one side: takes of one recording are near copies, and a floor made of them would be
    lower than what clips of unheard recordings can reach (A gets the larger share of an odd count).
    `by_recording=False` treats every clip as its own recording."""
    rng = np.random.default_rng(seed)
    a, b = [], []
    for label in sorted({lab or "" for lab in clips.labels}):
        rows = [i for i, lab in enumerate(clips.labels) if (lab or "") == label]
        groups: dict[str, list[int]] = {}
        for i in rows:
            groups.setdefault(clips.group_of(i) if by_recording else str(i), []).append(i)
        order = [groups[g] for g in sorted(groups)]
        taken_a = taken_b = 0
        for k in rng.permutation(len(order)):
            if taken_a <= taken_b:
                a += order[k]
                taken_a += len(order[k])
            else:
                b += order[k]
                taken_b += len(order[k])
    if not b:
        raise ValueError(f"{clips.name}: {len(clips)} clip(s) cannot be split into two halves; give at least two")
    return np.array(sorted(a), dtype=np.int64), np.array(sorted(b), dtype=np.int64)


def noise_like(clips: ClipSet, colour: str, seed: int) -> ClipSet:
    """White or pink noise, or silence, with each clip's length, rate and loudness."""
    rng = np.random.default_rng(seed)
    waves = []
    for w in clips.waves:
        if colour == "silence":
            waves.append(np.zeros_like(w))
            continue
        noise = rng.standard_normal(len(w))
        if colour == "pink":
            spectrum = np.fft.rfft(noise)
            f = np.arange(len(spectrum), dtype=np.float64)
            f[0] = 1.0
            noise = np.fft.irfft(spectrum / np.sqrt(f), n=len(w))  # power falls as 1/f
        elif colour != "white":
            raise ValueError(f"noise colour must be white, pink or silence, got {colour!r}")
        waves.append(match_loudness(noise, rms(w)))
    label = {"white": "white noise", "pink": "pink noise", "silence": "silence"}[colour]
    return ClipSet(label, waves, list(clips.rates), list(clips.labels),
                   [f"{label} like {o}" for o in clips.origins], f"control: {label}")


def vocoded(clips: ClipSet, spec: FeatureSpec = VOCODER, n_iter: int = 32, seed: int = 0) -> ClipSet:
    """Each clip through `spec`'s log-mel and back to audio at its loudness (at spec's sample rate)."""
    waves = []
    for i, w in enumerate(clips.at(spec.sample_rate)):
        db = compute_features(torch.from_numpy(np.ascontiguousarray(w, np.float32)), spec)[0]
        audio = logmel_to_audio(db, spec, n_iter=n_iter, seed=seed + i, n_samples=len(w))
        waves.append(match_loudness(audio, rms(w)))
    return ClipSet("vocoded", waves, [spec.sample_rate] * len(waves), list(clips.labels),
                   [f"vocoded {o}" for o in clips.origins],
                   f"control: log-mel ({spec.n_mels} mels, n_fft {spec.n_fft}, hop {spec.hop_length}) -> inverse mel"
                   f" -> Griffin-Lim ({n_iter} iterations)")


def shuffled_labels(labels: list[str | None], seed: int) -> list[str | None]:
    """The same labels in a seeded random order."""
    order = np.random.default_rng(seed).permutation(len(labels))
    return [labels[i] for i in order]
