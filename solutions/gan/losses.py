"""GAN losses: the WGAN-GP gradient penalty, the smoothed BCE targets, and the generator EMA."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn


def gradient_penalty(critic: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, cond: torch.Tensor, weight: float = 10.0,
                     alpha: torch.Tensor | None = None) -> torch.Tensor:
    """weight * mean over clips of (||grad_x critic(x_hat)|| - 1)^2, x_hat = alpha real + (1 - alpha) fake.

    `alpha` is one uniform draw per clip unless given. The norm is per clip, over all of
    its input values. Computed in float32 with autocast off: the second derivative of a
    bfloat16 forward pass is too coarse for a penalty that is a squared difference from 1.
    """
    real, fake = real.detach().float(), fake.detach().float()
    if alpha is None:
        alpha = torch.rand(len(real), *[1] * (real.dim() - 1), device=real.device)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    with torch.autocast(real.device.type, enabled=False):
        score = critic(x_hat, cond)
    (grad,) = torch.autograd.grad(score.float().sum(), x_hat, create_graph=True)
    # the epsilon keeps the norm's gradient finite where a clip's input gradient is exactly zero
    norm = torch.sqrt(grad.flatten(1).pow(2).sum(1) + 1e-12)
    return weight * (norm - 1).pow(2).mean()


def smoothed_targets(n: int, smooth: float, real: bool, device: torch.device) -> torch.Tensor:
    """BCE targets drawn per clip: real from U(1 - smooth, 1), fake from U(0, smooth)."""
    u = torch.rand(n, device=device) * smooth
    return 1 - u if real else u


class EMA:
    """An exponential moving average of a model's weights: ema <- d * ema + (1 - d) * theta after each update.

    With `warmup`, update n (from 0) uses d = min(decay, (1 + n) / (10 + n)), so a short
    run's average is not dominated by the initial weights. Floating-point buffers (batch
    norm statistics) are averaged the same way; integer ones (batch counts) are copied.
    """

    def __init__(self, model: nn.Module, decay: float, warmup: bool = True) -> None:
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.warmup, self.updates = decay, warmup, 0

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        self.updates += 1
        live = dict(model.state_dict())
        for name, avg in self.model.state_dict().items():
            value = live[name].detach()
            if avg.is_floating_point():
                avg.mul_(d).add_(value.to(avg.dtype), alpha=1 - d)
            else:
                avg.copy_(value)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
