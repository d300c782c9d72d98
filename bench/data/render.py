"""From a log-mel spectrogram back to audio: inverse mel, Griffin-Lim, loudness matching.

What a spectrogram generator's output sounds like, and what the scoring suite's
vocoder floor measures: real clips taken to bench's log-mel and rendered back lose
their phase and the detail the mel bands average away, so a perfect spectrogram
generator can get no closer to real audio than that.

The mel filterbank is the frontend's (Slaney scale and norm, `bench.data.frontend`),
inverted by least squares (torchaudio's InverseMelScale, which clips at zero); the
phase comes from Griffin-Lim (torchaudio) started from a seeded random phase, so a
rendering is the same every time.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torchaudio

from bench.core.contracts import FeatureSpec

EPS = 1e-10


@functools.lru_cache(maxsize=4)
def _inverse(spec: FeatureSpec, n_iter: int) -> tuple[torchaudio.transforms.InverseMelScale, torchaudio.transforms.GriffinLim]:
    inverse = torchaudio.transforms.InverseMelScale(
        n_stft=spec.n_fft // 2 + 1, n_mels=spec.n_mels, sample_rate=spec.sample_rate, f_min=spec.f_min,
        f_max=spec.f_max, norm="slaney", mel_scale="slaney", driver="gelsd")
    griffin = torchaudio.transforms.GriffinLim(n_fft=spec.n_fft, hop_length=spec.hop_length, power=2.0,
                                               n_iter=n_iter, momentum=0.99, rand_init=True)
    return inverse, griffin


def logmel_to_audio(db: np.ndarray, spec: FeatureSpec, *, n_iter: int = 32, seed: int = 0,
                    n_samples: int | None = None) -> np.ndarray:
    """(n_mels, T) log-mel in dB (the frontend's `logmel`) → mono float32 audio at spec.sample_rate."""
    inverse, griffin = _inverse(spec, n_iter)
    power_mel = torch.from_numpy(10.0 ** (np.asarray(db, np.float64) / 10.0)).float()
    with torch.no_grad():
        linear = inverse(power_mel)  # least squares, clipped at zero
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            wave = griffin(linear)
    wave = wave.numpy().astype(np.float32)
    if n_samples is not None:
        wave = wave[:n_samples] if wave.size >= n_samples else np.pad(wave, (0, n_samples - wave.size))
    return wave


def rms(wave: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(wave, np.float64))))) if np.size(wave) else 0.0


def match_loudness(wave: np.ndarray, target_rms: float, peak: float = 0.99) -> np.ndarray:
    """`wave` scaled to `target_rms` (silence stays silent), then scaled down if a sample would pass `peak`."""
    level = rms(wave)
    out = np.asarray(wave, np.float64) * (target_rms / level if level > EPS else 0.0)
    top = np.abs(out).max() if out.size else 0.0
    if top > peak:
        out *= peak / top
    return out.astype(np.float32)


def render(db: np.ndarray, spec: FeatureSpec, *, n_iter: int = 32, seed: int = 0,
           level: float | None = None) -> np.ndarray:
    """A generated (n_mels, T) log-mel in dB as a clip of spec's length, at RMS `level` where one is given
    (Griffin-Lim keeps the spectrogram's shape, not a level anyone chose)."""
    wave = logmel_to_audio(db, spec, n_iter=n_iter, seed=seed, n_samples=spec.n_samples)
    return match_loudness(wave, level) if level is not None else wave
