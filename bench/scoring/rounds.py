"""One round of a generation task, assessed: what `esc50_gan` (and any generation task) scores.

For a fitted generator and the round's split:

1. the generated log-mel clips are rendered to audio (inverse mel, Griffin-Lim), each
   brought to the median loudness of its class's real training clips, and kept as WAV
   files under the split's folder (`generated/<class>/`), with their log-mel arrays and
   a few real and generated examples per class for the report (`generated/examples.npz`);
2. a judge classifier learns the round's real training clips (validation clips for
   early stopping), and is kept under `judge/` (a resumed round loads it);
3. the scoring suite (`bench.scoring.suite`) compares the generated clips with the
   scored fold's real clips, with every control, in the judge's embedding (`run`) and in
   log-mel statistics (`logmel`), per class, with the memorisation check against the
   training clips and GAN-test accuracy; the records go to `scores/<embedding>.json`;
4. train-on-generated-test-on-real beside train-on-real (`tstr`).

The flat metrics (`bench.core.metrics.register_assessed`) and a summary for the fold's
record come back; nothing here decides anything about a task's kind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.core import registry
from bench.core.atomic import atomic_path, write_json
from bench.core.config import Section, apply_overrides
from bench.core.contracts import Assessment, AudioSpec, FeatureSpec, FitContext, Solution, TaskInfo, TaskKind
from bench.data.frontend import features_of
from bench.data.render import rms
from bench.report.score_data import value
from bench.scoring import clipsets
from bench.scoring.classifiers import train_on_generated
from bench.scoring.clipsets import ClipSet
from bench.scoring.embeddings import create
from bench.scoring.embeddings.classifier import ClassifierEmbedding
from bench.scoring.suite import CEILINGS, Settings, score_sets

GENERATED = "generated"
JUDGE = "judge"
SCORES = "scores"
EXAMPLES = "examples.npz"


@dataclass(frozen=True)
class RoundSettings:
    judge: str = "audiocnn"  # a classification solution
    judge_overrides: tuple[tuple[str, str], ...] = ()  # its settings, key=value
    vocoder_iters: int = 32
    bootstrap: int = 100
    tstr: bool = True
    examples_per_class: int = 3


def assess_round(a: Assessment, s: RoundSettings, log: logging.Logger) -> tuple[dict[str, float], dict[str, Any]]:
    spec = a.solution.feature_spec()
    classes = a.info.classes
    real = _clips(a, a.scored, "real (scored fold)", spec.sample_rate, log)
    train = _clips(a, a.train, "real (training folds)", spec.sample_rate, log)
    valid = _clips(a, a.valid, "real (validation)", spec.sample_rate, log) if len(a.valid) else None
    names = [classes[int(i)] for i in a.labels]
    log.info("rendering %d generated clips (Griffin-Lim, %d iterations)", len(names), s.vocoder_iters)
    levels = {c: float(np.median([rms(train.waves[i]) for i in train.rows_of(c)])) for c in train.classes()}
    generated = ClipSet.from_features(a.outputs, spec, names, n_iter=s.vocoder_iters, seed=a.ctx.seed,
                                      levels=levels)
    kept = _keep(a.folder / GENERATED, generated, a.outputs, a.truth, names, spec, s.examples_per_class)
    kept["levels"] = {c: round(v, 6) for c, v in levels.items()}

    judge = _judge(a, s, train, valid, log)
    settings = Settings(bootstrap=s.bootstrap, seed=a.ctx.seed, per_class=True, vocoder=spec,
                        vocoder_iters=s.vocoder_iters)
    records = {"run": score_sets(real, generated, judge, settings, train=train, judge=judge, log=log),
               "logmel": score_sets(real, generated, create("logmel"), settings, train=train, log=log)}
    scores = {}
    for name, record in records.items():
        record["name"] = f"{a.folder.parent.parent.name}-{a.split.name}-{name}"  # its page's name
        write_json(a.folder / SCORES / f"{name}.json", record)
        scores[name] = _summary(record) | {"file": f"{SCORES}/{name}.json"}

    metrics: dict[str, float] = {}
    for name, summary in scores.items():
        metrics[f"kernel_{name}"] = summary["generated"]["kernel"]
        metrics[f"fad_inf_{name}"] = summary["generated"]["frechet_inf"]
        metrics[f"position_{name}"] = summary["position"]["kernel"]
    gan_test = records["run"]["gan_test"]
    metrics["gan_test_accuracy"] = gan_test["generated"]["accuracy"]
    memo = records["run"]["memorisation"]
    metrics["near_copy_share"] = memo["near_copies"]
    assessment: dict[str, Any] = {
        "generated": kept, "judge": judge.describe(), "scores": scores,
        "gan_test": {"accuracy": gan_test["generated"]["accuracy"], "per_class": gan_test["generated"]["per_class"],
                     "real_accuracy": gan_test.get("real", {}).get("accuracy"), "chance": gan_test["chance"]},
        "memorisation": {k: memo[k] for k in ("flagged", "near_copies", "ratio", "p_value", "rule")},
        "condition_check": records["run"]["per_class"]["condition_check"],
    }
    if s.tstr:
        t = train_on_generated(s.judge, generated, real, train, overrides=dict(s.judge_overrides),
                               seed=a.ctx.seed, device=a.ctx.device, log=log)
        metrics["tstr_accuracy"] = t["train_on_generated"]["accuracy"]
        metrics["trtr_accuracy"] = t["train_on_real"]["accuracy"]
        assessment["tstr"] = t
    return {k: _plain(v) for k, v in metrics.items()}, assessment


def _plain(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _clips(a: Assessment, idx: np.ndarray, name: str, rate: int, log: logging.Logger) -> ClipSet:
    clips = [a.data.clips[int(i)] for i in idx]
    return clipsets.from_files([c.path for c in clips], [c.label for c in clips], [c.group for c in clips], name,
                               f"{a.info.name}, split {a.split.name}", sample_rate=rate, log=log)


def _keep(folder: Path, generated: ClipSet, outputs: np.ndarray, truth: np.ndarray, names: list[str],
          spec: FeatureSpec, per_class: int) -> dict[str, Any]:
    """Generated WAVs per class, their log-mel arrays, and the report's examples (real beside generated)."""
    import soundfile as sf

    count: dict[str, int] = {}
    files = []
    for wave, rate, lab in zip(generated.waves, generated.rates, generated.labels):
        count[lab] = count.get(lab, 0) + 1
        rel = f"{lab}/{lab}-{count[lab]:03d}.wav"
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            sf.write(tmp, wave, rate, subtype="PCM_16", format="WAV")
        files.append(rel)
    pick = [i for c in dict.fromkeys(names) for i in [j for j, n in enumerate(names) if n == c][:per_class]]
    with atomic_path(folder / "features.npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, features=np.asarray(outputs, np.float32), labels=np.array(names))
    with atomic_path(folder / EXAMPLES) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, generated=np.asarray(outputs[pick], np.float32),
                            real=np.asarray(truth[pick], np.float32), labels=np.array([names[i] for i in pick]),
                            files=np.array([files[i] for i in pick]))
    return {"dir": GENERATED, "n": len(files), "sample_rate": int(generated.rates[0]) if files else spec.sample_rate,
            "files": files, "features": "features.npz", "examples": EXAMPLES,
            "spec": {"n_mels": spec.n_mels, "n_fft": spec.n_fft, "hop_length": spec.hop_length,
                     "sample_rate": spec.sample_rate}}


def _judge(a: Assessment, s: RoundSettings, train: ClipSet, valid: ClipSet | None,
           log: logging.Logger) -> ClassifierEmbedding:
    """The round's classifier of real clips: fitted on the training clips, or loaded where a resumed round kept it."""
    cls = registry.solutions.get(s.judge)
    section = Section("judge", f"judge solution {s.judge}", cls.Params)
    apply_overrides([section], dict(s.judge_overrides), source="judge settings")
    audio = AudioSpec(a.info.audio.sample_rate, a.info.audio.clip_seconds)
    info = TaskInfo(f"{a.info.name} judge", TaskKind.CLASSIFICATION, audio, a.info.classes)
    model: Solution = cls(section.build(), info)
    folder = a.folder / JUDGE
    what = (f"input of the output layer of {s.judge} trained on split {a.split.name}'s {len(train)} real training"
            " clips")
    if (folder / "done.json").exists():
        model.load_state(folder / "model")
        log.info("judge %s of split %s already trained; loaded it", s.judge, a.split.name)
        return ClassifierEmbedding(f"run:{s.judge}", model, info, a.ctx.device, what)
    spec = model.feature_spec()
    lookup = {c: i for i, c in enumerate(info.classes)}

    def xy(clips: ClipSet) -> tuple[np.ndarray, np.ndarray]:
        x = np.stack([features_of(w, spec) for w in clips.at(spec.sample_rate)])
        return x, np.array([lookup[lab] for lab in clips.labels], dtype=np.int64)

    x, y = xy(train)
    xv, yv = xy(valid) if valid is not None else (None, None)
    log.info("training the judge (%s) on %d real training clips", s.judge, len(x))
    ctx = FitContext(workdir=folder / "train", device=a.ctx.device, amp=a.ctx.amp, seed=a.ctx.seed, log=log,
                     progress=False)
    fit = model.fit(x, y, xv, yv, ctx)
    model.save(folder / "model")
    write_json(folder / "done.json", {"solution": s.judge, "epochs": len(fit.history), "best_epoch": fit.best_epoch})
    return ClassifierEmbedding(f"run:{s.judge}", model, info, a.ctx.device, what)


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    """Generated, floors and the nearest ceiling per metric: the numbers a reader compares."""
    scores = record["scores"]
    pick = ("frechet", "frechet_inf", "kernel")

    def row(key: str) -> dict[str, float | None]:
        return {m: value(scores.get(key, {}), m) for m in pick}

    ceilings = {m: min((v for c in CEILINGS if (v := value(scores.get(c, {}), m)) is not None), default=None)
                for m in pick}
    return {"n": record["n"], "dim": record["dim"], "generated": row("generated"), "floor": row("real"),
            "vocoder_floor": row("vocoded"), "ceiling": ceilings, "position": record["position"]}
