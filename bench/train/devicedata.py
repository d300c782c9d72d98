"""Features loaded once as one tensor and batched on the training device.

On a CUDA device the whole (N, C, F, T) feature tensor is copied to the GPU once when
it fits in a share of the free memory (the rest is left for the model's weights,
activations and optimizer state); batches are then gathered by index on the GPU and
no host work happens per batch. When it does not fit, the tensor stays in pinned
host memory and each batch is gathered into one of two pinned staging buffers and
copied with `non_blocking=True`, so the copy of batch k+1 overlaps the GPU work on
batch k; an event per buffer keeps a buffer from being refilled before its copy ends.
On the CPU the tensor is the feature array itself (no copy).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

Placement = Literal["device", "pinned", "host"]

# Use at most this share of the GPU's free memory for the features.
DEVICE_SHARE = 0.5


def choose_placement(nbytes: int, device: torch.device, free_bytes: int | None = None) -> Placement:
    """Where a tensor of `nbytes` should live for training on `device`."""
    if device.type != "cuda":
        return "host"
    if free_bytes is None:
        free_bytes, _total = torch.cuda.mem_get_info(device)
    return "device" if nbytes <= DEVICE_SHARE * free_bytes else "pinned"


class DeviceData:
    """(x, y) ready to be batched by index on `device`; y (small) always lives there."""

    def __init__(self, x, y=None, device: str | torch.device = "cpu", placement: Placement | None = None) -> None:
        self.device = torch.device(device)
        xt = torch.as_tensor(x)
        self.placement: Placement = placement or choose_placement(xt.numel() * xt.element_size(), self.device)
        if self.placement == "device":
            xt = xt.to(self.device)
        elif self.placement == "pinned":
            xt = xt.pin_memory()
        self.x = xt
        self.y = torch.as_tensor(y).to(self.device) if y is not None else None
        self._staging: list[torch.Tensor] = []
        self._events: list[torch.cuda.Event | None] = [None, None]
        self._turn = 0

    def __len__(self) -> int:
        return len(self.x)

    @property
    def nbytes(self) -> int:
        return self.x.numel() * self.x.element_size()

    def take(self, idx: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The rows `idx` of x (on the device) and of y."""
        idx = torch.as_tensor(idx, dtype=torch.int64)
        yb = self.y[idx.to(self.device)] if self.y is not None else None
        if self.placement == "pinned":
            return self._copy_in(idx), yb
        return self.x[idx.to(self.x.device)], yb

    def slice(self, start: int, stop: int) -> torch.Tensor:
        """Rows start:stop of x on the device (prediction walks the data in order)."""
        if self.placement == "pinned":
            return self._copy_in(torch.arange(start, min(stop, len(self.x))))
        return self.x[start:stop].to(self.device)

    def _copy_in(self, idx: torch.Tensor) -> torch.Tensor:
        k = self._turn
        self._turn ^= 1
        if len(self._staging) < 2 or len(self._staging[k]) < len(idx):
            self._staging = [torch.empty((len(idx), *self.x.shape[1:]), dtype=self.x.dtype).pin_memory()
                             for _ in range(2)]
            self._events = [None, None]
        if self._events[k] is not None:
            self._events[k].synchronize()  # the previous copy out of this buffer has finished
        buf = self._staging[k][: len(idx)]
        torch.index_select(self.x, 0, idx, out=buf)
        xb = buf.to(self.device, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self._events[k] = event
        return xb
