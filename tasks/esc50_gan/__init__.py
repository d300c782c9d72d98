"""esc50_gan: class-conditional generation of ESC-50 sounds, scored on the publisher's folds.

The data, its layout and its folds are `esc50`'s (the same reader and embedded
synthetic data). Each round trains the generator on the training folds (validation
drawn from whole src_file groups of them, for its best epoch) and asks it for as many
clips of each class as the held-out fold has. The held-out fold's real clips — never
seen by the generator or the judge — are what the generated clips are compared with
(`bench.scoring.rounds`): the kernel distance and FAD∞ in the embedding of a judge
classifier trained on the round's real training clips (`run`) and in log-mel
statistics (`logmel`), each between the scoring suite's floors and ceilings; GAN-test
accuracy; train-on-generated beside train-on-real; the memorisation check. Lower
`kernel_run` is better.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bench.core import registry
from bench.core.config import ConfigError, param
from bench.core.contracts import Assessment, MetricSpec, TaskKind
from bench.core.registry import register_task
from tasks.esc50 import ESC50, ESC50Config

log = logging.getLogger("bench")


@dataclass
class ESC50GANConfig(ESC50Config):
    judge: str = param("audiocnn", "classification solution trained on each round's real training clips: the"
                                   " `run` embedding, the GAN-test judge and the train-on-generated classifier")
    judge_epochs: int = param(30, "the judge's maximum training epochs (where it trains in epochs)", low=1)
    vocoder_iters: int = param(32, "Griffin-Lim iterations rendering generated clips (and the vocoder floor)", low=1)
    bootstrap: int = param(100, "bootstrap replicates of FAD∞'s and the kernel distance's intervals", low=0)
    tstr: bool = param(True, "train the judge's solution on generated clips and test it on real ones, beside"
                             " training it on as many real clips")

    def __post_init__(self) -> None:
        try:
            cls = registry.solutions.get(self.judge)
        except LookupError as exc:
            raise ConfigError(f"task esc50_gan: judge={self.judge}: {exc}") from None
        if TaskKind.CLASSIFICATION not in cls.kinds:
            raise ConfigError(f"task esc50_gan: judge={self.judge} does not classify; name a classification"
                              " solution such as audiocnn or baseline")


@register_task("esc50_gan")
class ESC50GAN(ESC50):
    kind = TaskKind.GENERATION
    metric = MetricSpec("kernel_run", "min", (
        "fad_inf_run", "position_run", "kernel_logmel", "fad_inf_logmel", "position_logmel",
        "gan_test_accuracy", "tstr_accuracy", "trtr_accuracy", "near_copy_share", "frechet_logmel"))
    description = ("ESC-50 class-conditional generation: generated clips against each held-out fold's real clips,"
                   " by kernel distance and FAD∞ in a judge classifier's and a log-mel embedding, with controls")
    Config = ESC50GANConfig
    presets = {"tiny": {"synthetic_sources": 2, "synthetic_takes": 1, "clip_seconds": 1.0, "folds": (1,),
                        "judge_epochs": 2, "vocoder_iters": 4, "bootstrap": 10, "tstr": False,
                        "valid_fraction": 0.25}}  # two recordings of each class in validation: halves for tuning

    def assess(self, a: Assessment) -> tuple[dict[str, float], dict[str, Any]]:
        from bench.scoring.rounds import RoundSettings, assess_round

        c = self.config
        judge = registry.solutions.get(c.judge)
        has_epochs = "epochs" in getattr(judge.Params, "__dataclass_fields__", {})
        settings = RoundSettings(judge=c.judge, judge_overrides=(("epochs", str(c.judge_epochs)),) if has_epochs else (),
                                 vocoder_iters=c.vocoder_iters, bootstrap=c.bootstrap, tstr=c.tstr)
        return assess_round(a, settings, log)
