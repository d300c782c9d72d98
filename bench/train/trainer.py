"""The epoch loop every torch solution shares: batches, AMP, checkpoints, resume, early stop.

The task's metric drives the loop. Every epoch reports `train_loss`, `valid_loss` and
`valid_<metric>` (the registered metric function on the kind's post-processed
validation outputs, e.g. softmax probabilities, so it equals what the runner scores),
plus `train_<m>`/`valid_<m>` of the kind's running metric (accuracy for classification).
The best weights are those of the epoch with the best `valid_<metric>` in the metric's
direction. Early stopping follows `Kind.stop_on`: epochs without a lower validation
loss (classification) or without a better `valid_<metric>`. The metric is
`FitContext.metric`, else the kind's first default metric.

Each epoch ends with a checkpoint written atomically (model, optimizer, scheduler,
RNG states, early-stopping counters, history, callback states). A fit started again
in the same workdir continues after the last finished epoch and, on the CPU with a
fixed seed, ends with exactly the weights an uninterrupted fit would have. Batch order
comes from a generator seeded by (seed, epoch), so it does not depend on what ran
before; so do the draws of a class-balanced order (`LoopConfig.balanced`, for kinds
whose targets are class indices).

Callbacks (`bench.train.callbacks.Callback`) are the solution's own (its augment, when
that is a callback, e.g. `BatchAugment`, which reseeds from (seed, epoch)), then
`FitContext.callbacks` (tuning's pruner). Each gets `on_epoch_start` before the epoch
draws a batch and `on_epoch_end` with the epoch's row; their `state_dict()`s are
taken after `on_epoch_end` and written with that epoch's checkpoint (key "callbacks",
in order, with each callback's class name), so a resumed callback has seen exactly
the epochs its checkpoint holds; on resume each callback gets the saved state of its
class. An exception from `on_epoch_end` (e.g. `optuna.TrialPruned`) leaves fit once
that epoch's checkpoint is written.

Features are loaded once as one tensor (bench.train.devicedata: on the GPU when they fit,
else streamed from pinned host memory), so a batch is an index gather, not a
per-sample Python pipeline. On CUDA the forward pass runs under bfloat16 autocast
(float16 with a gradient scaler where the GPU lacks bfloat16). A scheduler other than
ReduceLROnPlateau steps once per epoch or, with `sched_step="batch"` (OneCycleLR),
once per batch; its state is part of the checkpoint. ReduceLROnPlateau steps on the
validation loss.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from bench.core.contracts import FitContext, FitResult
from bench.core.kinds import Kind
from bench.core.metrics import Metric
from bench.core.progress import Progress
from bench.train.callbacks import Callback
from bench.train.checkpoint import (
    CheckpointError,
    load_state,
    load_weights,
    rng_state,
    save_state,
    save_weights,
    seed_everything,
    set_rng_state,
)
from bench.train.devicedata import DeviceData

CHECKPOINT = "checkpoint.pt"
BEST = "best.safetensors"


@dataclass
class LoopConfig:
    epochs: int
    batch_size: int
    patience: int  # epochs without improvement (Kind.stop_on: validation loss or metric) before stopping
    sched_step: str = "epoch"  # a non-plateau scheduler steps per "epoch" or per "batch"
    balanced: bool = False  # draw each epoch's clips class-balanced, with replacement (class targets only)
    channels_last: bool = False  # NHWC memory format for model and batches
    compile: bool = False  # torch.compile the forward pass (weights stay in the plain model)


Batch = tuple[torch.Tensor, torch.Tensor]


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau | None,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        ctx: FitContext,
        cfg: LoopConfig,
        augment: Callable[[torch.Tensor, torch.Tensor], Batch] | None = None,
        *,
        kind: Kind,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.model = model
        self.opt = optimizer
        self.sched = scheduler
        self.loss_fn = loss_fn
        self.ctx = ctx
        self.cfg = cfg
        self.augment = augment
        self.kind = kind
        self.metric: Metric = ctx.metric if ctx.metric is not None else kind.metric(kind.default_metrics[0])
        if self.metric.needs != kind.needs:
            raise ValueError(f"metric '{self.metric.name}' reads {self.metric.needs}, but {kind.kind} tasks"
                             f" produce {kind.needs}; pick one of {', '.join(kind.default_metrics)}")
        if cfg.balanced and not kind.class_targets:
            raise ValueError(f"balanced sampling draws by class, and {kind.kind} targets are not classes;"
                             " turn balanced off")
        own = [augment] if isinstance(augment, Callback) else []
        self.callbacks: list[Callback] = [*own, *callbacks, *ctx.callbacks]
        self.device = torch.device(ctx.device)
        self.amp = ctx.amp and self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16
        if self.amp and not torch.cuda.is_bf16_supported():
            self.amp_dtype = torch.float16
        # float16 gradients underflow without loss scaling; bfloat16 needs none
        self.scaler = torch.amp.GradScaler("cuda") if self.amp and self.amp_dtype == torch.float16 else None
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.forward: Callable[[torch.Tensor], torch.Tensor] = self.model
        if cfg.compile:
            self.forward = torch.compile(self.model)

    # -- state ------------------------------------------------------------------------

    def _save(self, epoch: int, history: list, early: dict, done: bool) -> None:
        save_state(
            self.ctx.workdir / CHECKPOINT,
            {
                "epoch": epoch,
                "done": done,
                "model": self.model.state_dict(),
                "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict() if self.sched else None,
                "scaler": self.scaler.state_dict() if self.scaler else None,
                "rng": rng_state(),
                "early": early,
                "history": history,
                "callbacks": [{"name": _name(cb), "state": cb.state_dict()} for cb in self.callbacks],
            },
        )

    def _restore(self) -> tuple[int, list, dict, bool] | None:
        path = self.ctx.workdir / CHECKPOINT
        if not path.exists():
            return None
        state = load_state(path)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        if self.sched is not None and state["scheduler"] is not None:
            self.sched.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        self._restore_callbacks(state.get("callbacks") or [])  # none: written before callbacks had state
        early = state["early"]
        if early.get("metric", self.metric.name) != self.metric.name:
            raise CheckpointError(
                f"{path}: this fit chose its best epoch by {early['metric']}, not {self.metric.name}; resume"
                " with the metric it was started with, or delete the file to start this fit from scratch")
        return state["epoch"], state["history"], early, state["done"]

    def _restore_callbacks(self, saved: list[dict]) -> None:
        """Give each callback the first unused saved state of its class, in order.

        A callback missing from the checkpoint starts fresh and a saved one missing from
        this fit is dropped: context callbacks (a pruner, a test's kill switch) may differ
        between the fit that wrote the checkpoint and the one resuming it.
        """
        unused = list(range(len(saved)))
        for cb in self.callbacks:
            match = next((i for i in unused if saved[i]["name"] == _name(cb)), None)
            if match is not None:
                unused.remove(match)
                cb.load_state_dict(saved[match]["state"])
        for i in unused:
            if saved[i]["state"]:
                self.ctx.log.warning("checkpoint state of callback %s dropped: this fit has no such callback",
                                     saved[i]["name"])

    # -- loop -------------------------------------------------------------------------

    def fit(self, x_train, y_train, x_valid, y_valid) -> FitResult:
        self.ctx.workdir.mkdir(parents=True, exist_ok=True)
        seed_everything(self.ctx.seed)
        self.model.to(self.device, memory_format=self.memory_format)
        train = DeviceData(x_train, y_train, self.device)
        has_valid = x_valid is not None and len(x_valid) > 0
        valid = DeviceData(x_valid, y_valid, self.device) if has_valid else None
        self.ctx.log.info("training features: %.1f MB held %s", train.nbytes / 1e6,
                          {"device": f"on {self.device}", "pinned": "in pinned host memory",
                           "host": "in host memory"}[train.placement])

        early = {"best_loss": float("inf"), "bad_epochs": 0, "best_score": None, "best_epoch": None,
                 "metric": self.metric.name}
        history: list[dict[str, float]] = []
        start, done, resumed = 1, False, None
        restored = self._restore()
        if restored is not None:
            last, history, early, done = restored
            start, resumed = last + 1, last
            self.ctx.log.info("resuming from the checkpoint of epoch %d in %s", last, self.ctx.workdir)
        truth = self.kind.truth(x_valid, y_valid) if has_valid else None

        with Progress(self.cfg.epochs, "epochs", enabled=self.ctx.progress) as bar:
            bar.advance(start - 1)
            for epoch in range(start, self.cfg.epochs + 1):
                if done:
                    break
                for cb in self.callbacks:
                    cb.on_epoch_start(epoch, self.ctx.seed)
                t0 = time.perf_counter()
                row = {"epoch": epoch, "lr": self.opt.param_groups[0]["lr"]}
                row.update(self._train_epoch(train, epoch))
                if has_valid:
                    row.update(self._evaluate(valid, truth))
                if isinstance(self.sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    if has_valid:
                        self.sched.step(row["valid_loss"])
                elif self.sched is not None and self.cfg.sched_step == "epoch":
                    self.sched.step()
                row["seconds"] = time.perf_counter() - t0
                history.append(row)
                done = self._track(epoch, row, early, has_valid)
                # before the checkpoint, so the states it holds include this epoch's end; a callback
                # that ends the fit does so once the checkpoint is written
                stop: BaseException | None = None
                for cb in self.callbacks:
                    try:
                        cb.on_epoch_end(epoch, row)
                    except BaseException as exc:  # noqa: BLE001 -- re-raised below
                        stop = exc
                        break
                self._save(epoch, history, early, done or epoch == self.cfg.epochs)
                self.ctx.log.info(" ".join(f"{k}={_fmt(v)}" for k, v in row.items()))
                bar.advance(1, " ".join(f"{k}={_fmt(v)}" for k, v in row.items() if k != "epoch"))
                if stop is not None:
                    raise stop

        best = self.ctx.workdir / BEST
        if best.exists():
            self.model.load_state_dict(load_weights(best))
        return FitResult(history=history, best_epoch=early["best_epoch"], resumed_from=resumed)

    def _track(self, epoch: int, row: dict, early: dict, has_valid: bool) -> bool:
        """Update early stopping and best weights; True when training should stop."""
        if not has_valid:
            early["best_epoch"] = epoch
            save_weights(self.ctx.workdir / BEST, self.model.state_dict())
            return False
        value = row[f"valid_{self.metric.name}"]
        improved = _improves(self.metric, value, early["best_score"])
        if improved:
            early["best_score"], early["best_epoch"] = value, epoch
            save_weights(self.ctx.workdir / BEST, self.model.state_dict())
        if self.kind.stop_on == "loss":
            watched = "loss"
            improved = row["valid_loss"] < early["best_loss"]
            if improved:
                early["best_loss"] = row["valid_loss"]
        else:
            watched = self.metric.name
        early["bad_epochs"] = 0 if improved else early["bad_epochs"] + 1
        if early["bad_epochs"] >= self.cfg.patience:
            self.ctx.log.info("early stop: validation %s has not improved for %d epochs", watched, self.cfg.patience)
            return True
        return False

    def _order(self, y: torch.Tensor, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.ctx.seed, epoch])
        if self.cfg.balanced:
            return balanced_order(y.cpu().numpy(), rng)
        return rng.permutation(len(y))

    def _train_epoch(self, data: DeviceData, epoch: int) -> dict[str, float]:
        self.model.train()
        order = self._order(data.y, epoch)
        running = self.kind.running_metric
        total = 0
        hits = torch.zeros((), dtype=torch.int64, device=self.device)
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        for i in range(0, len(order), self.cfg.batch_size):
            xb, yb = data.take(order[i : i + self.cfg.batch_size])
            if self.augment is not None:
                xb, yb = self.augment(xb, yb)
            xb = xb.contiguous(memory_format=self.memory_format) if xb.dim() == 4 else xb
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
                out = self.forward(xb)
                loss = self.loss_fn(out.float(), yb)
            self.opt.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.opt)
                self.scaler.update()
            else:
                loss.backward()
                self.opt.step()
            if self.sched is not None and self.cfg.sched_step == "batch":
                self.sched.step()
            n = len(xb)
            total += n
            # accumulated on the device: no host sync per batch
            loss_sum += loss.detach().double() * n
            if running is not None:
                hits += self.kind.batch_hits(out, yb)
        row = {"train_loss": float(loss_sum) / total}
        if running is not None:
            row[f"train_{running}"] = int(hits) / total
        return row

    @torch.no_grad()
    def predict(self, x, batch_size: int | None = None,
                transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Raw outputs for x (an array, a tensor or DeviceData), on the CPU.

        `transform` (test-time augmentation) is applied to each batch on the device.
        """
        self.model.eval()
        self.model.to(self.device, memory_format=self.memory_format)
        data = x if isinstance(x, DeviceData) else DeviceData(x, None, self.device)
        outs = []
        bs = batch_size or self.cfg.batch_size
        for i in range(0, len(data), bs):
            xb = data.slice(i, i + bs)
            if transform is not None:
                xb = transform(xb)
            xb = xb.contiguous(memory_format=self.memory_format) if xb.dim() == 4 else xb
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
                outs.append(self.forward(xb).float())
        return torch.cat(outs).cpu() if outs else torch.empty(0)

    def _evaluate(self, data: DeviceData, truth: np.ndarray) -> dict[str, float]:
        """Validation loss, and the task's metric (and the kind's running one) on post-processed outputs."""
        out = self.predict(data).to(self.device)
        row = {"valid_loss": float(self.loss_fn(out, data.y))}
        running = self.kind.running_metric
        if running is not None:
            # counted on the device in float32, as the training statistic is: the history (and which
            # of two epochs with equal counts wins) stays what it was before metrics came by name
            row[f"valid_{running}"] = float(self.kind.batch_hits(out, data.y).to(torch.float32) / max(len(out), 1))
        if self.metric.name != running:
            row[f"valid_{self.metric.name}"] = self.metric(truth, self.kind.postprocess(out).cpu().numpy())
        return row


def _name(cb: Callback) -> str:
    return f"{type(cb).__module__}.{type(cb).__qualname__}"


def _improves(metric: Metric, value: float, best: float | None) -> bool:
    """`value` is better than `best` in the metric's direction; a NaN never is, and anything beats one."""
    if math.isnan(value):
        return False
    return best is None or math.isnan(best) or metric.better(value, best)


def balanced_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """len(y) indices drawn with replacement, every class equally likely."""
    counts = np.bincount(y)
    weights = 1.0 / counts[y]
    return rng.choice(len(y), size=len(y), replace=True, p=weights / weights.sum())


def _fmt(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def workdir_done(workdir: Path) -> bool:
    """True if a fit in `workdir` finished (its checkpoint says so)."""
    path = workdir / CHECKPOINT
    return path.exists() and bool(load_state(path).get("done"))
