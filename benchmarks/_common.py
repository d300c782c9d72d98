"""What both benchmarks print first: the device and how loaded the machine is."""

from __future__ import annotations

import os
import platform

import torch


def header(name: str, device: str) -> str:
    if device.startswith("cuda"):
        where = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    else:
        where = f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores)"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    line = f"{name}: device {where}; torch {torch.__version__}; load average (1, 5, 15 min) {load}"
    print(line, flush=True)
    return line


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"
