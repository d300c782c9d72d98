"""`bench score-audio real=… generated=… [embedding=…] [per_class=true] …`: settings, scoring, output.

Prints the table, writes the record as JSON (`scores/<name>.json`) and its page
(`reports/scores/<name>.html`); `bench report` draws the page again from the JSON.
"""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bench.core.atomic import write_text
from bench.core.config import ConfigError, Section, apply_overrides, param, to_dict

log = logging.getLogger("bench")


@dataclass
class ScoreConfig:
    real: str | None = param(None, "real clips: a folder (with <class>/ subfolders for per-class scores) or task:NAME[:FOLDS]")
    generated: str | None = param(None, "generated clips: a folder (<class>/ subfolders for per-class scores and GAN-test)")
    embedding: str = param("logmel", "logmel, random, crepe, vggish, panns, or run:RUN_DIR (a finished bench classification run)")
    weights: Path | None = param(None, "vggish / panns: the checkpoint file (pytorch_vggish.pth, Cnn14_*.pth); nothing is downloaded")
    run_fold: str | None = param(None, "run: embedding and judge with several folds: the fold whose model to use (its test fold should hold the real clips)")
    per_class: bool = param(False, "also score each class (class subfolders, or a task's labels)")
    controls: bool = param(True, "compute the vocoder floor and the noise and silence ceilings (the real-vs-real floor is always there)")
    train: str | None = param(None, "the generator's training clips: the memorisation check, and the real side of tstr")
    judge: str | None = param(None, "run:RUN_DIR: GAN-test accuracy, the run's classifier labelling the generated clips")
    tstr: str | None = param(None, "a solution name: train it on the generated clips and on as many real training clips (train=), test both on real=")
    vocoder_mels: int = param(64, "vocoder floor: mel bands of the generator's spectrograms", low=8)
    vocoder_fft: int = param(1024, "vocoder floor: FFT size of the generator's spectrograms", low=64)
    vocoder_hop: int = param(512, "vocoder floor: hop of the generator's spectrograms", low=16)
    vocoder_rate: int = param(22050, "vocoder floor: sample rate of the generator's spectrograms", low=1000)
    vocoder_iters: int = param(32, "vocoder floor: Griffin-Lim iterations", low=1)
    kernel: Literal["rbf", "poly"] = param("rbf", "kernel distance: rbf (KAD, bandwidth from the reference) or poly (KID's cubic)")
    bootstrap: int = param(100, "bootstrap replicates behind each FAD∞ interval (twice as many for the kernel distance)", low=0)
    seed: int = param(0, "seed of the halves, subsamples, noise and bootstrap")
    data_dir: Path | None = param(None, "task:NAME sources: the task's data folder (none: its embedded data)")
    skip_bad: bool = param(False, "skip undecodable files (listed in the log) instead of stopping")
    device: str = param("auto", "auto, cpu, cuda or cuda:N, for network embeddings")
    crepe_model: Literal["full", "tiny"] = param("full", "crepe: the full (2048-d) or tiny (256-d) network")
    hop_seconds: float = param(0.1, "crepe: seconds between frames", low=0.005)
    name: str | None = param(None, "the record's name (default: time and embedding)")
    scores_dir: Path = param(Path("scores"), "where the JSON record goes")
    reports_dir: Path = param(Path("reports"), "where the HTML page goes (reports_dir/scores/NAME.html)")
    cache_dir: Path | None = param(None, "task:NAME sources: bench's cache folder (default $BENCH_CACHE_DIR or ~/.cache/bench)")


def parse(args: list[str]) -> ScoreConfig:
    from bench.core.config import parse_cli_pairs

    section = Section("score", "score-audio", ScoreConfig)
    apply_overrides([section], parse_cli_pairs(args))
    cfg = section.build()
    for key in ("real", "generated"):
        if getattr(cfg, key) is None:
            raise ConfigError(f"score-audio: missing {key}=DIR (a folder of audio files, or task:NAME[:FOLDS])")
    if cfg.tstr and not cfg.train:
        raise ConfigError("score-audio: tstr= needs train=, the real training clips the comparison classifier learns from")
    return cfg


def main(args: list[str]) -> int:
    from bench.report.score_page import render_score
    from bench.report.site import render_index
    from bench.core.contracts import FeatureSpec
    from bench.data.frontend import check_spec
    from bench.run.folders import code_version, resolve_device
    from bench.scoring import clipsets
    from bench.scoring.embeddings import EmbeddingOptions, create
    from bench.scoring.suite import Settings, score_sets

    cfg = parse(args)
    if cfg.controls:
        try:
            check_spec(FeatureSpec("logmel", cfg.vocoder_rate, 5.0, n_fft=cfg.vocoder_fft, hop_length=cfg.vocoder_hop,
                                   n_mels=cfg.vocoder_mels))
        except ValueError as exc:
            raise ConfigError(f"score-audio vocoder settings: {exc}") from None
    device = resolve_device(cfg.device)
    options = EmbeddingOptions(weights=cfg.weights, device=device, run_fold=cfg.run_fold,
                               crepe_model=cfg.crepe_model, hop_seconds=cfg.hop_seconds)
    embedding = create(cfg.embedding, options)  # before decoding: a missing weights file stops at once
    judge = embedding if cfg.judge == cfg.embedding else create(cfg.judge, options) if cfg.judge else None
    if judge is not None and not getattr(judge, "classes", None):
        raise ConfigError(f"judge={cfg.judge}: a judge is a finished classification run, judge=run:RUN_DIR")
    if cfg.tstr:
        from bench.core import registry

        registry.solutions.get(cfg.tstr)  # a typo stops before any decoding
    load = dict(data_dir=cfg.data_dir, cache_dir=cfg.cache_dir, skip_bad=cfg.skip_bad, log=log,
                sample_rate=embedding.sample_rate)
    real = clipsets.load(cfg.real, "real", **load)
    generated = clipsets.load(cfg.generated, "generated", **load)
    train = clipsets.load(cfg.train, "train", **load) if cfg.train else None
    if cfg.per_class and not real.classes():
        raise ConfigError(f"per_class=true: the real clips ({cfg.real}) have no classes; put them in <class>/"
                          " subfolders, or use task:NAME")
    settings = Settings(kernel=cfg.kernel, bootstrap=cfg.bootstrap, seed=cfg.seed, controls=cfg.controls,
                        per_class=cfg.per_class, vocoder_iters=cfg.vocoder_iters,
                        vocoder=FeatureSpec("logmel", cfg.vocoder_rate, 5.0, n_fft=cfg.vocoder_fft,
                                            hop_length=cfg.vocoder_hop, n_mels=cfg.vocoder_mels))
    record = score_sets(real, generated, embedding, settings, train=train, judge=judge, log=log)
    if cfg.tstr:
        from bench.scoring.classifiers import train_on_generated

        record["train_on_generated"] = train_on_generated(cfg.tstr, generated, real, train, seed=cfg.seed,
                                                          device=device, log=log)
    name = cfg.name or datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + _slug(cfg.embedding)
    record.update(name=name, created=datetime.now(UTC).isoformat(timespec="seconds"),
                  code_version=code_version(), config=to_dict(cfg),
                  command="bench score-audio " + " ".join(shlex.quote(a) for a in args))
    path = write_record(cfg.scores_dir / f"{name}.json", record)
    page = render_score(path, cfg.reports_dir)
    # the front page lists every score (from runs/, studies/ and scores_dir, as `bench report` does)
    render_index(Path("runs"), cfg.reports_dir, Path("studies"), cfg.scores_dir)
    print_record(record)
    print(f"record: {path}\npage: {page}")
    return 0


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.split("/")[-1] if text.startswith("run:") else text).strip("-") or "score"


def write_record(path: Path, record: dict[str, Any]) -> Path:
    import json

    from bench.report.pages import safe_name

    safe_name(path.stem, "score name", path)
    write_text(path, json.dumps(record, indent=1, allow_nan=False, default=_plain) + "\n")
    return path


def _plain(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON")


def print_record(record: dict[str, Any], out=None) -> None:
    from rich.console import Console
    from rich.table import Table

    from bench.report.score_data import rows_of, summary

    console = Console(file=out or sys.stdout, width=200)
    emb = record["embedding"]
    ref = record["reference"]
    console.print(f"embedding {emb['name']} ({record['dim']} dims) · reference: {ref['n']} real clips"
                  f" (half A, mean {ref['seconds_mean']:g} s) · every set: n = {record['n']} clips")
    table = Table()
    for col in ("set", "Fréchet", "FAD∞ [95% CI]", "R²", "kernel distance [95% CI]", "precision", "recall",
                "density", "coverage"):
        table.add_column(col)
    for row in rows_of(record):
        table.add_row(*row.cells())
    console.print(table)
    for line in summary(record):
        console.print(line)
