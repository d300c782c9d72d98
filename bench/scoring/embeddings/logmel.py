"""Embeddings without a network: log-mel frame statistics, and a fixed random projection (a control).

Both read bench's log-mel frontend (`bench.data.frontend`: 22050 Hz, n_fft 1024, hop
512, 64 Slaney mel bands, dB with an 80 dB floor under each clip's peak) over the
whole clip, whatever its length.

- `logmel`: each band's mean and standard deviation over the clip's frames (128 numbers).
- `random`: each frame through one fixed random layer (64 → 128, ReLU, weights from a
  fixed seed, the same in every run and on every machine), averaged over the clip. It
  keeps the log-mel's information and adds no knowledge of sounds, so a metric that
  ranks generators the same way with it as with a trained network measures nothing
  semantic.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from bench.core.contracts import FeatureSpec
from bench.data.frontend import compute_features
from bench.scoring.embeddings import Embedding, EmbeddingOptions

SPEC = FeatureSpec("logmel", sample_rate=22050, clip_seconds=1.0, n_fft=1024, hop_length=512, n_mels=64)
PROJECTION_SEED = 20240521  # fixed for ever: changing it changes every `random` score
WIDTH = 128


def frames(wave: np.ndarray) -> np.ndarray:
    """(n_mels, T) dB frames of a clip at SPEC's rate."""
    return compute_features(torch.from_numpy(np.ascontiguousarray(wave, np.float32)), SPEC)[0]


class _LogMelEmbedding(Embedding):
    sample_rate = SPEC.sample_rate
    min_samples = SPEC.n_fft

    def __init__(self, name: str, options: EmbeddingOptions) -> None:
        self.name = name


class LogMelStats(_LogMelEmbedding):
    def embed_clips(self, waves):
        out = []
        for w in waves:
            db = frames(w).astype(np.float64)
            out.append(np.concatenate([db.mean(1), db.std(1)]))
        return np.stack(out)

    def describe(self):
        return {**super().describe(), "dim": 2 * SPEC.n_mels,
                "what": f"mean and std over time of {SPEC.n_mels} log-mel bands (n_fft {SPEC.n_fft}, hop"
                        f" {SPEC.hop_length}); no network"}


@functools.lru_cache(maxsize=1)
def _projection() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(PROJECTION_SEED)
    weights = rng.normal(0.0, 1.0 / np.sqrt(SPEC.n_mels), size=(SPEC.n_mels, WIDTH))
    bias = rng.uniform(-1.0, 1.0, size=WIDTH)
    return weights, bias


class RandomProjection(_LogMelEmbedding):
    def embed_clips(self, waves):
        weights, bias = _projection()
        out = []
        for w in waves:
            # dB from about -100 (floor) to 0 mapped near [-2.5, 2.5] so the fixed bias matters
            z = (frames(w).T.astype(np.float64) + 50.0) / 20.0
            out.append(np.maximum(z @ weights + bias, 0.0).mean(0))
        return np.stack(out)

    def describe(self):
        return {**super().describe(), "dim": WIDTH,
                "what": f"log-mel frames through a fixed random layer ({SPEC.n_mels} -> {WIDTH}, ReLU, seed"
                        f" {PROJECTION_SEED}), averaged over time: a control that knows nothing about sounds"}
