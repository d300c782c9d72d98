"""The networks both GANs share: a conditional upsampling generator and a spectral-norm critic.

A condition is a float vector per clip (a one-hot class here), so a task with
continuous targets can pass its target vector without touching the networks.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def one_hot(y: torch.Tensor, n: int) -> torch.Tensor:
    return nn.functional.one_hot(y.long(), n).float()


def base_size(size: int, blocks: int) -> int:
    """The generator's starting size along one axis; the output (base * 2^blocks) is cropped back to `size`."""
    return math.ceil(size / 2**blocks)


class Generator(nn.Module):
    """[z, condition] -> Linear -> (C, F/2^k, T/2^k) map -> k transposed-conv x2 blocks -> conv -> Tanh -> crop."""

    def __init__(self, latent: int, n_cond: int, shape: tuple[int, int], blocks: int, width: int,
                 batchnorm: bool = True) -> None:
        super().__init__()
        self.shape = shape
        self.base = (base_size(shape[0], blocks), base_size(shape[1], blocks))
        channels = [width * 2 ** (blocks - i) for i in range(blocks + 1)]
        self.project = nn.Linear(latent + n_cond, channels[0] * self.base[0] * self.base[1])
        ups: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(channels):
            # kernel 4, stride 2, padding 1 doubles a side exactly
            ups.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=not batchnorm))
            if batchnorm:
                ups.append(nn.BatchNorm2d(c_out))
            ups.append(nn.ReLU(inplace=True))
        self.up = nn.Sequential(*ups)
        self.out = nn.Conv2d(channels[-1], 1, 3, padding=1)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        # no batch norm on the first map: it may be 1x1, and a batch of one would leave one value per channel
        h = torch.relu(self.project(torch.cat([z, cond.to(z.dtype)], 1)))
        h = self.up(h.view(len(z), -1, *self.base))
        return torch.tanh(self.out(h))[:, :, : self.shape[0], : self.shape[1]]


class Critic(nn.Module):
    """Spectral-norm convs (no batch norm: the gradient penalty is per sample), LeakyReLU, mean pooling, one score.

    `condition="concat"` adds a label map as a second input channel: a learned linear map of
    the condition vector to one value, initialised for one-hot classes to the class index
    scaled into [-1, 1] (the seed's label map), broadcast over the spectrogram.
    `condition="projection"` reads the spectrogram alone and adds <embed(condition), h>
    to the score (Miyato & Koyama 2018).
    """

    def __init__(self, n_cond: int, blocks: int, width: int, condition: str = "concat") -> None:
        super().__init__()
        if condition not in ("concat", "projection"):
            raise ValueError(f"condition must be concat or projection, got {condition!r}")
        self.condition = condition
        concat = condition == "concat"
        if concat:
            self.label = nn.Linear(n_cond, 1, bias=False)
            with torch.no_grad():
                self.label.weight.copy_(torch.linspace(-1, 1, n_cond) if n_cond > 1 else torch.zeros(1))
        layers: list[nn.Module] = []
        c_in, c = 2 if concat else 1, width
        for _ in range(blocks):
            # 3x3, stride 2, padding 1: a side of n becomes ceil(n/2), so even one frame passes
            layers += [spectral_norm(nn.Conv2d(c_in, c, 3, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            c_in, c = c, 2 * c
        c = c_in
        self.convs = nn.Sequential(*layers)
        self.score = spectral_norm(nn.Linear(c, 1))
        if not concat:
            self.embed = spectral_norm(nn.Linear(n_cond, c, bias=False))

    def label_map(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.label(cond.to(x.dtype))[:, :, None, None].expand(-1, 1, *x.shape[2:])

    def features(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """h: the pooled last conv features the score is read from."""
        if self.condition == "concat":
            x = torch.cat([x, self.label_map(x, cond)], 1)
        return self.convs(x).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.features(x, cond)
        out = self.score(h)[:, 0]
        if self.condition == "projection":
            out = out + (self.embed(cond.to(h.dtype)) * h).sum(1)
        return out


class VectorIn(nn.Module):
    """A generator called with one flat [z, condition] vector: what complexity.measure feeds a model."""

    def __init__(self, gen: Generator, latent: int) -> None:
        super().__init__()
        self.gen, self.latent = gen, latent

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.gen(v[:, : self.latent], v[:, self.latent :])


class SpectrogramIn(nn.Module):
    """A critic called with a spectrogram alone (an all-zero condition), for complexity.measure."""

    def __init__(self, critic: Critic, n_cond: int) -> None:
        super().__init__()
        self.critic, self.n_cond = critic, n_cond

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x, x.new_zeros(len(x), self.n_cond))
