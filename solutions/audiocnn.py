"""AudioCNN: the seed competition's log-mel CNN, layer for layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.core.config import ConfigError, FloatRange, param
from bench.core.contracts import FeatureSpec, TaskKind
from bench.core.registry import register_solution
from bench.train.torch_solution import TorchSolution
from solutions._params import AdamPlateauParams, MelParams, adam_plateau, mel_spec


@dataclass
class AudioCNNParams(MelParams, AdamPlateauParams):
    conv_dropout: float = param(0.2, "dropout after each conv block", low=0, high=0.9)
    fc_dropout: float = param(0.5, "dropout before the output layer", low=0, high=0.9, search=FloatRange(0.2, 0.6))

    def __post_init__(self) -> None:
        if self.n_mels % 8:
            raise ConfigError(f"solution audiocnn: n_mels={self.n_mels} must be a multiple of 8 (three 2x pools)")


# time is pooled by 2, 2 and 4: fewer frames leave the last pool nothing to take
MIN_FRAMES = 2 * 2 * 4


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
        return mel_spec("logmel", self.params, self.task.audio)

    def min_frames(self) -> int:
        return MIN_FRAMES

    def build_model(self) -> nn.Module:
        p = self.params
        return AudioCNNNet(p.n_mels, self.task.n_outputs, p.conv_dropout, p.fc_dropout)

    def make_optimizer(self):
        return adam_plateau(self.model, self.params)
