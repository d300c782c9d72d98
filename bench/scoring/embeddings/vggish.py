"""VGGish (Hershey et al. 2017) from torchvggish's pytorch_vggish.pth: 128-d per 0.96 s, averaged per clip.

The network keeps torchvggish's module names, so its checkpoint loads key for key.
The frontend is VGGish's own, written out here: 16 kHz, 25 ms periodic-Hann frames
every 10 ms, |FFT| of 512 points, 64 HTK-mel bands over 125-7500 Hz, log(mel + 0.01),
cut into non-overlapping 96-frame (0.96 s) examples; frames left over after the last
whole example are dropped, as VGGish does. The clip's vector is the mean of its
examples' 128-d embeddings, taken after the final ReLU and without VGGish's PCA
whitening and 8-bit quantisation (torchvggish's "postprocess"), which would only
rotate, rescale and round the space that FAD measures.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import torch
from torch import nn

from bench.scoring.embeddings import Embedding, EmbeddingOptions, file_facts
from bench.scoring.embeddings._checkpoint import load_into, weights_path

CHECKPOINT = "pytorch_vggish.pth"
SAMPLE_RATE = 16000
WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
N_FFT = 512  # the power of two at or above the window
N_MELS = 64
MEL_LOW, MEL_HIGH = 125.0, 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s
EMBEDDING_DIM = 128
LAYERS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M")


def hertz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK's mel scale, the one VGGish was trained with."""
    return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)


def mel_filterbank(n_bins: int = N_FFT // 2 + 1, sample_rate: int = SAMPLE_RATE, n_mels: int = N_MELS,
                   low: float = MEL_LOW, high: float = MEL_HIGH) -> np.ndarray:
    """(n_bins, n_mels): triangles over the mel value of each FFT bin, band edges equally spaced in mel.

    Unlike librosa's Slaney filters these are not area-normalised and peak at 1;
    VGGish's weights were trained on exactly this matrix.
    """
    bins_mel = hertz_to_mel(np.linspace(0.0, sample_rate / 2, n_bins))
    edges = np.linspace(hertz_to_mel(low), hertz_to_mel(high), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0  # VGGish zeroes the DC bin whatever the band edges
    return weights


_MEL = mel_filterbank()
_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)  # periodic Hann


def log_mel(wave: np.ndarray) -> np.ndarray:
    """(frames, 64) log-mel of a 16 kHz clip; no padding, so frames = 1 + (len - 400) // 160."""
    wave = np.asarray(wave, np.float64)
    if wave.size < WINDOW:
        return np.zeros((0, N_MELS))
    frames = np.lib.stride_tricks.sliding_window_view(wave, WINDOW)[::HOP]
    magnitude = np.abs(np.fft.rfft(frames * _WINDOW, N_FFT))
    return np.log(magnitude @ _MEL + LOG_OFFSET)


def examples(wave: np.ndarray) -> np.ndarray:
    """(n, 96, 64) non-overlapping 0.96 s examples; the frames after the last whole one are dropped."""
    mel = log_mel(wave)
    n = len(mel) // EXAMPLE_FRAMES
    return mel[: n * EXAMPLE_FRAMES].reshape(n, EXAMPLE_FRAMES, N_MELS).astype(np.float32)


# the fewest samples that give one whole example: 95 hops after the first window
MIN_SAMPLES = WINDOW + (EXAMPLE_FRAMES - 1) * HOP


class VGGishNet(nn.Module):
    """torchvggish's VGG, module for module (so state-dict keys match): (N, 1, 96, 64) -> (N, 128)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for v in LAYERS:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(v), 3, padding=1), nn.ReLU(inplace=True)]
                channels = int(v)
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, EMBEDDING_DIM), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, 512, 6, 4): time x mel
        # the TF original flattens channels-last (N, 6, 4, 512); the ported Linear weights expect that order
        x = x.transpose(1, 3).transpose(1, 2).contiguous()
        return self.embeddings(x.flatten(1))


def is_pca(key: str) -> bool:
    """torchvggish's PCA postprocessor, saved beside the network by some exports; not used here."""
    return key.startswith("pproc.") or key.rsplit(".", 1)[-1].startswith("_pca_")


class VGGish(Embedding):
    sample_rate = SAMPLE_RATE
    min_samples = MIN_SAMPLES

    def __init__(self, name: str, options: EmbeddingOptions) -> None:
        self.name = name
        self.weights = weights_path(name, options.weights, f"{CHECKPOINT} (torchvggish's checkpoint)")
        self.device = torch.device(options.device)
        self.batch_size = max(1, options.batch_size)
        net, self.ignored = load_into(VGGishNet, self.weights, f"torchvggish's {CHECKPOINT}", ignored=is_pca)
        self.net = net.to(self.device)
        self._facts: dict[str, Any] | None = None

    @torch.no_grad()
    def embed_clips(self, waves: list[np.ndarray]) -> np.ndarray:
        per_clip = [examples(w) for w in waves]
        stacked = np.concatenate(per_clip)
        rows = []
        for start in range(0, len(stacked), self.batch_size):
            batch = torch.from_numpy(stacked[start:start + self.batch_size]).to(self.device)
            rows.append(self.net(batch[:, None]).double().cpu().numpy())
        out = np.concatenate(rows)
        bounds = np.cumsum([0] + [len(e) for e in per_clip])
        return np.stack([out[a:b].mean(axis=0) for a, b in pairwise(bounds)])

    def describe(self) -> dict[str, Any]:
        if self._facts is None:
            self._facts = file_facts(self.weights)
        described = {
            "name": self.name, "sample_rate": self.sample_rate, "dim": EMBEDDING_DIM,
            "vector": "VGGish 128-d embedding (after the final ReLU, no PCA/quantisation),"
                      " mean over the clip's non-overlapping 0.96 s examples",
            **self._facts,
        }
        if self.ignored:
            described["ignored_keys"] = f"PCA postprocessing parameters not applied: {', '.join(self.ignored)}"
        return described
