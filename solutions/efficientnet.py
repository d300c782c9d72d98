"""EfficientNet (any timm image model) on log-mel images, with the seed recipe's training tricks.

The (1, n_mels, frames) log-mel of each clip is standardised, resized on the device
to img_size x img_size and repeated to 3 channels inside the model, so training,
prediction and the MAC count all see the same network. Training: class-balanced
sampling, SpecAugment, noise, gain, time-segment shuffling, mixup and cutmix with
mixed labels (bench.train.augment, on the device), AdamW with OneCycleLR stepped per
batch, label smoothing, mixed precision on CUDA, best weights by the task's metric
on validation (accuracy for the shipped tasks). Prediction averages the
probabilities of a clean pass and `tta - 1` lightly noised and gained passes.

Weights never come from a hub: `pretrained=FILE` loads a local timm checkpoint,
otherwise the network starts from random weights and the run is tagged random-init.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.core.config import ConfigError, FloatRange, IntRange, did_you_mean, param
from bench.core.contracts import FeatureSpec, FitContext, TaskKind
from bench.core.registry import register_solution
from bench.train.augment import AugmentConfig, BatchAugment
from bench.train.devicedata import DeviceData
from bench.train.torch_solution import TorchSolution
from bench.train.trainer import LoopConfig
from solutions._params import mel_spec
from bench.train.weights_file import read_state_dict

log = logging.getLogger("bench.efficientnet")


@dataclass
class EfficientNetParams:
    model_name: str = param("tf_efficientnetv2_m", "timm model (any name in timm.list_models())", key=True)
    pretrained: Path | None = param(
        None, "local timm checkpoint (.pth, .bin or .safetensors) to start from; none: random weights")
    img_size: int = param(384, "the log-mel image is resized to img_size x img_size on the device", low=16, key=True)
    epochs: int = param(22, "training epochs", low=1, search=IntRange(10, 40), key=True)
    batch_size: int = param(24, "clips per batch", low=1, search=IntRange(8, 48, step=8), key=True)
    lr: float = param(1.8e-4, "AdamW peak learning rate (OneCycleLR)", low=0,
                      search=FloatRange(3e-5, 1e-3, log=True), key=True)
    weight_decay: float = param(1e-2, "AdamW weight decay", low=0, search=FloatRange(1e-4, 1e-1, log=True))
    pct_start: float = param(0.1, "OneCycleLR: share of the steps spent warming up", low=0.01, high=0.9)
    label_smoothing: float = param(0.1, "label smoothing of the loss", low=0, high=0.5, search=FloatRange(0.0, 0.2))
    drop_rate: float = param(0.3, "dropout before the classifier", low=0, high=0.9, search=FloatRange(0.0, 0.5))
    drop_path_rate: float = param(0.2, "stochastic depth rate (0 for models without it)", low=0, high=0.9)
    patience: int = param(0, "early stopping: epochs without lower validation loss (0: never stop early)", low=0)
    balanced: bool = param(True, "class-balanced sampling (with replacement) of each epoch's clips")
    mix_p: float = param(0.5, "probability a clip is mixed with another (mixup or cutmix)", low=0, high=1,
                         search=FloatRange(0.0, 0.8))
    mixup_alpha: float = param(0.4, "mixup Beta(alpha, alpha) (0: no mixup)", low=0, search=FloatRange(0.1, 1.0))
    cutmix_alpha: float = param(1.0, "cutmix Beta(alpha, alpha) (0: no cutmix)", low=0, search=FloatRange(0.2, 2.0))
    freq_masks: int = param(2, "SpecAugment frequency masks per clip", low=0, search=IntRange(0, 3))
    time_masks: int = param(2, "SpecAugment time masks per clip", low=0, search=IntRange(0, 3))
    mask_fraction: float = param(0.1, "widest SpecAugment mask, as a share of its axis", low=0, high=0.5)
    noise_p: float = param(0.3, "probability of gaussian noise on a clip", low=0, high=1)
    noise_std: float = param(0.05, "noise std relative to the clip's std", low=0)
    gain_p: float = param(0.5, "probability of a random gain on a clip", low=0, high=1)
    gain_db: float = param(6.0, "random gain drawn from [-gain_db, gain_db] dB", low=0)
    shuffle_p: float = param(0.2, "probability a clip's time segments are shuffled", low=0, high=1)
    shuffle_segments: int = param(4, "segments of a time shuffle", low=2)
    tta: int = param(12, "test-time passes: one clean plus tta-1 with light noise and gain", low=1)
    tta_noise_std: float = param(0.02, "noise std of the test-time passes, relative to the clip's std", low=0)
    tta_gain_db: float = param(2.0, "gain range of the test-time passes in dB", low=0)
    n_mels: int = param(256, "mel bands", low=8)
    n_fft: int = param(2048, "FFT size in samples", low=64)
    hop_length: int = param(320, "hop between frames in samples", low=16)
    f_max: float | None = param(None, "highest mel frequency in Hz (none: Nyquist)", low=0)
    channels_last: bool = param(True, "channels-last (NHWC) memory format for model and batches (faster on CPU"
                                " in benchmarks/train_throughput.py, and for convolutions under CUDA autocast)")
    compile: bool = param(False, "torch.compile the forward pass")

    def __post_init__(self) -> None:
        import timm

        if self.model_name not in timm.list_models():
            raise ConfigError(
                f"solution efficientnet: 'model_name' {self.model_name!r} is not a timm model"
                f"{did_you_mean(self.model_name, timm.list_models())}; `python -c \"import timm;"
                f" print(timm.list_models('*efficientnet*'))\"` lists candidates"
            )


class ToImage(nn.Module):
    """(N, C, F, T) -> (N, 3, S, S): bilinear resize on the device, channels repeated to 3."""

    def __init__(self, size: int, channels_last: bool = False) -> None:
        super().__init__()
        self.size = size
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        reps = -(-3 // x.shape[1])
        return x.repeat(1, reps, 1, 1)[:, :3].contiguous(memory_format=self.memory_format)


class PretrainedMismatch(ConfigError):
    """A checkpoint's tensors do not fit the network built from the params."""


@register_solution("efficientnet")
class EfficientNet(TorchSolution):
    description = "timm EfficientNetV2-M on resized log-mel, mixup/cutmix, SpecAugment, OneCycle AdamW, TTA"
    kinds = frozenset({TaskKind.CLASSIFICATION})
    Params = EfficientNetParams
    presets = {
        "tiny": {"model_name": "test_efficientnet", "img_size": 64, "epochs": 2, "batch_size": 16,
                 "n_mels": 32, "n_fft": 512, "hop_length": 256, "tta": 2, "drop_path_rate": 0.0},
    }

    def feature_spec(self) -> FeatureSpec:
        return mel_spec("logmel", self.params, self.task.audio)

    def build_model(self) -> nn.Module:
        p = self.params
        net = _create(p.model_name, self.task.n_outputs, p.img_size, p.drop_rate, p.drop_path_rate)
        return nn.Sequential(ToImage(p.img_size, p.channels_last), net)

    def load_pretrained(self, net: nn.Module, path: Path) -> str:
        return load_pretrained(net[1], path)

    def make_optimizer(self):
        p = self.params
        opt = torch.optim.AdamW(self.model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=p.lr, total_steps=p.epochs * self.steps_per_epoch, pct_start=p.pct_start)
        return opt, sched

    def loop_config(self) -> LoopConfig:
        p = self.params
        return dataclasses.replace(super().loop_config(), patience=p.patience or p.epochs + 1, sched_step="batch",
                                   balanced=p.balanced, channels_last=p.channels_last, compile=p.compile)

    def loss_fn(self):
        return nn.CrossEntropyLoss(label_smoothing=self.params.label_smoothing)

    def make_augment(self, ctx: FitContext) -> BatchAugment:
        p = self.params
        _, n_mels, frames = self.feature_spec().shape
        cfg = AugmentConfig(
            gain_p=p.gain_p, gain_db=p.gain_db, noise_p=p.noise_p, noise_std=p.noise_std,
            shuffle_p=p.shuffle_p, shuffle_segments=p.shuffle_segments,
            freq_masks=p.freq_masks, freq_width=int(p.mask_fraction * n_mels),
            time_masks=p.time_masks, time_width=int(p.mask_fraction * frames),
            mix_p=p.mix_p, mixup_alpha=p.mixup_alpha, cutmix_alpha=p.cutmix_alpha,
        )
        return BatchAugment(cfg, self.task.n_outputs, ctx.device, ctx.seed)

    def predict(self, x: np.ndarray, ctx: FitContext) -> np.ndarray:
        trainer = self._trainer(ctx)
        data = DeviceData(x, None, trainer.device)
        total = None
        for k in range(self.params.tta):
            transform = self._tta_pass(k, ctx) if k else None
            probs = self.task_kind.postprocess(trainer.predict(data, transform=transform))
            total = probs if total is None else total + probs
        return (total / self.params.tta).numpy()

    def _tta_pass(self, k: int, ctx: FitContext):
        p = self.params
        cfg = AugmentConfig(gain_p=1.0, gain_db=p.tta_gain_db, noise_p=1.0, noise_std=p.tta_noise_std)
        aug = BatchAugment(cfg, None, ctx.device)
        aug.reseed(ctx.seed, k)
        return lambda xb: aug(xb, None)[0]


def _create(name: str, n_outputs: int, img_size: int, drop_rate: float, drop_path_rate: float) -> nn.Module:
    """timm.create_model without any download; img_size is passed to models that take it (ViTs)."""
    import timm

    kwargs = {"pretrained": False, "num_classes": n_outputs, "in_chans": 3, "drop_rate": drop_rate}
    if drop_path_rate:
        kwargs["drop_path_rate"] = drop_path_rate
    try:
        return timm.create_model(name, img_size=img_size, **kwargs)
    except TypeError as exc:
        if "img_size" not in str(exc):
            raise ConfigError(f"solution efficientnet: timm model {name} rejects a setting: {exc}") from exc
    try:
        return timm.create_model(name, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"solution efficientnet: timm model {name} rejects a setting: {exc}"
                          " (set drop_path_rate=0 for models without stochastic depth)") from exc


def load_pretrained(net: nn.Module, path: Path) -> str:
    """Load `path` into `net`; only a classifier head of another class count may differ.

    Returns a note for the log and the result: which file, and whether the head was
    re-initialised.
    """
    state = read_state_dict(path)
    own = net.state_dict()
    head = getattr(net, "pretrained_cfg", {}).get("classifier") or ""
    is_head = lambda k: bool(head) and (k == head or k.startswith(head + "."))  # noqa: E731
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and own[k].shape != state[k].shape]
    head_only = all(is_head(k) and own[k].shape[1:] == state[k].shape[1:] for k in shapes)
    if missing or unexpected or not head_only:
        parts = [f"{len(missing)} missing (first: {missing[:5]})" if missing else "",
                 f"{len(unexpected)} unexpected (first: {unexpected[:5]})" if unexpected else "",
                 "shape mismatches (first: " + ", ".join(
                     f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}" for k in shapes[:5]) + ")"
                 if shapes else ""]
        raise PretrainedMismatch(
            f"pretrained={path} does not fit model {type(net).__name__}"
            f" ({getattr(net, 'pretrained_cfg', {}).get('architecture', '?')}): "
            + "; ".join(x for x in parts if x)
            + ". Use a checkpoint of the same timm model_name (and in_chans=3)"
        )
    file_classes = state[shapes[0]].shape[0] if shapes else None
    for k in shapes:
        del state[k]
    net.load_state_dict(state, strict=not shapes)
    if shapes:
        log.info("pretrained=%s: classifier head re-initialised (the file has %d classes, the task %d)",
                 path, file_classes, own[shapes[0]].shape[0])
        return f"pretrained:{path.name} (classifier head re-initialised)"
    log.info("pretrained=%s: every weight loaded", path)
    return f"pretrained:{path.name}"
