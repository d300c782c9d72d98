"""AudioCNN: the seed competition's log-mel CNN, layer for layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.config import ConfigError, FloatRange, IntRange, param
from bench.contracts import FeatureSpec, TaskKind
from bench.registry import register_solution
from bench.torchsolution import TorchSolution


@dataclass
class AudioCNNParams:
    epochs: int = param(40, "maximum training epochs", low=1, search=IntRange(10, 60), key=True)
    batch_size: int = param(32, "clips per batch", low=1, search=IntRange(16, 64, step=16), key=True)
    lr: float = param(1e-3, "Adam learning rate", low=0, search=FloatRange(1e-4, 3e-3, log=True), key=True)
    weight_decay: float = param(0.0, "Adam weight decay", low=0, search=FloatRange(1e-6, 1e-3, log=True))
    conv_dropout: float = param(0.2, "dropout after each conv block", low=0, high=0.9)
    fc_dropout: float = param(0.5, "dropout before the output layer", low=0, high=0.9, search=FloatRange(0.2, 0.6))
    patience: int = param(10, "early stopping: epochs without lower validation loss", low=1)
    lr_patience: int = param(4, "ReduceLROnPlateau: epochs without improvement before lowering lr", low=0)
    lr_factor: float = param(0.5, "ReduceLROnPlateau: factor applied to lr", low=0.01, high=0.99)
    n_mels: int = param(64, "mel bands (a multiple of 8)", low=8)
    n_fft: int = param(1024, "FFT size in samples", low=64)
    hop_length: int = param(512, "hop between frames in samples", low=16)
    f_max: float | None = param(None, "highest mel frequency in Hz (none: Nyquist)", low=0)


def conv_block(c_in: int, c_out: int, pool: tuple[int, int], dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(pool),
        nn.Dropout(dropout),
    )


class AudioCNNNet(nn.Module):
    def __init__(self, n_mels: int, n_outputs: int, conv_dropout: float, fc_dropout: float) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_block(1, 32, (2, 2), conv_dropout),
            conv_block(32, 64, (2, 2), conv_dropout),
            conv_block(64, 128, (2, 4), conv_dropout),
        )
        self.freq_conv = nn.Sequential(nn.Conv1d(128, 64, 3, padding=1), nn.ReLU(inplace=True))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * (n_mels // 8), 128),
            nn.ReLU(inplace=True),
            nn.Dropout(fc_dropout),
            nn.Linear(128, n_outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)  # (N, 128, F/8, T/16)
        h = h.mean(dim=3)  # mean over time -> (N, 128, F/8)
        return self.head(self.freq_conv(h))


@register_solution("audiocnn")
class AudioCNN(TorchSolution):
    description = "seed CNN: 3 conv blocks on log-mel, Adam, ReduceLROnPlateau, early stopping"
    kinds = frozenset({TaskKind.CLASSIFICATION, TaskKind.REGRESSION})
    Params = AudioCNNParams
    presets = {"tiny": {"epochs": 3, "batch_size": 16, "n_mels": 32}}

    def feature_spec(self) -> FeatureSpec:
        p, audio = self.params, self.task.audio
        return FeatureSpec(
            "logmel", audio.sample_rate, audio.clip_seconds,
            n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels, f_max=p.f_max,
        )

    def build_model(self) -> nn.Module:
        p = self.params
        if p.n_mels % 8:
            raise ConfigError(f"solution audiocnn: n_mels={p.n_mels} must be a multiple of 8 (three 2x pools)")
        return AudioCNNNet(p.n_mels, self.task.n_outputs, p.conv_dropout, p.fc_dropout)

    def make_optimizer(self):
        p = self.params
        opt = torch.optim.Adam(self.model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=p.lr_factor, patience=p.lr_patience)
        return opt, sched
