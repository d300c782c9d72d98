"""Settings the spectrogram torch solutions share, and what they turn into.

`AdamPlateauParams` becomes Adam with ReduceLROnPlateau and early stopping;
`MelParams` becomes the FeatureSpec. A solution's Params dataclass inherits both
and redeclares a field only to change its default or search space.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.core.config import FloatRange, IntRange, param
from bench.core.contracts import AudioSpec, FeatureSpec


@dataclass
class AdamPlateauParams:
    epochs: int = param(40, "maximum training epochs", low=1, search=IntRange(10, 60), key=True)
    batch_size: int = param(32, "clips per batch", low=1, search=IntRange(16, 64, step=16), key=True)
    lr: float = param(1e-3, "Adam learning rate", low=0, search=FloatRange(1e-4, 3e-3, log=True), key=True)
    weight_decay: float = param(0.0, "Adam weight decay", low=0, search=FloatRange(1e-6, 1e-3, log=True))
    patience: int = param(10, "early stopping: epochs without lower validation loss", low=1)
    lr_patience: int = param(4, "ReduceLROnPlateau: epochs without improvement before lowering lr", low=0)
    lr_factor: float = param(0.5, "ReduceLROnPlateau: factor applied to lr", low=0.01, high=0.99)


@dataclass
class MelParams:
    n_mels: int = param(64, "mel bands", low=8)
    n_fft: int = param(1024, "FFT size in samples", low=64)
    hop_length: int = param(512, "hop between frames in samples", low=16)
    f_max: float | None = param(None, "highest mel frequency in Hz (none: Nyquist)", low=0)


def adam_plateau(model: nn.Module, p: AdamPlateauParams, betas: tuple[float, float] = (0.9, 0.999)):
    """(Adam, ReduceLROnPlateau on the validation loss), as TorchSolution.make_optimizer returns."""
    opt = torch.optim.Adam(model.parameters(), lr=p.lr, weight_decay=p.weight_decay, betas=betas)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=p.lr_factor, patience=p.lr_patience)
    return opt, sched


def mel_spec(kind: str, p: MelParams, audio: AudioSpec, **extra) -> FeatureSpec:
    return FeatureSpec(
        kind, audio.sample_rate, audio.clip_seconds,
        n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels, f_max=p.f_max, **extra,
    )
