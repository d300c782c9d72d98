"""From a decoded file to a fixed-size feature matrix: mono, resample, pad/trim, log-mel, MFCC.

The mel filterbank and DCT follow librosa's defaults (Slaney mel scale and area
normalisation, orthonormal DCT-II over dB mels), so features match what most
published audio code computes; tests compare against librosa on the same input.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
import torchaudio

from bench.core.contracts import FeatureSpec
from bench.data.audio import BadAudioError, decode, to_mono

# Bump when the feature code changes in a way that changes its output; it is part
# of every cache key, so stale features are never reused.
FEATURE_VERSION = 1

AMIN = 1e-10


def check_spec(spec: FeatureSpec) -> None:
    nyquist = spec.sample_rate / 2
    if spec.f_max is not None and spec.f_max > nyquist:
        raise ValueError(
            f"f_max={spec.f_max:g} Hz is above the Nyquist frequency {nyquist:g} Hz of"
            f" sample_rate={spec.sample_rate}; lower f_max or raise sample_rate"
        )
    top = spec.f_max if spec.f_max is not None else nyquist
    if not 0 <= spec.f_min < top:
        raise ValueError(
            f"f_min={spec.f_min} Hz must be at least 0 and below f_max={top:g} Hz;"
            " lower f_min or raise f_max"
        )
    if spec.hop_length > spec.n_fft:
        raise ValueError(f"hop_length={spec.hop_length} is larger than n_fft={spec.n_fft}")
    if spec.kind != "logmel" and spec.n_mfcc > spec.n_mels:
        raise ValueError(f"n_mfcc={spec.n_mfcc} exceeds n_mels={spec.n_mels}")


def load_waveform(path: Path | str, spec: FeatureSpec) -> torch.Tensor:
    """Decode, downmix, resample and pad/trim one file to `spec.n_samples` samples."""
    return fit_length(checked_waveform(path, spec), spec.n_samples, spec.crop)


def checked_waveform(path: Path | str, spec: FeatureSpec) -> torch.Tensor:
    """The file decoded, downmixed and resampled to `spec.sample_rate`, or BadAudioError.

    Every per-file check lives here, and both feature extraction and `bench data
    check` call it, so the check can never pass a file that a run refuses.
    """
    decoded = decode(path)
    mono = torch.from_numpy(to_mono(decoded.samples))
    if decoded.sample_rate != spec.sample_rate:
        mono = torchaudio.functional.resample(mono, decoded.sample_rate, spec.sample_rate)
    if mono.numel() < spec.n_fft:
        raise BadAudioError(
            path,
            f"too short: {decoded.frames} frames at {decoded.sample_rate} Hz is less than one"
            f" FFT window ({spec.n_fft} samples at {spec.sample_rate} Hz)",
        )
    return mono


def fit_length(wave: torch.Tensor, n: int, crop: str = "start") -> torch.Tensor:
    """Zero-pad at the end or cut to exactly `n` samples, the same way every time."""
    if wave.numel() >= n:
        start = 0 if crop == "start" else (wave.numel() - n) // 2
        return wave[start : start + n].contiguous()
    return torch.nn.functional.pad(wave, (0, n - wave.numel()))


@functools.lru_cache(maxsize=8)
def _mel(spec: FeatureSpec) -> torchaudio.transforms.MelSpectrogram:
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=spec.sample_rate,
        n_fft=spec.n_fft,
        hop_length=spec.hop_length,
        n_mels=spec.n_mels,
        f_min=spec.f_min,
        f_max=spec.f_max,
        power=2.0,
        center=True,
        pad_mode="constant",
        norm="slaney",
        mel_scale="slaney",
    )


@functools.lru_cache(maxsize=8)
def _dct(n_mfcc: int, n_mels: int) -> torch.Tensor:
    return torchaudio.functional.create_dct(n_mfcc, n_mels, norm="ortho")


def power_to_db(power: torch.Tensor, top_db: float | None) -> torch.Tensor:
    db = 10.0 * torch.log10(torch.clamp(power, min=AMIN))
    if top_db is not None:
        db = torch.maximum(db, db.amax(dim=(-2, -1), keepdim=True) - top_db)
    return db


def compute_features(wave: torch.Tensor, spec: FeatureSpec) -> np.ndarray:
    """(C, F, T) float32 features of one fixed-length waveform."""
    with torch.no_grad():
        db = power_to_db(_mel(spec)(wave.float()), spec.top_db)  # (n_mels, T)
        parts = []
        if spec.kind in ("logmel", "logmel+mfcc"):
            parts.append(db)
        if spec.kind in ("mfcc", "logmel+mfcc"):
            mfcc = (db.T @ _dct(spec.n_mfcc, spec.n_mels)).T  # (n_mfcc, T)
            if spec.kind == "logmel+mfcc":
                # stack as channels: pad MFCC rows to the mel height
                mfcc = torch.nn.functional.pad(mfcc, (0, 0, 0, spec.n_mels - spec.n_mfcc))
            parts.append(mfcc)
        return torch.stack(parts).numpy().astype(np.float32)


def features_of(wave: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """(C, F, T) features of a mono waveform already at `spec.sample_rate`, cut or padded as a file's are."""
    return compute_features(fit_length(torch.from_numpy(np.ascontiguousarray(wave, np.float32)), spec.n_samples,
                                       spec.crop), spec)


def extract_file(path: Path | str, spec: FeatureSpec) -> np.ndarray:
    return compute_features(load_waveform(path, spec), spec)
