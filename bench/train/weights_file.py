"""Reading a weights file that another project wrote: `pretrained=` of solutions, `weights=` of embeddings.

A .safetensors file, or a .pth/.pt/.bin torch pickle read with weights_only=True
(tensors and plain containers only, never arbitrary objects). A training-state
dict is unwrapped ("state_dict_ema", "state_dict" or "model"), and DataParallel's
"module." prefix is removed. Every failure is a ConfigError naming the setting and the file.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bench.core.config import ConfigError

SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
WRAPPERS = ("state_dict_ema", "state_dict", "model")


def read_state_dict(path: Path, setting: str = "pretrained") -> dict[str, torch.Tensor]:
    if path.suffix not in SUFFIXES:
        raise ConfigError(f"{setting}={path}: expected a {', '.join(SUFFIXES)} file")
    if not path.is_file():
        raise ConfigError(f"{setting}={path}: file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"{setting}={path}: cannot read it as a checkpoint ({exc})") from exc
    for wrapper in WRAPPERS:
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict) or not any(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{setting}={path}: holds no name -> tensor mapping of weights")
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
