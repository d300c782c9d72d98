"""Loading a local AST or DeiT-style checkpoint into an ASTNet.

The file is read by bench.train.weights_file (.safetensors, or .pth/.pt/.bin under
torch's weights_only loader). Key prefixes of the usual wrappers are removed:
"module." (DataParallel), "v." (AST's timm backbone) and "1." (a bench
TorchSolution's weights, whose "0." standardisation is dropped).

What is adapted, and nothing else:
- pos_embed is resampled bilinearly from the checkpoint's patch grid to the network's;
- a 3-channel (image) patch-embedding kernel is averaged over its channels;
- a checkpoint without a distillation token (plain ViT) starts it from the class token.
The head is task-specific and always starts fresh. Any other missing key, extra key
or shape difference is an error that names the file and the keys.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from bench.core.config import ConfigError
from bench.train.weights_file import read_state_dict
from solutions.ast.model import PREFIX_TOKENS, ASTNet, resample_pos_embed

WRAPPERS = ("v.", "1.")  # AST's timm backbone; a bench TorchSolution's network after its standardisation
SKIPPED = ("0.", "mlp_head.", "head.", "head_dist.", "fc_norm.", "patch_grid")


def read_state(path: Path) -> dict[str, torch.Tensor]:
    return {_strip(k): v for k, v in read_state_dict(path).items()}


def _strip(key: str) -> str:
    for wrapper in WRAPPERS:
        key = key.removeprefix(wrapper)
    return key


def checkpoint_grid(state: dict[str, torch.Tensor], n_patches: int, net: ASTNet, path: Path) -> tuple[int, int]:
    """The patch grid the checkpoint's pos_embed is laid out on."""
    if "patch_grid" in state:  # written by bench's ASTNet
        return tuple(int(v) for v in state["patch_grid"].tolist())
    kernel = state.get("patch_embed.proj.weight")
    # an audio checkpoint shares the frequency axis (same mel bands and stride); an image one is square
    if kernel is not None and kernel.shape[1] == 1 and n_patches % net.grid[0] == 0:
        return net.grid[0], n_patches // net.grid[0]
    side = math.isqrt(n_patches)
    if side * side == n_patches:
        return side, side
    raise ConfigError(
        f"pretrained={path}: cannot tell the patch grid of its pos_embed ({n_patches} patch positions,"
        f" neither square nor a multiple of this network's {net.grid[0]} frequency patches)"
    )


def adapt(state: dict[str, torch.Tensor], net: ASTNet, path: Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The checkpoint's backbone tensors in the network's shapes, and what was changed."""
    ours = {k: v for k, v in net.state_dict().items() if not k.startswith(SKIPPED)}
    theirs = {k: v for k, v in state.items() if not k.startswith(SKIPPED)}
    notes = []
    if "dist_token" not in theirs and "cls_token" in theirs and "pos_embed" in theirs:
        theirs["dist_token"] = theirs["cls_token"].clone()
        pos = theirs["pos_embed"]
        theirs["pos_embed"] = torch.cat([pos[:, :1], pos[:, :1], pos[:, 1:]], dim=1)
        notes.append("no distillation token: started from the class token")
    if "pos_embed" in theirs and "pos_embed" in ours and theirs["pos_embed"].dim() == 3:
        pos = theirs["pos_embed"]
        old = checkpoint_grid(state, pos.shape[1] - PREFIX_TOKENS, net, path)
        if old != net.grid:
            theirs["pos_embed"] = resample_pos_embed(pos, net.grid, old)
            notes.append(f"pos_embed resampled from a {old[0]}x{old[1]} to a {net.grid[0]}x{net.grid[1]} patch grid")
    kernel = theirs.get("patch_embed.proj.weight")
    if kernel is not None and kernel.dim() == 4 and kernel.shape[1] == 3:
        theirs["patch_embed.proj.weight"] = kernel.mean(dim=1, keepdim=True)
        notes.append("3-channel patch embedding averaged to 1 channel")
    missing = sorted(set(ours) - set(theirs))
    extra = sorted(set(theirs) - set(ours))
    shapes = [f"{k}: checkpoint {tuple(theirs[k].shape)}, network {tuple(ours[k].shape)}"
              for k in sorted(set(ours) & set(theirs)) if theirs[k].shape != ours[k].shape]
    if missing or extra or shapes:
        parts = [f"{label} {_listing(items)}" for label, items in
                 (("missing keys", missing), ("unexpected keys", extra), ("shape mismatches", shapes)) if items]
        raise ConfigError(
            f"pretrained={path} does not fit this AST (embed_dim, depth, heads, mlp_ratio must match"
            f" the checkpoint's): {'; '.join(parts)}"
        )
    return theirs, notes


def _listing(items: list[str], most: int = 8) -> str:
    more = f", … and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more


def load_pretrained(net: ASTNet, path: Path) -> list[str]:
    """Copy the checkpoint's backbone into `net`; returns what was adapted. The head stays fresh."""
    state, notes = adapt(read_state(path), net, path)
    net.load_state_dict(state, strict=False)
    return notes
