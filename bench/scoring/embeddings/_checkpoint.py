"""Loading another project's checkpoint into an embedding network, all or nothing.

An embedding's numbers are only comparable with published ones when every tensor
comes from the file, so nothing is adapted or left at its initial value: a missing
key, an unexpected key or a different shape is a ConfigError naming the file, the
setting and the keys. The network is built on the meta device (no random init of
tens of millions of weights that the file replaces anyway) and takes the file's
tensors as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from bench.core.config import ConfigError
from bench.train.weights_file import read_state_dict

SETTING = "weights"


def weights_path(name: str, weights: Path | str | None, expected: str) -> Path:
    """The weights file the user named; refused when there is none (nothing is ever downloaded)."""
    if weights is None:
        raise ConfigError(f"embedding={name} needs {SETTING}=/path/to/{expected}; nothing is downloaded")
    return Path(weights)


def load_into(build: Callable[[], nn.Module], path: Path, expected: str,
              ignored: Callable[[str], bool] = lambda key: False) -> tuple[nn.Module, list[str]]:
    """The network `build()` makes, holding the file's tensors, and the keys skipped as `ignored`.

    `expected` names the checkpoint the network fits, for the error message.
    """
    try:
        state = read_state_dict(path, setting=SETTING)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (expected {expected})") from exc
    skipped = sorted(k for k in state if ignored(k))
    state = {k: v for k, v in state.items() if k not in skipped}
    with torch.device("meta"):
        net = build()
    check_fits(net.state_dict(), state, path, expected, type(net).__name__)
    net.load_state_dict(state, assign=True)
    return net.float().eval(), skipped


def check_fits(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor], path: Path, expected: str,
               network: str) -> None:
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: file {tuple(state[k].shape)} vs expected {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = [f"{len(items)} {label} ({_first(items)})" for label, items in
                 (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes)) if items]
        raise ConfigError(f"{SETTING}={path} does not fit {network}: {'; '.join(parts)}."
                          f" Expected {expected}, unmodified")


def _first(items: list[str], most: int = 5) -> str:
    more = f", … and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more
