"""`bench generate`: clips of one class (or every class) from a finished generation run.

    bench generate run=RUN_DIR [class=dog] [n=16] out=DIR [fold=NAME] [seed=0] [iters=32] [device=auto]

The generator of one fold (the first, or `fold=`) makes `n` clips per class; each is
written as `DIR/<class>/<class>-NNN.wav` (inverse mel and Griffin-Lim at the run's
sample rate, at the loudness the run measured for the class's real training clips)
beside its log-mel array `…-NNN.npy` (n_mels × frames, dB). The same seed gives the
same clips.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.atomic import atomic_path
from bench.core.config import ConfigError, did_you_mean, parse_value
from bench.core.contracts import FitContext, Solution
from bench.data.render import render
from bench.run.folders import resolve_device
from bench.run.predict import load_run

KEYS = ("run", "class", "n", "out", "fold", "seed", "iters", "device")


@dataclass(frozen=True)
class GenerateRequest:
    run: Path
    out: Path
    label: str | None = None  # None: every class
    n: int = 16
    fold: str | None = None
    seed: int = 0
    iters: int = 32
    device: str = "auto"


def parse(pairs: dict[str, str]) -> GenerateRequest:
    unknown = sorted(set(pairs) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}' for generate{did_you_mean(unknown[0], list(KEYS))};"
                          f" keys: {', '.join(KEYS)}")
    for key in ("run", "out"):
        if not pairs.get(key, "").strip():
            raise ConfigError(f"generate: missing {key}=" + ("RUN_DIR (a finished generation run)" if key == "run"
                                                             else "DIR (where the clips are written)"))

    def number(key: str, default: int, low: int) -> int:
        try:
            v = parse_value(pairs.get(key, str(default)), int)
        except ValueError as exc:
            raise ConfigError(f"generate: '{key}={pairs[key]}' is not valid: {exc}") from None
        if v < low:
            raise ConfigError(f"generate: {key}={v} must be at least {low}")
        return v

    return GenerateRequest(Path(pairs["run"]), Path(pairs["out"]), pairs.get("class") or None,
                           number("n", 16, 1), pairs.get("fold") or None, number("seed", 0, 0),
                           number("iters", 32, 1), pairs.get("device", "auto"))


def generate(req: GenerateRequest) -> list[Path]:
    """Write the clips; returns the WAV files written."""
    result, info, models = load_run(req.run)
    names = [f.name for f in result.folds]
    if type(models[0]).generate is Solution.generate:
        raise ConfigError(f"{req.run}: solution {result.solution} does not generate clips ({info.kind} task"
                          f" {info.name}); give a run of a generation task such as esc50_gan")
    if req.fold is not None and req.fold not in names:
        raise ConfigError(f"generate: fold={req.fold} is not a fold of {req.run}{did_you_mean(req.fold, names)};"
                          f" its folds: {', '.join(names)}")
    index = names.index(req.fold) if req.fold is not None else 0
    if req.label is not None and req.label not in info.classes:
        raise ConfigError(f"generate: class={req.label} is not a class of {req.run}"
                          f"{did_you_mean(req.label, list(info.classes))}; classes: {', '.join(info.classes)}")
    classes = [req.label] if req.label is not None else list(info.classes)
    model, fold = models[index], result.folds[index]
    levels = ((fold.assessment or {}).get("generated") or {}).get("levels") or {}
    spec = model.feature_spec()
    ctx = FitContext(workdir=req.run, device=resolve_device(req.device), seed=req.seed, progress=False)
    labels = np.repeat([info.classes.index(c) for c in classes], req.n)
    features = model.generate(labels, ctx)
    written = []
    for k, (row, c) in enumerate(zip(features, np.repeat(classes, req.n))):
        i = k % req.n + 1
        stem = req.out / c / f"{c}-{i:03d}"
        stem.parent.mkdir(parents=True, exist_ok=True)
        # a run without the class's measured level (not a round of a generation task) gets a moderate one
        wave = render(row[0], spec, n_iter=req.iters, seed=req.seed + k, level=float(levels.get(c, 0.1)))
        _write(stem, wave, spec.sample_rate, row[0])
        written.append(stem.with_suffix(".wav"))
    return written


def _write(stem: Path, wave: np.ndarray, rate: int, logmel: np.ndarray) -> None:
    import soundfile as sf

    with atomic_path(stem.with_suffix(".wav")) as tmp:
        sf.write(tmp, wave, rate, subtype="PCM_16", format="WAV")
    with atomic_path(stem.with_suffix(".npy")) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.asarray(logmel, np.float32))
