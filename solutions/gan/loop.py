"""The GANs' epoch loop: device-resident batches, validation, the best EMA generator, checkpoints, resume.

It follows bench.train.trainer where the two meet: callbacks get `on_epoch_start`
before an epoch draws anything and `on_epoch_end` with its row, their states are
written with the epoch's checkpoint, and an exception from `on_epoch_end` leaves the
fit once that checkpoint is on disk. Each epoch's clip order comes from (seed, epoch),
and the checkpoint holds both networks, the EMA, both optimizers, the schedulers, the
best EMA weights so far and every RNG state, so on the CPU a killed and resumed fit
ends with exactly the weights of an uninterrupted one.

Validation: every `eval_every` epochs (and the last) the EMA generator makes clips for
the validation labels from a fixed seed (the fit's). Both sides are summarised as the
per-clip mean and std over time of every mel bin, standardised with the training
statistics (and clipped where the generator's range ends). `valid_kernel` is the
unbiased kernel distance (RBF, median bandwidth of the real clips) between generated
and real clips of each class, averaged over classes; `valid_kernel_pooled` the same
over all clips at once. The lowest `valid_kernel` picks the EMA weights kept.
"""

from __future__ import annotations

import math
import time
from contextlib import AbstractContextManager

import numpy as np
import torch

from bench.core.contracts import FitContext, FitResult
from bench.core.distances import kernel_distance, median_bandwidth
from bench.core.progress import Progress
from bench.train.checkpoint import CheckpointError, load_state, rng_state, save_state, set_rng_state
from bench.train.devicedata import DeviceData

CHECKPOINT = "checkpoint.pt"


def summary(standardised: torch.Tensor) -> np.ndarray:
    """(N, 1, F, T) -> (N, 2F): each mel bin's mean and std over time, per clip."""
    x = standardised.double()[:, 0]
    return torch.cat([x.mean(2), x.std(2, correction=0)], 1).cpu().numpy()


class GANLoop:
    def __init__(self, solution, ctx: FitContext) -> None:
        self.sol, self.ctx, self.p = solution, ctx, solution.params
        self.callbacks = list(ctx.callbacks)
        self.device = torch.device(ctx.device)
        self.amp = ctx.amp and self.device.type == "cuda"
        if self.amp and not torch.cuda.is_bf16_supported():
            # float16 would need loss scaling through the gradient penalty's double backward
            ctx.log.warning("%s: this GPU has no bfloat16; training in float32", solution.name)
            self.amp = False

    # -- what train_epoch uses --------------------------------------------------------

    def autocast(self) -> AbstractContextManager:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def batches(self, n: int, epoch: int) -> list[np.ndarray]:
        order = np.random.default_rng([self.ctx.seed, epoch]).permutation(n)
        return [order[i: i + self.p.batch_size] for i in range(0, n, self.p.batch_size)]

    # -- the loop -----------------------------------------------------------------------

    def setup(self, x_train, y_train) -> DeviceData:
        """Networks on the device, optimizers made, training clips normalised (on the CPU) and placed once."""
        sol = self.sol
        with torch.no_grad():
            train = DeviceData(sol.norm(torch.as_tensor(x_train, dtype=torch.float32)), y_train, self.device)
        for m in (sol.gen, sol.critic, sol.ema.model, sol.norm):
            m.to(self.device)
        sol.gen.train()
        sol.critic.train()
        self.opt_g, self.opt_d, self.scheds = sol.make_optimizers()
        return train

    def run(self, x_train, y_train, x_valid, y_valid) -> FitResult:
        sol, ctx = self.sol, self.ctx
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        self.has_valid = x_valid is not None and len(x_valid) >= 2  # the unbiased kernel distance needs two
        if self.has_valid:
            self.x_valid, self.y_valid = x_valid, np.asarray(y_valid)
            with torch.no_grad():
                # clipped as the generator's output is, so the distance does not count what it cannot make
                self.real_summary = summary(sol.norm(torch.as_tensor(x_valid, dtype=torch.float32)) * sol.norm.clip_std)
            self.bandwidth = median_bandwidth(self.real_summary)  # one scale for every class and epoch
        train = self.setup(x_train, y_train)

        self.best_state: dict | None = None
        early = {"best_score": None, "best_epoch": None}
        history: list[dict] = []
        start, done, resumed = 1, False, None
        if (ctx.workdir / CHECKPOINT).exists():
            resumed, history, early, done = self._restore()
            start = resumed + 1
            ctx.log.info("resuming from the checkpoint of epoch %d in %s", resumed, ctx.workdir)

        with Progress(self.p.epochs, "epochs", enabled=ctx.progress) as bar:
            bar.advance(start - 1)
            for epoch in range(start, self.p.epochs + 1):
                if done:
                    break
                for cb in self.callbacks:
                    cb.on_epoch_start(epoch, ctx.seed)
                t0 = time.perf_counter()
                row = {"epoch": epoch, "lr_g": self.opt_g.param_groups[0]["lr"],
                       "lr_d": self.opt_d.param_groups[0]["lr"]}
                row.update(sol.train_epoch(train, epoch, self))
                for s in self.scheds:
                    s.step()
                if self.has_valid and (epoch % self.p.eval_every == 0 or epoch == self.p.epochs):
                    row.update(self._validate())
                row["seconds"] = time.perf_counter() - t0
                history.append(row)
                done = self._track(epoch, row, early)
                stop: BaseException | None = None
                for cb in self.callbacks:
                    try:
                        cb.on_epoch_end(epoch, row)
                    except BaseException as exc:  # noqa: BLE001 -- re-raised once the checkpoint is written
                        stop = exc
                        break
                self._save(epoch, history, early, done or epoch == self.p.epochs)
                text = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
                ctx.log.info(text)
                bar.advance(1, text)
                if stop is not None:
                    raise stop

        if self.best_state is not None:
            sol.ema.model.load_state_dict(self.best_state)
        sol.best_epoch = early["best_epoch"]
        return FitResult(history=history, best_epoch=early["best_epoch"], resumed_from=resumed,
                         notes={"generator_steps": sol.ema.updates})

    def _validate(self) -> dict[str, float]:
        sol = self.sol
        with torch.no_grad():
            fake = sol.sample(self.y_valid, self.ctx.seed, self.device)
            fake_summary = summary(fake * sol.norm.clip_std)
            row = {"valid_kernel": self._per_class(fake_summary),
                   "valid_kernel_pooled": _kernel(self.real_summary, fake_summary, self.bandwidth)}
            metric = self.ctx.metric
            # the task's own metric is reported (tuning's pruner reads valid_<metric>) but chooses nothing;
            # metrics a task's assessment computes cannot be had from the outputs alone
            if metric is not None and metric.needs == "features" and not getattr(metric, "assessed", False):
                try:
                    value = metric(self.x_valid, sol.norm.inverse(fake).float().cpu().numpy())
                except ValueError:  # a diverged generator's NaN clips
                    value = float("nan")
                row[f"valid_{metric.name}"] = value
        return row

    def _per_class(self, fake: np.ndarray) -> float:
        """The mean over classes of the kernel distance between a class's generated and real clips.

        Pooled over classes, the distance ranks an untrained generator whose every clip is
        the training mean above one that makes each class right: with the median bandwidth
        (set by the distances between classes) the mean is close to every real clip. Within
        a class it is not. Classes with fewer than two validation clips are left out; with
        none left, the pooled distance is used.
        """
        classes = [c for c in np.unique(self.y_valid) if np.sum(self.y_valid == c) >= 2]
        if not classes:
            return _kernel(self.real_summary, fake, self.bandwidth)
        return float(np.mean([_kernel(self.real_summary[self.y_valid == c], fake[self.y_valid == c], self.bandwidth)
                              for c in classes]))

    def _track(self, epoch: int, row: dict, early: dict) -> bool:
        """Keep the best EMA weights; True when early stopping ends the fit."""
        if not self.has_valid:
            early["best_epoch"] = epoch  # the last epoch's generator is the one kept
            return False
        value = row.get("valid_kernel")
        if value is not None and not math.isnan(value) and (early["best_score"] is None or value < early["best_score"]):
            early["best_score"], early["best_epoch"] = value, epoch
            self.best_state = {k: v.detach().clone() for k, v in self.sol.ema.model.state_dict().items()}
        if epoch - (early["best_epoch"] or 0) >= self.p.patience:
            self.ctx.log.info("early stop: valid_kernel has not improved for %d epochs", self.p.patience)
            return True
        return False

    # -- state ------------------------------------------------------------------------

    def _save(self, epoch: int, history: list, early: dict, done: bool) -> None:
        sol = self.sol
        save_state(self.ctx.workdir / CHECKPOINT, {
            "epoch": epoch, "done": done, "history": history, "early": early,
            "generator": sol.gen.state_dict(), "critic": sol.critic.state_dict(), "ema": sol.ema.state_dict(),
            "best": self.best_state, "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "scheds": [s.state_dict() for s in self.scheds], "rng": rng_state(),
            "callbacks": [{"name": _name(cb), "state": cb.state_dict()} for cb in self.callbacks],
        })

    def _restore(self) -> tuple[int, list, dict, bool]:
        sol, path = self.sol, self.ctx.workdir / CHECKPOINT
        state = load_state(path)
        try:
            sol.gen.load_state_dict(state["generator"])
            sol.critic.load_state_dict(state["critic"])
            sol.ema.load_state_dict(state["ema"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            for s, saved in zip(self.scheds, state["scheds"], strict=True):
                s.load_state_dict(saved)
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(f"{path} was written by a fit with other settings ({str(exc).splitlines()[0]});"
                                  " delete it to start this fit from scratch") from None
        self.best_state = state["best"]
        set_rng_state(state["rng"])
        unused = list(state["callbacks"])
        for cb in self.callbacks:  # as the trainer does: each gets the first saved state of its class
            match = next((s for s in unused if s["name"] == _name(cb)), None)
            if match is not None:
                unused.remove(match)
                cb.load_state_dict(match["state"])
        return state["epoch"], state["history"], state["early"], state["done"]


def _kernel(real: np.ndarray, fake: np.ndarray, bandwidth: float) -> float:
    try:
        return float(kernel_distance(real, fake, bandwidth=bandwidth))
    except ValueError:  # a diverged generator's NaN clips: never the best epoch
        return float("nan")


def _name(cb) -> str:
    return f"{type(cb).__module__}.{type(cb).__qualname__}"
