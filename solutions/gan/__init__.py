"""Class-conditional spectrogram GANs for generation tasks: `cgan` (WGAN-GP) and `bcegan` (BCE GAN).

The registry imports this package (not its modules), so the solutions are imported here.
`base` holds the Solution contract both share, `loop` the epoch loop, `nets` the
generator and critic, `losses` the gradient penalty, label smoothing and the EMA.
"""

from solutions.gan import bcegan, cgan  # noqa: F401  (registers both)
