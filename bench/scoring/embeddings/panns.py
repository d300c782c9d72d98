"""PANNs Cnn14 (Kong et al. 2020) from a Cnn14_*.pth checkpoint: the 2048-d clip embedding.

The network keeps the module names of audioset_tagging_cnn's Cnn14 (and of the
torchlibrosa frontend inside it), so its checkpoints load key for key, wrapped in
{"model": ...} as released or bare. The frontend is the checkpoint's own: the STFT is
the two Conv1d kernels stored in the file (a Hann-windowed DFT basis, hop 320 at
32 kHz) applied to the reflect-padded clip, and the mel matrix is the file's melW, so
whatever the file holds is what is computed. The vector is what panns_inference calls
the embedding: relu(fc1) of the max-plus-mean over time of the last conv block,
one per clip (the network pools over time itself). The AudioSet head (fc_audioset)
is loaded but not used.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.scoring.embeddings import Embedding, EmbeddingOptions, file_facts
from bench.scoring.embeddings._checkpoint import load_into, weights_path

CHECKPOINT = "Cnn14_mAP=0.431.pth"
SAMPLE_RATE = 32000
N_FFT = 1024
HOP = 320
N_MELS = 64
AMIN = 1e-10  # power_to_db's floor, ref 1.0, no top_db
CHANNELS = (64, 128, 256, 512, 1024, 2048)
EMBEDDING_DIM = 2048
CLASSES = 527
# Five 2x2 poolings floor the time axis 32-fold; the STFT gives len // HOP + 1 frames,
# so 31 hops is the shortest clip that keeps one frame (0.31 s). Shorter clips are
# zero-padded only that far: more silence would weigh in the time mean.
MIN_SAMPLES = (2 ** 5 - 1) * HOP


class _STFT(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv_real = nn.Conv1d(1, N_FFT // 2 + 1, N_FFT, stride=HOP, bias=False)
        self.conv_imag = nn.Conv1d(1, N_FFT // 2 + 1, N_FFT, stride=HOP, bias=False)


class _Spectrogram(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stft = _STFT()


class _LogMel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.melW = nn.Parameter(torch.empty(N_FFT // 2 + 1, N_MELS), requires_grad=False)


class ConvBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.bn2 = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, pool) if pool > 1 else x


class Cnn14Net(nn.Module):
    """Cnn14 with its checkpoint's module names; (N, samples) at 32 kHz -> (N, 2048)."""

    def __init__(self) -> None:
        super().__init__()
        self.spectrogram_extractor = _Spectrogram()
        self.logmel_extractor = _LogMel()
        self.bn0 = nn.BatchNorm2d(N_MELS)
        ins = (1,) + CHANNELS[:-1]
        for i, (c_in, c_out) in enumerate(zip(ins, CHANNELS), start=1):
            setattr(self, f"conv_block{i}", ConvBlock(c_in, c_out))
        self.fc1 = nn.Linear(CHANNELS[-1], EMBEDDING_DIM)
        self.fc_audioset = nn.Linear(EMBEDDING_DIM, CLASSES)

    def power(self, wave: torch.Tensor) -> torch.Tensor:
        """(N, frames, 513) |STFT|^2 through the stored DFT kernels, centred frames (reflect padding)."""
        x = F.pad(wave[:, None, :], (N_FFT // 2, N_FFT // 2), mode="reflect")
        stft = self.spectrogram_extractor.stft
        return (stft.conv_real(x) ** 2 + stft.conv_imag(x) ** 2).transpose(1, 2)

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """(N, 1, frames, 64) in dB (ref 1.0, floor 1e-10, no top_db)."""
        mel = self.power(wave) @ self.logmel_extractor.melW
        return 10.0 * torch.log10(mel.clamp(min=AMIN))[:, None]

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.log_mel(wave)
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)  # normalised per mel band
        for i in range(1, 7):
            x = getattr(self, f"conv_block{i}")(x, pool=2 if i < 6 else 1)
        x = x.mean(dim=3)  # over mel
        x = x.amax(dim=2) + x.mean(dim=2)  # over time
        return F.relu(self.fc1(x))


class PANNsCnn14(Embedding):
    sample_rate = SAMPLE_RATE
    min_samples = MIN_SAMPLES

    def __init__(self, name: str, options: EmbeddingOptions) -> None:
        self.name = name
        self.weights = weights_path(name, options.weights, "Cnn14_*.pth (a PANNs Cnn14 checkpoint, 32 kHz)")
        self.device = torch.device(options.device)
        self.batch_size = max(1, options.batch_size)
        net, _ = load_into(Cnn14Net, self.weights, f"a PANNs Cnn14 checkpoint at 32 kHz such as {CHECKPOINT}")
        self.net = net.to(self.device)
        self._facts: dict[str, Any] | None = None

    @torch.no_grad()
    def embed_clips(self, waves: list[np.ndarray]) -> np.ndarray:
        # only clips of one length share a batch: padding to a common length would change the time pooling
        by_length: dict[int, list[int]] = defaultdict(list)
        for i, w in enumerate(waves):
            by_length[len(w)].append(i)
        rows = np.zeros((len(waves), EMBEDDING_DIM))
        for indices in by_length.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                batch = torch.from_numpy(np.stack([waves[i] for i in chunk]).astype(np.float32)).to(self.device)
                rows[chunk] = self.net(batch).double().cpu().numpy()
        return rows

    def describe(self) -> dict[str, Any]:
        if self._facts is None:
            self._facts = file_facts(self.weights)
        return {
            "name": self.name, "sample_rate": self.sample_rate, "dim": EMBEDDING_DIM,
            "vector": "PANNs Cnn14 2048-d embedding: relu(fc1) of the max+mean over time of the last conv block,"
                      " one per clip",
            **self._facts,
        }
