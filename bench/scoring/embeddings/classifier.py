"""`run:<run dir>`: the penultimate layer of a finished bench run, as an embedding and as a judge.

The in-domain choice, like the SC09 classifier behind WaveGAN's Inception score: a
network trained on real clips of the same sounds. Train it on data disjoint from the
clips it scores — for a cross-validated run, pick the fold whose test fold holds the
real clips (`run_fold=`); the record names the run, the fold and its training size.

Clips are turned into the run's own features (its frontend, sample rate and clip
length: padded or cut as in training), then each clip's activations at the input of
the output layer are the embedding (`Solution.embed`). The same model labels clips
for the GAN-test score (`predict`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.core.config import ConfigError
from bench.core.contracts import FeatureSpec, FitContext, Solution, TaskInfo
from bench.data.frontend import features_of
from bench.run.folders import resolve_device
from bench.run.predict import load_run
from bench.scoring.embeddings import RUN_PREFIX, Embedding, EmbeddingOptions


class ClassifierEmbedding(Embedding):
    """A fitted classifier as an embedding (`Solution.embed`) and as a judge (`predict`)."""

    def __init__(self, name: str, model: Solution, info: TaskInfo, device: str, what: str) -> None:
        if type(model).embed is Solution.embed:
            raise ConfigError(f"embedding={name}: solution {model.name} has no embedding of its inputs"
                              " (Solution.embed); use a network solution or baseline")
        self.name, self.model, self.info, self.what = name, model, info, what
        self.spec: FeatureSpec = model.feature_spec()
        self.sample_rate = self.spec.sample_rate
        self.min_samples = self.spec.n_fft
        self.ctx = FitContext(workdir=Path("."), device=device, progress=False)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.info.classes

    def features(self, waves: list[np.ndarray]) -> np.ndarray:
        """The model's (N, C, F, T) features of clips at its sample rate, cut or padded as in training."""
        return np.stack([features_of(w, self.spec) for w in waves])

    def embed_clips(self, waves):
        return self.embed_features(self.features(waves))

    def embed_features(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.embed(x, self.ctx), np.float64)

    def predict_features(self, x: np.ndarray) -> np.ndarray:
        """(N, n_classes) probabilities: the model as a judge."""
        return np.asarray(self.model.predict(x, self.ctx))

    def describe(self):
        return {**super().describe(), "solution": self.model.name, "classes": list(self.info.classes),
                "what": self.what}


class RunEmbedding(ClassifierEmbedding):
    def __init__(self, name: str, options: EmbeddingOptions) -> None:
        self.run_dir = Path(name[len(RUN_PREFIX):]).expanduser()
        if not name[len(RUN_PREFIX):]:
            raise ConfigError("embedding=run: needs a run folder, e.g. embedding=run:runs/20261206-101500-esc50-audiocnn-1a2b3c4d")
        if not self.run_dir.is_dir():
            raise ConfigError(f"embedding={name}: {self.run_dir} is not a folder (a finished `bench run` folder)")
        result, info, models = load_run(self.run_dir)
        folds = [f.name for f in result.folds]
        if options.run_fold is None and len(models) > 1:
            raise ConfigError(
                f"embedding={name}: the run has {len(models)} folds ({', '.join(folds)}); say which fold's model"
                " embeds with run_fold=NAME: the one whose test fold holds the real clips, so that the"
                " embedding never trained on them")
        index = 0 if options.run_fold is None else _fold_index(folds, options.run_fold, name)
        self.fold = result.folds[index]
        self.result = result
        super().__init__(name, models[index], info, resolve_device(options.device),
                         f"input of the output layer of {result.solution} trained in run {result.run_id}, fold"
                         f" {self.fold.name} ({self.fold.n_train} training clips)")
        self.ctx = FitContext(workdir=self.run_dir, device=self.ctx.device, progress=False)

    def describe(self):
        r = self.result
        return {**super().describe(), "run_dir": str(self.run_dir.resolve()), "run_id": r.run_id, "task": r.task,
                "fold": self.fold.name, "n_train": self.fold.n_train}


def _fold_index(folds: list[str], wanted: str, name: str) -> int:
    if wanted in folds:
        return folds.index(wanted)
    from bench.core.config import did_you_mean

    raise ConfigError(f"embedding={name}: run_fold={wanted} is not a fold of the run{did_you_mean(wanted, folds)};"
                      f" its folds: {', '.join(folds)}")
