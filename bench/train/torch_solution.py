"""What every torch classification/regression solution shares: normalisation, fit, predict, save.

A subclass supplies `build_model()` and `make_optimizer()`; this base handles the
input standardisation (statistics of the training features, saved with the
weights), the epoch loop (bench.train.trainer: best epoch and early stop by the
task's metric), prediction, and .safetensors save/load. What the task kind decides
comes from the kind (bench.core.kinds): the training loss (`loss_fn()` returns
`Kind.loss()`) and the post-processing of predictions (`Kind.postprocess`, softmax
for classes).

Optional hooks: `loop_config()` (the base gives epochs, batch_size and patience from
the params; a solution with more loop options, such as channels_last, compile or
balanced sampling, overrides it and sets them), `loss_fn()`, `make_augment(ctx)` (a
batch augmentation for the trainer, e.g. bench.train.augment's BatchAugment, which is
also a callback), `make_callbacks(ctx)` (the solution's own training callbacks, run
before `FitContext.callbacks`) and `steps_per_epoch` (set before `make_optimizer`
runs in `fit`, for schedulers that step per batch). A solution with a `pretrained`
param implements `load_pretrained(net, path)`: only `fit` calls it, so predicting
with saved weights never needs the file again.
"""

from __future__ import annotations

import dataclasses
import math
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.core.contracts import FitContext, FitResult, Solution
from bench.core.kinds import Kind  # not `kinds`: Solution.kinds is a class attribute
from bench.core.kinds import of as kind_of
from bench.train import complexity
from bench.train.callbacks import Callback
from bench.train.checkpoint import (
    CheckpointError,
    load_weights,
    save_weights,
    seed_everything,
)
from bench.train.trainer import LoopConfig, Trainer

WEIGHTS = "weights.safetensors"


class Standardize(nn.Module):
    """Subtract the training mean and divide by its std; both travel with the weights."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))

    def fit(self, x: np.ndarray) -> None:
        self.mean.fill_(float(x.mean()))
        self.std.fill_(float(x.std()) + 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class TorchSolution(Solution):
    def __init__(self, params, task) -> None:
        super().__init__(params, task)
        seed_everything(0)  # the same initial weights for the same params
        self.model = nn.Sequential(Standardize(), self.build_model())
        self.steps_per_epoch = 1  # batches per epoch, known once fit sees the data
        self._complexity: dict[str, float] | None = None

    @abstractmethod
    def build_model(self) -> nn.Module:
        """The network after input standardisation; outputs (N, task.n_outputs)."""

    @abstractmethod
    def make_optimizer(self) -> tuple[torch.optim.Optimizer, object | None]:
        """(optimizer, ReduceLROnPlateau or None)."""

    @property
    def task_kind(self) -> Kind:
        return kind_of(self.task)

    def loop_config(self) -> LoopConfig:
        """Epochs, batch size and patience from the params; override to set more loop options."""
        p = self.params
        return LoopConfig(p.epochs, p.batch_size, p.patience)

    def loss_fn(self) -> nn.Module:
        return self.task_kind.loss()

    def make_augment(self, ctx: FitContext):
        """A callable (x, y) -> (x, y) applied to each training batch on the device; None: none.

        When it is also a `Callback` (BatchAugment is), the trainer calls its hooks.
        """
        return

    def make_callbacks(self, ctx: FitContext) -> list[Callback]:
        """The solution's own training callbacks (besides its augment); none by default."""
        return []

    def _trainer(self, ctx: FitContext, augment=None, callbacks: list[Callback] | None = None) -> Trainer:
        opt, sched = self.make_optimizer()
        return Trainer(self.model, opt, sched, self.loss_fn(), ctx, self.loop_config(), augment,
                       kind=self.task_kind, callbacks=callbacks or [])

    def fit(self, x_train, y_train, x_valid, y_valid, ctx: FitContext) -> FitResult:
        seed_everything(ctx.seed)
        net = self.build_model()
        init = self._init_weights(net, ctx)
        self.model = nn.Sequential(Standardize(), net)
        self.model[0].fit(x_train)
        self._complexity = None
        self.steps_per_epoch = max(1, math.ceil(len(x_train) / self.params.batch_size))
        trainer = self._trainer(ctx, self.make_augment(ctx), self.make_callbacks(ctx))
        result = trainer.fit(x_train, y_train, x_valid, y_valid)
        result.notes.update(init)
        return result

    load_pretrained: Callable[[nn.Module, Path], str] | None = None
    """(net, path) -> what was loaded or adapted: loads the weights at `path` into a freshly built
    `net`. A solution whose Params have a `pretrained` field must define it (checked when the
    class is defined, so a plugin learns it before any run)."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        params = getattr(cls, "Params", None)
        if (params is not None and dataclasses.is_dataclass(params)
                and "pretrained" in {f.name for f in dataclasses.fields(params)} and cls.load_pretrained is None):
            raise TypeError(f"{cls.__name__} has a `pretrained` setting but no load_pretrained(net, path) method")

    def _init_weights(self, net: nn.Module, ctx: FitContext) -> dict:
        """Notes for the fold record; the runner lists notes["tags"] in result.json and on the leaderboard."""
        if not hasattr(self.params, "pretrained"):
            return {}
        path = self.params.pretrained
        if path is None:
            # a reader comparing with published numbers must see that no pretraining was used
            ctx.log.warning("%s: no pretrained= file given: training starts from random weights", self.name)
            return {"init": "random-init", "tags": ["random-init"]}
        loaded = self.load_pretrained(net, Path(path))
        ctx.log.info("%s: %s", self.name, loaded)
        return {"init": f"pretrained:{path}", "tags": ["pretrained"]}

    def predict(self, x: np.ndarray, ctx: FitContext) -> np.ndarray:
        return self.task_kind.postprocess(self._trainer(ctx).predict(x)).numpy()

    def embedding_layer(self) -> nn.Module:
        """The module whose input `embed` returns: the last nn.Linear, which in bench's networks
        is the output layer. A network whose last Linear is elsewhere overrides this."""
        linears = [m for m in self.model.modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise TypeError(f"solution {self.name} has no nn.Linear output layer; override embedding_layer()")
        return linears[-1]

    def embed(self, x: np.ndarray, ctx: FitContext) -> np.ndarray:
        """The output layer's input for each clip (the penultimate layer), from an ordinary forward pass."""
        captured: list[torch.Tensor] = []
        hook = self.embedding_layer().register_forward_hook(
            lambda module, inputs, output: captured.append(inputs[0].detach().float().flatten(1).cpu()))
        try:
            self._trainer(ctx).predict(x)
        finally:
            hook.remove()
        rows = torch.cat(captured) if captured else torch.empty(0)
        if len(rows) != len(x):
            raise RuntimeError(f"solution {self.name}: its embedding layer ran {len(rows)} times for {len(x)} clips;"
                               " override embedding_layer() to name the layer before the output")
        return rows.numpy()

    def save(self, folder: Path) -> None:
        save_weights(folder / WEIGHTS, self.model.state_dict(), {"solution": self.name})

    def load_state(self, folder: Path) -> None:
        state = load_weights(folder / WEIGHTS)
        # CheckpointErrors, not torch's RuntimeError: `bench predict` on a mixed-up folder must not end in a traceback
        try:
            missing, unexpected = self.model.load_state_dict(state, strict=False)
        except RuntimeError as exc:
            raise CheckpointError(f"{folder / WEIGHTS} does not fit solution {self.name} with these parameters"
                                  f" ({str(exc).splitlines()[-1].strip()}); the weights and the run record"
                                  " come from different runs") from None
        if missing or unexpected:
            raise CheckpointError(
                f"{folder / WEIGHTS} does not match solution {self.name} with these parameters:"
                f" missing {missing[:5]}, unexpected {unexpected[:5]}; the weights and the run record"
                " come from different runs"
            )

    def complexity(self) -> dict[str, float]:
        """Parameters and multiply-accumulates per clip (torch's FLOP counter / 2)."""
        if self._complexity is None:
            self._complexity = complexity.measure(self.model, self.feature_spec().shape)
        return dict(self._complexity)
