"""Scoring generated audio, as a library.

    from bench import metrics
    metrics.frechet_distance(a, b)             # two (N, D) embedding arrays
    metrics.frechet_distance_inf(a, b)         # FAD∞: value, R², bootstrap interval
    metrics.kernel_distance(a, b)              # unbiased MMD² (KAD's RBF kernel; kernel="poly" for KID)
    metrics.prdc(real, generated)              # precision, recall, density, coverage
    metrics.memorisation(train, generated, heldout)
    metrics.score_audio("real/", "generated/", embedding="logmel", per_class=True)   # the whole record

`score_audio` takes folders, `task:NAME[:FOLDS]`, or `ClipSet`s (`ClipSet.from_waves`,
`ClipSet.from_features` for generated log-mel features) and returns the record that
`bench score-audio` prints and writes: every distance with its floors and ceilings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core.distances import (
    FrechetInf,
    KernelDistance,
    RankDeficientWarning,
    frechet_distance,
    frechet_distance_inf,
    kernel_distance,
    kernel_distance_ci,
)
from bench.core.neighbours import PRDC, Memorisation, memorisation, prdc
from bench.scoring.clipsets import ClipSet

__all__ = ["PRDC", "ClipSet", "FrechetInf", "KernelDistance", "Memorisation", "RankDeficientWarning",
           "frechet_distance", "frechet_distance_inf", "kernel_distance", "kernel_distance_ci", "memorisation",
           "prdc", "score_audio"]


def score_audio(real: str | Path | ClipSet, generated: str | Path | ClipSet, embedding: str = "logmel", *,
                weights: Path | None = None, per_class: bool = False, controls: bool = True,
                train: str | Path | ClipSet | None = None, judge: str | None = None, seed: int = 0,
                bootstrap: int = 100, kernel: str = "rbf", device: str = "cpu", run_fold: str | None = None,
                data_dir: Path | None = None) -> dict[str, Any]:
    """Score `generated` against `real` with the named embedding (see `bench.scoring.embeddings`).

    Returns the score record (plain JSON-ready dict): per set — real-vs-real floor, vocoder
    floor, generated, noise and silence ceilings — the Fréchet distance, FAD∞, kernel
    distance and PRDC; `position` (0 = real floor, 1 = nearest ceiling); per class with
    `per_class`; memorisation with `train`; GAN-test with `judge="run:DIR"`.
    """
    from bench.scoring import clipsets
    from bench.scoring.embeddings import EmbeddingOptions, create
    from bench.scoring.suite import Settings, score_sets

    options = EmbeddingOptions(weights=weights, device=device, run_fold=run_fold)
    emb = create(embedding, options)

    def clips(x, name):
        return x if isinstance(x, ClipSet) else clipsets.load(str(x), name, data_dir=data_dir,
                                                               sample_rate=emb.sample_rate)

    settings = Settings(kernel=kernel, bootstrap=bootstrap, seed=seed, controls=controls, per_class=per_class)
    return score_sets(clips(real, "real"), clips(generated, "generated"), emb, settings,
                      train=clips(train, "train") if train is not None else None,
                      judge=create(judge, options) if judge else None)
