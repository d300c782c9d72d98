"""How big and how costly a torch model is: parameters and multiply-accumulates per clip.

MACs come from torch's FLOP counter (torch.utils.flop_counter) on a one-clip forward
pass: it counts matrix products and convolutions (what dominates a CNN or a
transformer), not element-wise work, and MACs = FLOPs / 2.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def measure(model: nn.Module, clip_shape: tuple[int, ...]) -> dict[str, float]:
    """{"params", "macs"} of `model` for one input of `clip_shape` (no batch axis)."""
    params = sum(p.numel() for p in model.parameters())
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.eval()  # a one-clip batch would break BatchNorm in training mode, and must not update its statistics
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros((1, *clip_shape), device=device))
    finally:
        model.train(was_training)
    return {"params": float(params), "macs": float(counter.get_total_flops() // 2)}
