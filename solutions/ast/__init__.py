"""AST: the Audio Spectrogram Transformer on log-mel patches, for classification and regression.

The defaults follow the AST paper (128 mel bands, 10 ms hop, 16x16 patches at
stride 10, embed 768, depth 12, 12 heads, Adam with weight decay 5e-7 and betas
(0.95, 0.999)); at that size it is a GPU model. AST's results rely on ImageNet or
AudioSet pretraining: `pretrained=/path` loads local weights, and a run without
them says so in its log and is tagged random-init in its result and leaderboard row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from bench.core.config import Choice, ConfigError, FloatRange, IntRange, param
from bench.core.contracts import FeatureSpec, TaskKind
from bench.core.registry import register_solution
from bench.train.torch_solution import TorchSolution
from solutions._params import AdamPlateauParams, MelParams, adam_plateau, mel_spec
from solutions.ast.model import PATCH, ASTNet, patch_grid
from solutions.ast.pretrained import load_pretrained


@dataclass
class ASTParams(MelParams, AdamPlateauParams):
    epochs: int = param(30, "maximum training epochs", low=1, search=IntRange(10, 60), key=True)
    lr: float = param(1e-4, "Adam learning rate (AST fine-tunes pretrained weights at 1e-5)", low=0,
                      search=FloatRange(1e-5, 1e-3, log=True), key=True)
    weight_decay: float = param(5e-7, "Adam weight decay", low=0, search=FloatRange(1e-7, 1e-3, log=True))
    lr_patience: int = param(2, "ReduceLROnPlateau: epochs without improvement before lowering lr", low=0)
    n_mels: int = param(128, "mel bands (at least 16, one patch)", low=16)
    hop_length: int = param(220, "hop between frames in samples (220: 10 ms at 22050 Hz)", low=16)
    fstride: int = param(10, "patch stride along frequency (16: no overlap)", low=1, high=PATCH,
                         search=IntRange(6, 16, step=2))
    tstride: int = param(10, "patch stride along time (16: no overlap)", low=1, high=PATCH,
                         search=IntRange(6, 16, step=2))
    embed_dim: int = param(768, "token width (a multiple of heads)", low=1, search=Choice((192, 384, 768)), key=True)
    depth: int = param(12, "transformer blocks", low=1, search=IntRange(2, 12), key=True)
    heads: int = param(12, "attention heads per block", low=1, search=Choice((3, 6, 12)))
    mlp_ratio: float = param(4.0, "hidden width of each block's MLP, relative to embed_dim", low=0.5)
    dropout: float = param(0.0, "dropout on tokens, attention and projections", low=0, high=0.9,
                           search=FloatRange(0.0, 0.3))
    drop_path: float = param(0.1, "stochastic depth rate of the last block", low=0, high=0.9,
                             search=FloatRange(0.0, 0.3))
    pretrained: Path | None = param(None, "local AST or DeiT checkpoint (.pth, .bin, .safetensors); none: random init")


@register_solution("ast")
class AST(TorchSolution):
    description = "Audio Spectrogram Transformer: overlapping log-mel patches, ViT blocks, optional local pretrained weights"
    kinds = frozenset({TaskKind.CLASSIFICATION, TaskKind.REGRESSION})
    Params = ASTParams
    presets = {"tiny": {"epochs": 3, "batch_size": 16, "n_mels": 32, "hop_length": 512,
                        "embed_dim": 32, "depth": 2, "heads": 2}}

    def feature_spec(self) -> FeatureSpec:
        return mel_spec("logmel", self.params, self.task.audio)

    def min_frames(self) -> int:
        return PATCH  # one patch along time

    def build_model(self) -> nn.Module:
        p, spec = self.params, self.feature_spec()
        if p.embed_dim % p.heads:
            raise ConfigError(f"solution ast: embed_dim={p.embed_dim} is not a multiple of heads={p.heads}")
        if spec.n_frames < PATCH:
            raise ConfigError(
                f"solution ast: a {spec.clip_seconds:g} s clip at hop_length={p.hop_length} has"
                f" {spec.n_frames} frames, fewer than one {PATCH}-frame patch; lower hop_length"
            )
        grid = patch_grid(spec.n_mels, spec.n_frames, p.fstride, p.tstride)
        net = ASTNet(grid, self.task.n_outputs, embed_dim=p.embed_dim, depth=p.depth, heads=p.heads,
                     mlp_ratio=p.mlp_ratio, fstride=p.fstride, tstride=p.tstride, dropout=p.dropout,
                     drop_path=p.drop_path)
        return net

    def load_pretrained(self, net: ASTNet, path: Path) -> str:
        notes = load_pretrained(net, path)
        return f"loaded pretrained weights from {path}" + "".join(f"; {n}" for n in notes)

    def make_optimizer(self):
        return adam_plateau(self.model, self.params, betas=(0.95, 0.999))
