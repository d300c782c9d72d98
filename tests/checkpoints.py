"""Checkpoints laid out like the released VGGish and PANNs Cnn14 files, for the embedding tests.

The key names and shapes are written out from torchvggish's pytorch_vggish.pth and
audioset_tagging_cnn's Cnn14_mAP=0.431.pth, not taken from bench's modules, so a
renamed or reshaped layer in bench fails the tests. The two full-size files (about 290
and 330 MB of seeded random float32) are written once per session and deleted after.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

VGGISH_SHAPES: dict[str, tuple[int, ...]] = {
    "features.0.weight": (64, 1, 3, 3), "features.0.bias": (64,),
    "features.3.weight": (128, 64, 3, 3), "features.3.bias": (128,),
    "features.6.weight": (256, 128, 3, 3), "features.6.bias": (256,),
    "features.8.weight": (256, 256, 3, 3), "features.8.bias": (256,),
    "features.11.weight": (512, 256, 3, 3), "features.11.bias": (512,),
    "features.13.weight": (512, 512, 3, 3), "features.13.bias": (512,),
    "embeddings.0.weight": (4096, 12288), "embeddings.0.bias": (4096,),
    "embeddings.2.weight": (4096, 4096), "embeddings.2.bias": (4096,),
    "embeddings.4.weight": (128, 4096), "embeddings.4.bias": (128,),
}


def _bn(prefix: str, n: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (n,), f"{prefix}.bias": (n,), f"{prefix}.running_mean": (n,),
            f"{prefix}.running_var": (n,), f"{prefix}.num_batches_tracked": ()}


CNN14_SHAPES: dict[str, tuple[int, ...]] = {
    "spectrogram_extractor.stft.conv_real.weight": (513, 1, 1024),
    "spectrogram_extractor.stft.conv_imag.weight": (513, 1, 1024),
    "logmel_extractor.melW": (513, 64),
    **_bn("bn0", 64),
}
for _i, (_cin, _cout) in enumerate([(1, 64), (64, 128), (128, 256), (256, 512), (512, 1024), (1024, 2048)], 1):
    CNN14_SHAPES[f"conv_block{_i}.conv1.weight"] = (_cout, _cin, 3, 3)
    CNN14_SHAPES[f"conv_block{_i}.conv2.weight"] = (_cout, _cout, 3, 3)
    CNN14_SHAPES.update(_bn(f"conv_block{_i}.bn1", _cout))
    CNN14_SHAPES.update(_bn(f"conv_block{_i}.bn2", _cout))
CNN14_SHAPES.update({"fc1.weight": (2048, 2048), "fc1.bias": (2048,),
                     "fc_audioset.weight": (527, 2048), "fc_audioset.bias": (527,)})


def random_state(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    """Seeded values at He scale (activations stay O(1)); BatchNorm variances positive."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
        elif key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(shape, generator=g)
        elif len(shape) > 1:
            state[key] = torch.randn(shape, generator=g) * (2.0 / np.prod(shape[1:])) ** 0.5
        else:
            state[key] = 0.1 * torch.randn(shape, generator=g)
    return state


def dft_basis() -> tuple[torch.Tensor, torch.Tensor]:
    """A periodic-Hann-windowed DFT basis as (513, 1, 1024) real and imaginary kernels."""
    n = np.arange(1024)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / 1024)
    angle = 2 * np.pi * np.outer(np.arange(513), n) / 1024
    real, imag = window * np.cos(angle), -window * np.sin(angle)
    return torch.tensor(real, dtype=torch.float32)[:, None], torch.tensor(imag, dtype=torch.float32)[:, None]


def cheap_state(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    return {k: torch.zeros(1).expand(s) if s else torch.tensor(0) for k, s in shapes.items()}


@pytest.fixture(scope="session")
def vggish_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vggish") / "pytorch_vggish.pth"
    torch.save(random_state(VGGISH_SHAPES, seed=1), path)
    yield path
    path.unlink()


@pytest.fixture(scope="session")
def cnn14_file(tmp_path_factory) -> Path:
    """As released: {"model": state_dict, ...}, with a real DFT basis as STFT kernels."""
    state = random_state(CNN14_SHAPES, seed=2)
    real, imag = dft_basis()
    state["spectrogram_extractor.stft.conv_real.weight"] = real
    state["spectrogram_extractor.stft.conv_imag.weight"] = imag
    state["logmel_extractor.melW"] = state["logmel_extractor.melW"].abs() / 100
    path = tmp_path_factory.mktemp("panns") / "Cnn14_mAP=0.431.pth"
    torch.save({"model": state, "iteration": 0}, path)
    yield path
    path.unlink()
