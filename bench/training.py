"""The epoch loop every torch solution shares: batches, AMP, checkpoints, resume, early stop.

Each epoch ends with a checkpoint written atomically (model, optimizer, scheduler,
RNG states, early-stopping counters, history). A fit started again in the same
workdir continues after the last finished epoch and, on the CPU with a fixed seed,
ends with exactly the weights an uninterrupted fit would have. Batch order comes
from a generator seeded by (seed, epoch), so it does not depend on what ran before.
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
from bench.progress import Progress

CHECKPOINT = "checkpoint.pt"
BEST = "best.safetensors"


@dataclass
class LoopConfig:
    epochs: int
    batch_size: int
    patience: int  # epochs without a lower validation loss before stopping
    select: str = "accuracy"  # best weights by validation "accuracy" (max) or "loss" (min)


Batch = tuple[torch.Tensor, torch.Tensor]


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau | None,
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
        set_rng_state(state["rng"])
        return state["epoch"], state["history"], state["early"], state["done"]

    # -- loop -------------------------------------------------------------------------

    def fit(self, x_train, y_train, x_valid, y_valid) -> FitResult:
        self.ctx.workdir.mkdir(parents=True, exist_ok=True)
        seed_everything(self.ctx.seed)
        self.model.to(self.device)
        xt, yt = self._to_device(x_train, y_train)
        has_valid = x_valid is not None and len(x_valid) > 0
        xv, yv = self._to_device(x_valid, y_valid) if has_valid else (None, None)

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
                row.update(self._train_epoch(xt, yt, epoch))
                if has_valid:
                    row.update(self._evaluate(xv, yv, "valid"))
                    if self.sched is not None:
                        self.sched.step(row["valid_loss"])
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

    def _to_device(self, x, y) -> Batch:
        xt = torch.as_tensor(x).to(self.device)
        yt = torch.as_tensor(y).to(self.device)
        return xt, yt

    def _train_epoch(self, x: torch.Tensor, y: torch.Tensor, epoch: int) -> dict[str, float]:
        self.model.train()
        order = np.random.default_rng([self.ctx.seed, epoch]).permutation(len(x))
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(order), self.cfg.batch_size):
            idx = torch.as_tensor(order[i : i + self.cfg.batch_size], device=self.device)
            xb, yb = x[idx], y[idx]
            if self.augment is not None:
                xb, yb = self.augment(xb, yb)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                out = self.model(xb)
                loss = self.loss_fn(out.float(), yb)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            n = len(idx)
            total += n
            loss_sum += float(loss.detach()) * n
            if yb.dtype == torch.int64:
                correct += int((out.argmax(1) == yb).sum())
        metrics = {"train_loss": loss_sum / total}
        if y.dtype == torch.int64:
            metrics["train_accuracy"] = correct / total
        return metrics

    @torch.no_grad()
    def predict(self, x, batch_size: int | None = None) -> torch.Tensor:
        self.model.eval()
        self.model.to(self.device)
        xt = torch.as_tensor(x)
        outs = []
        bs = batch_size or self.cfg.batch_size
        for i in range(0, len(xt), bs):
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                outs.append(self.model(xt[i : i + bs].to(self.device)).float().cpu())
        return torch.cat(outs) if outs else torch.empty(0)

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor, prefix: str) -> dict[str, float]:
        out = self.predict(x).to(self.device)
        metrics = {f"{prefix}_loss": float(self.loss_fn(out, y))}
        if y.dtype == torch.int64:
            metrics[f"{prefix}_accuracy"] = float((out.argmax(1) == y).float().mean())
        return metrics


def _fmt(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def workdir_done(workdir: Path) -> bool:
    """True if a fit in `workdir` finished (its checkpoint says so)."""
    path = workdir / CHECKPOINT
    return path.exists() and bool(load_state(path).get("done"))
