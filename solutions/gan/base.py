"""What both spectrogram GANs share: networks, normalisation, fit, generate, save and load.

A subclass brings its losses: `make_optimizers()` and `train_epoch()` (one pass of
the critic over the training clips, with the generator steps that go with it). The
epoch loop, validation, best-generator selection, checkpoints and resume are
`solutions.gan.loop`. Every sample comes from the EMA generator: the one validation
scores, the one saved, the one `generate` runs.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.core.atomic import write_json
from bench.core.contracts import FeatureSpec, FitContext, FitResult, Solution, TaskKind
from bench.train import complexity
from bench.train.checkpoint import CheckpointError, load_weights, save_weights, seed_everything
from bench.train.devicedata import DeviceData
from solutions._params import mel_spec
from solutions.gan.loop import GANLoop
from solutions.gan.losses import EMA
from solutions.gan.nets import Critic, Generator, SpectrogramIn, VectorIn, one_hot

WEIGHTS = "weights.safetensors"
META = "gan.json"
NETS = ("ema", "generator", "critic", "norm")


class Normalizer(nn.Module):
    """Per mel bin: (x - mean) / (clip_std * std), clipped to [-1, 1] (the generator's Tanh range).

    The training clips' statistics are buffers, so they travel with the weights.
    """

    def __init__(self, bins: int, clip_std: float) -> None:
        super().__init__()
        self.clip_std = clip_std
        self.register_buffer("mean", torch.zeros(bins))
        self.register_buffer("std", torch.ones(bins))

    def fit(self, x: np.ndarray) -> None:
        # bin by bin: a float64 copy of all the training features at once can take gigabytes
        x = np.asarray(x)
        stats = np.array([(b.mean(dtype=np.float64), b.std(dtype=np.float64))
                          for b in (x[:, :, f] for f in range(x.shape[2]))])
        self.mean.copy_(torch.from_numpy(stats[:, 0]))
        self.std.copy_(torch.from_numpy(stats[:, 1] + 1e-3))  # a constant bin would divide by zero

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean[:, None]) / self.std[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.standardise(x) / self.clip_std).clamp(-1, 1)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x * (self.clip_std * self.std[:, None]) + self.mean[:, None]


class GANSolution(Solution):
    kinds = frozenset({TaskKind.GENERATION})

    def __init__(self, params, task) -> None:
        super().__init__(params, task)
        seed_everything(0)  # the same initial weights for the same params
        self._build()
        self.best_epoch: int | None = None

    # -- what a subclass supplies -----------------------------------------------------

    @abstractmethod
    def make_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer, list]:
        """(generator optimizer, critic optimizer, schedulers stepped once per epoch)."""

    @abstractmethod
    def train_epoch(self, data: DeviceData, epoch: int, loop) -> dict[str, float]:
        """One pass of the critic over `data` (normalised clips) and the generator steps that go with it;
        `loop` (solutions.gan.loop.GANLoop) gives the batches, the device and autocast. Returns the history row's
        training figures."""

    # -- shared -----------------------------------------------------------------------

    @property
    def n_cond(self) -> int:
        return len(self.task.classes)

    def condition(self, y: torch.Tensor) -> torch.Tensor:
        """The condition vector of each clip: one-hot classes. A task with continuous targets returns them here."""
        return one_hot(y, self.n_cond)

    def adam_pair(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """Adam for the generator and for the critic, each at its own learning rate (two time-scales)."""
        p = self.params
        return (torch.optim.Adam(self.gen.parameters(), lr=p.lr_g, betas=(p.beta1, p.beta2)),
                torch.optim.Adam(self.critic.parameters(), lr=p.lr_d, betas=(p.beta1, p.beta2)))

    def critic_batch(self, data: DeviceData, idx: np.ndarray, loop
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(real clips, fakes for their conditions, the conditions, the critic's float32 scores of real then
        fake): one critic forward pass for both, which is exact because the critic has no batch norm."""
        real, y = data.take(idx)
        cond = self.condition(y).to(loop.device)
        z = torch.randn(len(real), self.params.latent, device=loop.device)
        with loop.autocast():
            with torch.no_grad():
                fake = self.gen(z, cond)
            scores = self.critic(torch.cat([real, fake.to(real.dtype)]), torch.cat([cond, cond])).float()
        return real, fake, cond, scores

    def feature_spec(self) -> FeatureSpec:
        return mel_spec("logmel", self.params, self.task.audio)

    def min_frames(self) -> int:
        # the generator crops its output to any length, and the critic's stride-2 convs take a side
        # of n to ceil(n / 2), so a single frame passes both
        return 1

    def _build(self) -> None:
        p = self.params
        _, bins, frames = self.feature_spec().shape
        self.gen = Generator(p.latent, self.n_cond, (bins, frames), p.blocks, p.g_width, p.batchnorm)
        self.critic = Critic(self.n_cond, p.blocks, p.d_width, p.condition)
        self.ema = EMA(self.gen, p.ema_decay)
        self.norm = Normalizer(bins, p.clip_std)
        self._complexity: dict[str, float] | None = None

    def fit(self, x_train, y_train, x_valid, y_valid, ctx: FitContext) -> FitResult:
        seed_everything(ctx.seed)
        self._build()
        self.norm.fit(x_train)
        return GANLoop(self, ctx).run(x_train, y_train, x_valid, y_valid)

    @torch.no_grad()
    def sample(self, labels: np.ndarray, seed: int, device: torch.device) -> torch.Tensor:
        """Normalised clips from the EMA generator for `labels`, on `device`.

        The latents come from a CPU generator seeded with `seed`, drawn all at once, so
        the output does not depend on the global RNG, the device or the batch size.
        """
        z = torch.randn(len(labels), self.params.latent, generator=torch.Generator().manual_seed(seed))
        y = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        net = self.ema.model.to(device).eval()
        bs = self.params.batch_size
        outs = [net(z[i: i + bs].to(device), self.condition(y[i: i + bs]).to(device)) for i in range(0, len(z), bs)]
        _, bins, frames = self.feature_spec().shape
        return torch.cat(outs) if outs else torch.empty((0, 1, bins, frames), device=device)

    @torch.no_grad()
    def generate(self, labels: np.ndarray, ctx: FitContext) -> np.ndarray:
        device = torch.device(ctx.device)
        self.norm.to(device)
        return self.norm.inverse(self.sample(labels, ctx.seed, device)).float().cpu().numpy()

    # -- files --------------------------------------------------------------------------

    def _meta(self) -> dict:
        return {"solution": self.name, "shape": list(self.feature_spec().shape), "n_cond": self.n_cond,
                "latent": self.params.latent, "best_epoch": self.best_epoch}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        modules = dict(zip(NETS, (self.ema.model, self.gen, self.critic, self.norm)))
        tensors = {f"{name}.{k}": v for name, m in modules.items() for k, v in m.state_dict().items()}
        save_weights(folder / WEIGHTS, tensors, {"solution": self.name})
        write_json(folder / META, self._meta())

    def load_state(self, folder: Path) -> None:
        meta_path = folder / META
        if not meta_path.exists():
            raise CheckpointError(f"{meta_path}: not found; {folder} holds no saved {self.name} model")
        meta = json.loads(meta_path.read_text())
        mine = self._meta()
        for key in ("solution", "shape", "n_cond", "latent"):
            if meta.get(key) != mine[key]:
                raise CheckpointError(f"{folder} was saved with {key}={meta.get(key)!r}, and solution {self.name}"
                                      f" with these parameters has {key}={mine[key]!r}; the weights and the run"
                                      " record come from different runs")
        state = load_weights(folder / WEIGHTS)
        modules = dict(zip(NETS, (self.ema.model, self.gen, self.critic, self.norm)))
        for name, module in modules.items():
            part = {k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")}
            try:
                module.load_state_dict(part)
            except RuntimeError as exc:
                raise CheckpointError(f"{folder / WEIGHTS}: the {name} weights do not fit solution {self.name} with"
                                      f" these parameters ({str(exc).splitlines()[-1].strip()})") from None
        self.best_epoch = meta.get("best_epoch")
        self._complexity = None

    def complexity(self) -> dict[str, float]:
        """Parameters of both networks and multiply-accumulates of one clip through each."""
        if self._complexity is None:
            g = complexity.measure(VectorIn(self.gen, self.params.latent), (self.params.latent + self.n_cond,))
            d = complexity.measure(SpectrogramIn(self.critic, self.n_cond), self.feature_spec().shape)
            self._complexity = {"params": g["params"] + d["params"], "generator_params": g["params"],
                                "critic_params": d["params"], "generator_macs": g["macs"], "critic_macs": d["macs"]}
        return dict(self._complexity)
