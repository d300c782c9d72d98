"""The Audio Spectrogram Transformer network (Gong, Chung and Glass, 2021).

Overlapping 16x16 patches of the log-mel (strides `fstride` x `tstride`) become
tokens; a class and a distillation token are prepended, learned positional
embeddings added, and timm's ViT blocks applied. The outputs of the two tokens are
averaged and go through the head (LayerNorm + Linear), as AST's `mlp_head` does.
Module names follow timm's DeiT (`cls_token`, `dist_token`, `pos_embed`,
`patch_embed.proj`, `blocks.N`, `norm`), so DeiT and AST checkpoints map onto them.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

PATCH = 16
PREFIX_TOKENS = 2  # class and distillation tokens


def patch_grid(n_mels: int, n_frames: int, fstride: int, tstride: int) -> tuple[int, int]:
    """(frequency, time) patches of a (n_mels, n_frames) input; 0 where the input is smaller than a patch."""
    f = (n_mels - PATCH) // fstride + 1 if n_mels >= PATCH else 0
    t = (n_frames - PATCH) // tstride + 1 if n_frames >= PATCH else 0
    return f, t


def resample_pos_embed(pos: torch.Tensor, new_grid: tuple[int, int], old_grid: tuple[int, int],
                       prefix: int = PREFIX_TOKENS) -> torch.Tensor:
    """(1, prefix + f*t, D) positional embeddings moved to another patch grid, bilinearly.

    The prefix (class, distillation) embeddings are kept as they are; an unchanged
    grid returns the embedding itself.
    """
    old_grid, new_grid = tuple(old_grid), tuple(new_grid)
    if new_grid == old_grid:
        return pos
    head, grid = pos[:, :prefix], pos[:, prefix:]
    if grid.shape[1] != old_grid[0] * old_grid[1]:
        raise ValueError(f"pos_embed has {grid.shape[1]} patch positions, not {old_grid[0]}x{old_grid[1]}")
    dim = grid.shape[-1]
    grid = grid.reshape(1, *old_grid, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=new_grid, mode="bilinear", align_corners=False).to(pos.dtype)
    return torch.cat([head, grid.permute(0, 2, 3, 1).reshape(1, -1, dim)], dim=1)


class PatchEmbed(nn.Module):
    def __init__(self, dim: int, fstride: int, tstride: int, in_chans: int = 1) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, PATCH, stride=(fstride, tstride))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        h = self.proj(x)  # (N, D, f, t)
        return h.flatten(2).transpose(1, 2), (h.shape[2], h.shape[3])


class ASTNet(nn.Module):
    def __init__(self, grid: tuple[int, int], n_outputs: int, *, embed_dim: int, depth: int, heads: int,
                 mlp_ratio: float, fstride: int, tstride: int, dropout: float, drop_path: float) -> None:
        super().__init__()
        from timm.models.vision_transformer import (
            Block,  # timm takes seconds to import: only when built
        )

        self.grid = tuple(grid)
        # saved with the weights, so a checkpoint of this network says which grid its pos_embed is on
        self.register_buffer("patch_grid", torch.tensor(self.grid, dtype=torch.int64))
        self.patch_embed = PatchEmbed(embed_dim, fstride, tstride)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, PREFIX_TOKENS + grid[0] * grid[1], embed_dim))
        self.pos_drop = nn.Dropout(dropout)
        rates = torch.linspace(0, drop_path, depth).tolist()  # stochastic depth grows with depth
        norm = partial(nn.LayerNorm, eps=1e-6)
        self.blocks = nn.Sequential(*(
            Block(embed_dim, heads, mlp_ratio, qkv_bias=True, proj_drop=dropout, attn_drop=dropout,
                  drop_path=r, norm_layer=norm)
            for r in rates
        ))
        self.norm = norm(embed_dim)
        self.mlp_head = nn.Sequential(nn.LayerNorm(embed_dim), nn.Linear(embed_dim, n_outputs))
        self._init_weights()

    def _init_weights(self) -> None:
        for t in (self.pos_embed, self.cls_token, self.dist_token):
            nn.init.trunc_normal_(t, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens, grid = self.patch_embed(x)
        # a clip of another length than the training clips gets the embedding moved to its grid
        pos = resample_pos_embed(self.pos_embed, grid, self.grid)
        n = x.shape[0]
        h = torch.cat([self.cls_token.expand(n, -1, -1), self.dist_token.expand(n, -1, -1), tokens], dim=1)
        h = self.norm(self.blocks(self.pos_drop(h + pos)))
        return self.mlp_head((h[:, 0] + h[:, 1]) / 2)
