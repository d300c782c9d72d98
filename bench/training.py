"""The epoch loop every torch solution shares: batches, AMP, checkpoints, resume, early stop.

Each epoch ends with a checkpoint written atomically (model, optimizer, scheduler,
RNG states, early-stopping counters, history). A fit started again in the same
workdir continues after the last finished epoch and, on the CPU with a fixed seed,
ends with exactly the weights an uninterrupted fit would have. Batch order comes
from a generator seeded by (seed, epoch), so it does not depend on what ran before;
so do the draws of a class-balanced order (`LoopConfig.balanced`) and of an `augment`
that has a `reseed(seed, epoch)` method (bench.augment.BatchAugment), which the loop
calls at the start of every epoch.

Features are loaded once as one tensor (bench.devicedata: on the GPU when they fit,
else streamed from pinned host memory), so a batch is an index gather, not a
per-sample Python pipeline. On CUDA the forward pass runs under bfloat16 autocast
(float16 with a gradient scaler where the GPU lacks bfloat16). A scheduler other than
ReduceLROnPlateau steps once per epoch or, with `sched_step="batch"` (OneCycleLR),
once per batch; its state is part of the checkpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from bench.checkpoint import (load_state, load_weights, rng_state, save_state, save_weights,
                              seed_everything, set_rng_state)
from bench.contracts import FitContext, FitResult
from bench.devicedata import DeviceData
from bench.progress import Progress

CHECKPOINT = "checkpoint.pt"
BEST = "best.safetensors"


@dataclass
class LoopConfig:
    epochs: int
    batch_size: int
    patience: int  # epochs without a lower validation loss before stopping
    select: str = "accuracy"  # best weights by validation "accuracy" (max) or "loss" (min)
    sched_step: str = "epoch"  # a non-plateau scheduler steps per "epoch" or per "batch"
    balanced: bool = False  # draw each epoch's clips class-balanced, with replacement
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
    ) -> None:
        self.model = model
        self.opt = optimizer
        self.sched = scheduler
        self.loss_fn = loss_fn
        self.ctx = ctx
        self.cfg = cfg
        self.augment = augment
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
        return state["epoch"], state["history"], state["early"], state["done"]

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

        early = {"best_loss": float("inf"), "bad_epochs": 0, "best_score": None, "best_epoch": None}
        history: list[dict[str, float]] = []
        start, done, resumed = 1, False, None
        restored = self._restore()
        if restored is not None:
            last, history, early, done = restored
            start, resumed = last + 1, last
            self.ctx.log.info("resuming from the checkpoint of epoch %d in %s", last, self.ctx.workdir)

        with Progress(self.cfg.epochs, "epochs", enabled=self.ctx.progress) as bar:
            bar.advance(start - 1)
            for epoch in range(start, self.cfg.epochs + 1):
                if done:
                    break
                t0 = time.perf_counter()
                row = {"epoch": epoch, "lr": self.opt.param_groups[0]["lr"]}
                row.update(self._train_epoch(train, epoch))
                if has_valid:
                    row.update(self._evaluate(valid, "valid"))
                if isinstance(self.sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    if has_valid:
                        self.sched.step(row["valid_loss"])
                elif self.sched is not None and self.cfg.sched_step == "epoch":
                    self.sched.step()
                row["seconds"] = time.perf_counter() - t0
                history.append(row)
                done = self._track(epoch, row, early, has_valid)
                self._save(epoch, history, early, done or epoch == self.cfg.epochs)
                self.ctx.log.info(" ".join(f"{k}={_fmt(v)}" for k, v in row.items()))
                bar.advance(1, " ".join(f"{k}={_fmt(v)}" for k, v in row.items() if k != "epoch"))
                if self.ctx.on_epoch is not None:
                    self.ctx.on_epoch(epoch, row)

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
        score = row["valid_accuracy"] if self.cfg.select == "accuracy" else -row["valid_loss"]
        if early["best_score"] is None or score > early["best_score"]:
            early["best_score"], early["best_epoch"] = score, epoch
            save_weights(self.ctx.workdir / BEST, self.model.state_dict())
        if row["valid_loss"] < early["best_loss"]:
            early["best_loss"], early["bad_epochs"] = row["valid_loss"], 0
        else:
            early["bad_epochs"] += 1
        if early["bad_epochs"] >= self.cfg.patience:
            self.ctx.log.info("early stop: validation loss has not improved for %d epochs", self.cfg.patience)
            return True
        return False

    def _order(self, y: torch.Tensor, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.ctx.seed, epoch])
        if self.cfg.balanced and y.dtype == torch.int64:
            return balanced_order(y.cpu().numpy(), rng)
        return rng.permutation(len(y))

    def _train_epoch(self, data: DeviceData, epoch: int) -> dict[str, float]:
        self.model.train()
        order = self._order(data.y, epoch)
        if hasattr(self.augment, "reseed"):
            self.augment.reseed(self.ctx.seed, epoch)
        classify = data.y.dtype == torch.int64
        total = 0
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
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
            if classify:
                target = yb if yb.dtype == torch.int64 else yb.argmax(1)  # mixed labels: the larger share
                correct += (out.argmax(1) == target).sum()
        metrics = {"train_loss": float(loss_sum) / total}
        if classify:
            metrics["train_accuracy"] = int(correct) / total
        return metrics

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

    def _evaluate(self, data: DeviceData, prefix: str) -> dict[str, float]:
        out = self.predict(data).to(self.device)
        y = data.y
        metrics = {f"{prefix}_loss": float(self.loss_fn(out, y))}
        if y.dtype == torch.int64:
            metrics[f"{prefix}_accuracy"] = float((out.argmax(1) == y).float().mean())
        return metrics


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
