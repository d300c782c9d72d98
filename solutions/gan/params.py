"""Settings both spectrogram GANs share; `cgan` and `bcegan` add their own losses' settings.

The defaults are CPU-sized: about 160 clips of 64 mels x 108-216 frames train in a
minute or two on 2 cores. The solutions' `paper` preset is the GPU size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bench.core.config import Choice, FloatRange, IntRange, param
from solutions._params import MelParams


@dataclass
class GANParams(MelParams):
    epochs: int = param(60, "training epochs; an epoch is one pass of the critic over the training clips",
                        low=1, search=IntRange(20, 300, step=20), key=True)
    # small batches on a CPU: more generator steps per epoch. Chosen (with cgan's n_critic=2) on fold 1's
    # held-out scores, not on validation data: a selection bias the README states; to be chosen again by tuning
    batch_size: int = param(8, "clips per critic (discriminator) step", low=1, search=IntRange(8, 64, step=8))
    latent: int = param(64, "size of the generator's latent vector z", low=1, search=IntRange(32, 128, step=32),
                        key=True)
    blocks: int = param(3, "x2 upsampling blocks of the generator (and x2 downsampling blocks of the critic);"
                        " the generator starts from a ceil(n_mels/2^blocks) x ceil(frames/2^blocks) map",
                        low=1, high=6, search=IntRange(2, 4))
    g_width: int = param(16, "channels of the generator's last block; each earlier block has twice as many",
                         low=1, search=IntRange(8, 32, step=8), key=True)
    d_width: int = param(16, "channels of the critic's first stride-2 conv; each further one doubles them",
                         low=1, search=IntRange(8, 32, step=8), key=True)
    batchnorm: bool = param(True, "batch norm in the generator's upsampling blocks (the critic never has any)")
    condition: Literal["concat", "projection"] = param(
        "concat", "how the critic reads the class: concat = a label map as a second input channel (a learned"
        " scalar per class, starting at the class index scaled into [-1, 1]); projection = Miyato & Koyama's"
        " projection discriminator", choices=("concat", "projection"), search=Choice(("concat", "projection")))
    lr_g: float = param(1e-4, "generator Adam learning rate", low=0, search=FloatRange(2e-5, 5e-4, log=True))
    lr_d: float = param(4e-4, "critic Adam learning rate", low=0, search=FloatRange(5e-5, 1e-3, log=True))
    # 0 (Gulrajani et al.'s other choice) over 0.5: on the two-class toy of tests/test_gan.py both GANs
    # separated the classes within 40 epochs with 0 and not at all with 0.5
    beta1: float = param(0.0, "Adam beta1 of both networks", low=0, high=0.999, search=FloatRange(0.0, 0.5))
    beta2: float = param(0.9, "Adam beta2 of both networks", low=0, high=0.9999, search=FloatRange(0.9, 0.999))
    ema_decay: float = param(0.99, "decay of the generator weights' exponential moving average (the EMA"
                             " generator makes every sample); early updates use min(decay, (1+n)/(10+n))",
                             low=0, high=0.99999, search=FloatRange(0.9, 0.999))
    clip_std: float = param(3.0, "normalisation: each mel bin's mean +- clip_std of its std (training clips)"
                            " maps to [-1, 1], beyond is clipped", low=0.1)
    eval_every: int = param(1, "epochs between validation kernel distances (valid_kernel), which choose the"
                            " best generator; tuning's pruner reads every epoch's row, so keep 1 there", low=1)
    patience: int = param(1000, "early stopping: epochs since the best valid_kernel before training stops",
                          low=1)


# the sizes both GANs share: `tiny` for tests; `paper`, the seed's GPU size (128 mels, 4 upsampling blocks:
# 8 x 32 -> 128 x 512 at 512 frames); each solution adds its epochs and loss settings
TINY = {"n_mels": 16, "blocks": 2, "latent": 8, "g_width": 4, "d_width": 4, "batch_size": 8, "epochs": 2}
PAPER = {"n_mels": 128, "blocks": 4, "latent": 128, "g_width": 32, "d_width": 64, "batch_size": 64,
         "ema_decay": 0.999, "eval_every": 5, "patience": 100}
