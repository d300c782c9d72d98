"""One score record: a generated set against real clips, with every control, in one embedding.

    record = score_sets(real, generated, embedding, Settings(per_class=True), train=..., judge=...)

The real clips are split in halves (`controls.halves`). Half A is the reference; every
other set — half B (the real-vs-real floor), the vocoded half B (the vocoder floor),
the generated clips, and white noise, pink noise and silence made like half B (the
ceilings) — is compared with half A at the same number of clips n (the generated set
is subsampled to the size of half B, or half B to the generated set's, per class in
proportion), in the same embedding. Each comparison gives the Fréchet distance, FAD∞
with its fit's R² and bootstrap interval, the kernel distance (unbiased MMD²) with its
interval, and precision/recall/density/coverage. `position` says where the generated
set stands between the real floor (0) and the nearest ceiling (1).

Per class (`per_class`), where a class has a few dozen clips, the kernel distance
and FAD∞ lead; the shuffled-labels control tests the condition. With the generator's
training clips (`train`), the memorisation check; with a classifier run (`judge`),
GAN-test accuracy beside the judge's accuracy on real clips.

The record is plain JSON (`SCHEMA`); `bench.report.score_page` draws it.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.core import distances as D
from bench.core.contracts import FeatureSpec
from bench.core.neighbours import memorisation, prdc
from bench.report.score_data import value
from bench.scoring import controls as C
from bench.scoring.clipsets import ClipSet
from bench.scoring.embeddings import Embedding

SCHEMA = "bench.score/1"
CEILINGS = ("pink_noise", "white_noise", "silence")
ORDER = ("real", "vocoded", "generated", "pink_noise", "white_noise", "silence")
TITLES = {"real": "real vs real (floor)", "vocoded": "vocoder floor", "generated": "generated",
          "pink_noise": "pink noise (ceiling)", "white_noise": "white noise (ceiling)", "silence": "silence (ceiling)",
          "shuffled": "generated, labels shuffled"}
METRICS = ("frechet", "frechet_inf", "kernel")
MIN_INF = 8  # fewer clips a side and FAD∞ is not fitted (the range of n would be a few clips)


@dataclass(frozen=True)
class Settings:
    kernel: str = "rbf"
    bootstrap: int = 100
    seed: int = 0
    controls: bool = True  # the vocoder floor and the noise and silence ceilings (the real floor is always there)
    per_class: bool = False
    prdc_k: int = 5
    vocoder: FeatureSpec = C.VOCODER
    vocoder_iters: int = 32


def score_sets(real: ClipSet, generated: ClipSet, embedding: Embedding, settings: Settings = Settings(), *,
               train: ClipSet | None = None, judge=None, log: logging.Logger | None = None) -> dict[str, Any]:
    log = log or logging.getLogger("bench")
    t0 = time.perf_counter()
    timing: dict[str, float] = {}
    try:
        a_idx, b_idx = C.halves(real, settings.seed)
        by_recording = True
    except ValueError:
        if len(real) < 2:
            raise
        # every class comes from one recording (a small fold or validation set): halve clip by clip
        a_idx, b_idx = C.halves(real, settings.seed, by_recording=False)
        by_recording = False
    reference = real.subset(a_idx, "real, half A (reference)")
    held = real.subset(b_idx, "real, half B")
    rng = np.random.default_rng(settings.seed + 1)
    n = min(len(held), len(generated))
    pick = {"real": _take(held.labels, n, rng), "generated": _take(generated.labels, n, rng)}
    sets: dict[str, ClipSet] = {"real": held.subset(pick["real"], "real, half B"),
                                "generated": generated.subset(pick["generated"], "generated")}
    if settings.controls:
        t = time.perf_counter()
        log.info("controls: vocoding %d real clips, making noise and silence like them", n)
        sets["vocoded"] = C.vocoded(sets["real"], settings.vocoder, settings.vocoder_iters, settings.seed)
        for colour in ("pink", "white", "silence"):
            key = "silence" if colour == "silence" else f"{colour}_noise"
            sets[key] = C.noise_like(sets["real"], colour, settings.seed + 2)
        timing["controls"] = time.perf_counter() - t

    t = time.perf_counter()
    # whole sets are embedded once; the equal-n comparisons take rows of them
    ref_e = _embed(embedding, reference, log)
    whole = {"real": _embed(embedding, held, log), "generated": _embed(embedding, generated, log)}
    emb = {k: whole[k][pick[k]] if k in whole else _embed(embedding, s, log) for k, s in sets.items()}
    train_e = _embed(embedding, train, log) if train is not None else None
    timing["embedding"] = time.perf_counter() - t

    t = time.perf_counter()
    bandwidth = D.median_bandwidth(ref_e) if settings.kernel == "rbf" else None
    scores = {k: _compare(ref_e, emb[k], settings, bandwidth) for k in ORDER if k in emb}
    timing["distances"] = time.perf_counter() - t
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "embedding": embedding.describe(),
        "reference": reference.describe(),
        "sets": {k: s.describe() for k, s in sets.items()},
        "n": n,
        "dim": int(ref_e.shape[1]),
        "scores": scores,
        "order": [k for k in ORDER if k in scores],
        "titles": TITLES,
        "position": position(scores),
        "settings": _settings_json(settings),
        "notes": _notes(n, len(reference), ref_e.shape[1]) + ([] if by_recording else [
            "each class's real clips come from a single recording, so the real clips were halved clip by clip:"
            " takes of one recording sit on both sides, and the real-vs-real floor is lower than clips of"
            " unheard recordings would reach"]),
    }
    if settings.per_class:
        t = time.perf_counter()
        record["per_class"] = per_class(ref_e, reference.labels, emb, {k: s.labels for k, s in sets.items()},
                                        settings, bandwidth, log)
        timing["per_class"] = time.perf_counter() - t
    if train_e is not None:
        # every generated clip against every real clip the generator never saw (both halves)
        heldout = np.concatenate([ref_e, whole["real"]])
        record["memorisation"] = {**memorisation(train_e, whole["generated"], heldout).to_dict(),
                                  "train": train.describe(), "n_generated": len(generated), "n_heldout": len(heldout)}
    if judge is not None:
        from bench.scoring.classifiers import gan_test

        record["gan_test"] = gan_test(judge, generated, real)
    timing["total"] = time.perf_counter() - t0
    record["timing"] = {k: round(v, 3) for k, v in timing.items()}
    return record


def _embed(embedding: Embedding, clips: ClipSet, log: logging.Logger) -> np.ndarray:
    t = time.perf_counter()
    rows = embedding.embed(clips.at(embedding.sample_rate))
    log.info("embedded %d clips of %s with %s in %.1f s", len(clips), clips.name, embedding.name,
             time.perf_counter() - t)
    return rows


def _take(labels: list[str | None], n: int, rng: np.random.Generator) -> np.ndarray:
    """n indices, in proportion to the labels: shuffled within each label, then taken round-robin."""
    if n >= len(labels):
        return np.arange(len(labels))
    groups = [rng.permutation([i for i, lab in enumerate(labels) if (lab or "") == g]).tolist()
              for g in sorted({lab or "" for lab in labels})]
    order = []
    while any(groups):
        for g in groups:
            if g:
                order.append(g.pop(0))
    return np.sort(np.array(order[:n], dtype=np.int64))


def _compare(ref: np.ndarray, other: np.ndarray, s: Settings, bandwidth: float | None) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", D.RankDeficientWarning)  # said once, in the record's notes
        out: dict[str, Any] = {"n": len(other), "frechet": D.frechet_distance(ref, other)}
        if min(len(ref), len(other)) >= MIN_INF:
            out["frechet_inf"] = D.frechet_distance_inf(ref, other, bootstrap=s.bootstrap, seed=s.seed).to_dict()
    out["kernel"] = D.kernel_distance_ci(ref, other, s.kernel, bandwidth, bootstrap=2 * s.bootstrap,
                                         seed=s.seed).to_dict()
    if min(len(ref), len(other)) >= 3:
        out["prdc"] = prdc(ref, other, s.prdc_k).to_dict()
    return out


def position(scores: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """Per metric, (generated − real floor) / (nearest ceiling − real floor): 0 is as good as real
    clips, 1 as bad as the closest of noise and silence; None without the controls."""
    out: dict[str, float | None] = {}
    for m in METRICS:
        floor = value(scores.get("real", {}), m)
        gen = value(scores.get("generated", {}), m)
        ceilings = [value(scores[c], m) for c in CEILINGS if c in scores]
        ceilings = [c for c in ceilings if c is not None]
        if floor is None or gen is None or not ceilings or min(ceilings) <= floor:
            out[m] = None
            continue
        out[m] = (gen - floor) / (min(ceilings) - floor)
    return out


def per_class(ref_e: np.ndarray, ref_labels: list, emb: dict[str, np.ndarray], labels: dict[str, list],
              s: Settings, bandwidth: float | None, log: logging.Logger) -> dict[str, Any]:
    """Kernel distance (and FAD∞ where a class has enough clips) per class, against the same class
    of the reference; the shuffled-labels control per class; and their summary.

    One kernel serves every class: its bandwidth is the median distance between reference
    clips of the same class, pooled over the classes. The whole reference's bandwidth is set
    by the distances between classes, so it blurs the differences within a class that the
    per-class scores are about; a class's own, from a handful of clips, is so narrow that
    clips of other classes all look equally far (k ≈ 0), and the distance would then measure
    only how alike the generated clips are."""
    rng = np.random.default_rng(s.seed + 3)
    shuffled = C.shuffled_labels(labels["generated"], s.seed + 4)
    if s.kernel == "rbf":
        bandwidth = within_class_bandwidth(ref_e, ref_labels) or bandwidth
    classes: dict[str, Any] = {}
    for c in sorted({lab for lab in ref_labels if lab is not None}):
        ref_rows = np.array([i for i, lab in enumerate(ref_labels) if lab == c])
        rows = {k: np.array([i for i, lab in enumerate(labels[k]) if lab == c], dtype=np.int64) for k in emb}
        rows["shuffled"] = np.array([i for i, lab in enumerate(shuffled) if lab == c], dtype=np.int64)
        n_c = min(len(rows["real"]), len(rows["generated"]), len(rows["shuffled"]))
        if len(ref_rows) < 2 or n_c < 2:
            classes[c] = {"n_reference": len(ref_rows), "n": int(n_c), "skipped": "fewer than two clips"}
            continue
        entry: dict[str, Any] = {"n_reference": len(ref_rows), "n": int(n_c), "scores": {}}
        for k in (*ORDER, "shuffled"):
            source = emb["generated"] if k == "shuffled" else emb.get(k)
            if source is None:
                continue
            picked = rows[k] if len(rows[k]) <= n_c else rng.choice(rows[k], n_c, replace=False)
            entry["scores"][k] = _compare(ref_e[ref_rows], source[picked], s, bandwidth)
        classes[c] = entry
    scored = {c: e for c, e in classes.items() if "scores" in e}
    true_k = [value(e["scores"]["generated"], "kernel") for e in scored.values()]
    shuf_k = [value(e["scores"]["shuffled"], "kernel") for e in scored.values()]
    worse = [b > a for a, b in zip(true_k, shuf_k)]
    summary = {
        "classes_scored": len(scored),
        "mean_kernel_generated": float(np.mean(true_k)) if true_k else None,
        "mean_kernel_shuffled": float(np.mean(shuf_k)) if shuf_k else None,
        "share_worse_when_shuffled": float(np.mean(worse)) if worse else None,
        "rule": "the generator follows its condition when classes score worse (higher kernel distance) with"
                " shuffled labels than with their own: with five classes or more, by a one-sided Wilcoxon"
                " signed-rank test over the classes at p < 0.05; with fewer, in most classes and on average",
    }
    if len(scored) >= 5:
        from scipy.stats import wilcoxon

        diffs = np.array(shuf_k) - np.array(true_k)
        summary["wilcoxon_p"] = float(wilcoxon(diffs, alternative="greater").pvalue) if np.any(diffs) else 1.0
        summary["obeys"] = summary["wilcoxon_p"] < 0.05
    else:
        summary["obeys"] = bool(worse and np.mean(worse) > 0.5
                                and summary["mean_kernel_shuffled"] > summary["mean_kernel_generated"])
    log.info("per class: %d classes scored, shuffled labels worse in %s", len(scored),
             f"{np.mean(worse):.0%}" if worse else "none")
    return {"classes": classes, "condition_check": summary}


def within_class_bandwidth(x: np.ndarray, labels: list) -> float | None:
    """The median distance between two clips of the same class, over every class; None without such pairs."""
    from scipy.spatial.distance import pdist

    d = [pdist(x[[i for i, lab in enumerate(labels) if lab == c]]) for c in {lab for lab in labels if lab is not None}]
    d = np.concatenate([v for v in d if len(v)]) if any(len(v) for v in d) else np.empty(0)
    med = float(np.median(d)) if len(d) else 0.0
    return med if med > 0 else None


def _settings_json(s: Settings) -> dict[str, Any]:
    v = s.vocoder
    return {"kernel": s.kernel, "bootstrap": s.bootstrap, "seed": s.seed, "controls": s.controls,
            "per_class": s.per_class, "prdc_k": s.prdc_k, "vocoder_iters": s.vocoder_iters,
            "vocoder": {"sample_rate": v.sample_rate, "n_fft": v.n_fft, "hop_length": v.hop_length,
                        "n_mels": v.n_mels, "top_db": v.top_db}}


def _notes(n: int, n_ref: int, dim: int) -> list[str]:
    notes = [f"every set is compared with the same {n_ref} reference clips (real, half A) at n = {n} clips, in one"
             " embedding: compare these numbers with each other, not with numbers from other n, references or"
             " embeddings"]
    if min(n, n_ref) <= dim:
        notes.append(f"n = {min(n, n_ref)} clips for {dim} dimensions: each covariance is rank-deficient, so the raw"
                     " Fréchet distance mostly measures n, and FAD∞ extrapolates from a range where its fit bends;"
                     " read the kernel distance first")
    return notes
