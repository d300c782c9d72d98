"""SceneCNN: log-mel and MFCC stacked as two channels, conv blocks, adaptive average pooling.

The pooling averages over all of time and into `freq_bands` frequency bands, so the
network takes clips of any length and still knows where in the spectrum a sound is.
Gaussian noise on the normalised input regularises training and is off in evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.core.config import ConfigError, FloatRange, IntRange, param
from bench.core.contracts import FeatureSpec, TaskKind
from bench.core.registry import register_solution
from bench.train.torch_solution import TorchSolution
from solutions._params import AdamPlateauParams, MelParams, adam_plateau, mel_spec


@dataclass
class SceneCNNParams(MelParams, AdamPlateauParams):
    # Chosen on validation data only: `bench run task=scenes solution=scenecnn patience=P`,
    # the mean over the 4 folds of each fold's best validation accuracy (whole-group
    # validation drawn from the training folds; test folds not looked at) was 0.565 for
    # P=10 and 0.799 for P=20. On the embedded scenes data the validation loss rises for
    # the first ten epochs before the accuracy climbs, and P=10 stopped folds 1 and 3 at
    # epoch 11 with validation accuracy 0.18; with P=20 no fold stopped before epoch 40.
    patience: int = param(20, "early stopping: epochs without lower validation loss", low=1)
    width: int = param(32, "filters of the first conv block; each further block doubles them", low=1,
                       search=IntRange(16, 48, step=16), key=True)
    blocks: int = param(4, "conv blocks (3x3 conv, batch norm, ReLU, 2x2 max-pool)", low=1, high=8,
                        search=IntRange(2, 5), key=True)
    hidden: int = param(128, "units of the hidden fully connected layer", low=1, search=IntRange(64, 256, step=64))
    freq_bands: int = param(4, "frequency bands the final pooling keeps (time is averaged away)", low=1,
                            search=IntRange(1, 8))
    dropout: float = param(0.3, "dropout before each fully connected layer", low=0, high=0.9,
                           search=FloatRange(0.1, 0.5))
    noise_std: float = param(0.1, "std of Gaussian noise added to the normalised input, in training only",
                             low=0, search=FloatRange(0.0, 0.3))
    max_params: int = param(5_000_000, "parameter budget: a larger network is refused before training",
                            low=1, hashed=False)


class GaussianNoise(nn.Module):
    """Adds N(0, std²) noise in training mode; the identity in evaluation mode."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.std > 0:
            return x + self.std * torch.randn_like(x)
        return x


class BinNorm(nn.Module):
    """Batch norm per (channel, frequency bin): MFCC coefficients differ in scale by orders of magnitude."""

    def __init__(self, channels: int, bins: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(channels * bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, f, t = x.shape
        return self.bn(x.reshape(n, c * f, t)).reshape(n, c, f, t)


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2, ceil_mode=True),  # ceil: a side of 1 stays 1, so short clips still fit
    )


class SceneCNNNet(nn.Module):
    def __init__(self, p: SceneCNNParams, n_outputs: int, in_channels: int = 2) -> None:
        super().__init__()
        widths = [p.width * 2**i for i in range(p.blocks)]
        self.norm = BinNorm(in_channels, p.n_mels)
        self.noise = GaussianNoise(p.noise_std)
        self.features = nn.Sequential(*(conv_block(a, b) for a, b in zip([in_channels] + widths, widths)))
        self.pool = nn.AdaptiveAvgPool2d((p.freq_bands, 1))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(p.dropout),
            nn.Linear(widths[-1] * p.freq_bands, p.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p.dropout),
            nn.Linear(p.hidden, n_outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(self.noise(self.norm(x)))  # (N, C, F', T') for any clip length T
        return self.head(self.pool(h))


@register_solution("scenecnn")
class SceneCNN(TorchSolution):
    description = "CNN on stacked log-mel + MFCC, adaptive average pooling, input noise, parameter budget"
    kinds = frozenset({TaskKind.CLASSIFICATION, TaskKind.REGRESSION})
    Params = SceneCNNParams
    presets = {"tiny": {"epochs": 3, "batch_size": 16, "n_mels": 32, "width": 8, "blocks": 3, "hidden": 32}}

    def feature_spec(self) -> FeatureSpec:
        # n_mfcc = n_mels: the MFCC channel has the log-mel's height and the two stack
        return mel_spec("logmel+mfcc", self.params, self.task.audio, n_mfcc=self.params.n_mels)

    def build_model(self) -> nn.Module:
        p = self.params
        net = SceneCNNNet(p, self.task.n_outputs)
        count = sum(t.numel() for t in net.parameters() if t.requires_grad)
        if count > p.max_params:
            raise ConfigError(
                f"solution scenecnn: the network has {count:,} trainable parameters, over the budget"
                f" max_params={p.max_params:,}; lower width={p.width} or blocks={p.blocks}, or raise max_params"
            )
        return net

    def make_optimizer(self):
        return adam_plateau(self.model, self.params)
