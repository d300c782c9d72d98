"""bcegan: a class-conditional non-saturating BCE GAN on log-mel spectrograms (the seed's second recipe).

Label smoothing on both sides (real targets from U(1 - smooth, 1), fake from
U(0, smooth)), the discriminator loss averaged over real and fake, a generator that
learns twice as fast, extra generator steps after a batch on which the discriminator
was right too often, gradient-norm clipping of both networks and an exponential
learning-rate decay per epoch. The discriminator is the spectral-norm critic of
`cgan` read as a logit; the condition is a vector (one-hot classes), as for `cgan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from bench.core.config import FloatRange, IntRange, param
from bench.core.registry import register_solution
from solutions.gan.base import GANSolution
from solutions.gan.losses import smoothed_targets
from solutions.gan.params import PAPER, TINY, GANParams

bce = nn.functional.binary_cross_entropy_with_logits


@dataclass
class BCEGANParams(GANParams):
    # about 10 generator steps per epoch against cgan's 2: fewer epochs take as long
    epochs: int = param(40, "training epochs; an epoch is one pass of the discriminator over the training clips",
                        low=1, search=IntRange(20, 300, step=20), key=True)
    lr_g: float = param(4e-4, "generator Adam learning rate (the seed: twice the discriminator's)", low=0,
                        search=FloatRange(1e-4, 1e-3, log=True))
    lr_d: float = param(2e-4, "discriminator Adam learning rate", low=0, search=FloatRange(5e-5, 5e-4, log=True))
    beta2: float = param(0.999, "Adam beta2 of both networks", low=0, high=0.9999, search=FloatRange(0.9, 0.999))
    smooth: float = param(0.2, "label smoothing: real targets from U(1 - smooth, 1), fake from U(0, smooth)",
                          low=0, high=0.5, search=FloatRange(0.0, 0.3))
    d_acc_threshold: float = param(0.8, "after a batch on which the discriminator's accuracy (mean of real and"
                                   " fake) is above this, the generator takes extra steps", low=0, high=1,
                                   search=FloatRange(0.6, 0.95))
    extra_g_steps: int = param(1, "extra generator steps when the discriminator is above d_acc_threshold",
                               low=0, search=IntRange(0, 3))
    clip_norm: float = param(1.0, "gradient-norm clipping of both networks", low=0, search=FloatRange(0.5, 5.0))
    lr_gamma: float = param(0.99, "ExponentialLR factor of both learning rates, once per epoch", low=0, high=1,
                            search=FloatRange(0.95, 1.0))


@register_solution("bcegan")
class BCEGAN(GANSolution):
    description = ("class-conditional BCE GAN: label smoothing, generator lr 2x, extra generator steps when the"
                   " discriminator dominates, gradient clipping, ExponentialLR, EMA generator")
    Params = BCEGANParams
    presets: ClassVar[dict[str, dict[str, Any]]] = {"tiny": TINY, "paper": {**PAPER, "epochs": 300}}

    def make_optimizers(self):
        p = self.params
        opt_g, opt_d = self.adam_pair()
        scheds = [torch.optim.lr_scheduler.ExponentialLR(o, p.lr_gamma) for o in (opt_g, opt_d)]
        return opt_g, opt_d, scheds

    def train_epoch(self, data, epoch, loop) -> dict[str, float]:
        p, device = self.params, loop.device
        batches = loop.batches(len(data), epoch)
        sums = torch.zeros(4, dtype=torch.float64, device=device)  # loss_d, real acc, fake acc, loss_g
        g_steps = 0
        for idx in batches:
            real, _, cond, logits = self.critic_batch(data, idx, loop)
            n = len(real)
            l_real, l_fake = logits[:n], logits[n:]
            loss_d = 0.5 * (bce(l_real, smoothed_targets(n, p.smooth, True, device))
                            + bce(l_fake, smoothed_targets(n, p.smooth, False, device)))
            loop.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            nn.utils.clip_grad_norm_(self.critic.parameters(), p.clip_norm)
            loop.opt_d.step()
            acc = torch.stack([(l_real > 0).double().mean(), (l_fake < 0).double().mean()])
            sums[:3] += torch.cat([loss_d.detach().double()[None], acc])
            # the one host sync per batch: how many generator steps follow depends on it
            steps = 1 + (p.extra_g_steps if float(acc.mean()) > p.d_acc_threshold else 0)
            for _ in range(steps):
                sums[3] += self._generator_step(cond, loop).double()
            g_steps += steps
        means = (sums[:3] / len(batches)).tolist()
        return {"train_loss_g": float(sums[3]) / g_steps, "train_loss_d": means[0], "train_d_real_acc": means[1],
                "train_d_fake_acc": means[2], "g_steps": g_steps}

    def _generator_step(self, cond: torch.Tensor, loop) -> torch.Tensor:
        p = self.params
        z = torch.randn(len(cond), p.latent, device=loop.device)
        self.critic.requires_grad_(False)
        with loop.autocast():
            logits = self.critic(self.gen(z, cond), cond).float()
        loss = bce(logits, torch.ones_like(logits))  # non-saturating: log D(G(z)) is maximised
        loop.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.gen.parameters(), p.clip_norm)
        loop.opt_g.step()
        self.critic.requires_grad_(True)
        self.ema.update(self.gen)
        return loss.detach()
