"""The numbers behind a score page and `bench score-audio`'s table, from a score record (plain JSON).

A record (`bench.scoring.suite`) compares sets with one real reference: the real-vs-real
and vocoder floors, the generated clips, and the noise and silence ceilings. Here each
metric becomes a ladder of those sets (`ladder`), the table rows (`rows_of`), the
lines that say where the generated set stands (`summary`), and per-class rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

METRIC_TITLES = {"frechet": "Fréchet distance", "frechet_inf": "FAD∞", "kernel": "kernel distance (MMD²)"}
ROLES = {"real": "floor", "vocoded": "floor", "generated": "generated", "pink_noise": "ceiling",
         "white_noise": "ceiling", "silence": "ceiling", "shuffled": "control"}


def value(entry: dict[str, Any] | None, metric: str) -> float | None:
    v = (entry or {}).get(metric)
    if isinstance(v, dict):
        v = v.get("value")
    return float(v) if isinstance(v, (int, float)) else None


def interval(entry: dict[str, Any] | None, metric: str) -> tuple[float, float] | None:
    v = (entry or {}).get(metric)
    iv = v.get("interval") if isinstance(v, dict) else None
    if isinstance(iv, dict) and iv.get("replicates"):
        return float(iv["low"]), float(iv["high"])
    return None


def _num(v: float | None, digits: int = 4) -> str:
    if v is None:
        return "–"
    return f"{v:.{digits}g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


@dataclass
class Row:
    key: str
    title: str
    entry: dict[str, Any]

    def cells(self) -> list[str]:
        e = self.entry
        inf = e.get("frechet_inf") or {}
        ci_inf, ci_k = interval(e, "frechet_inf"), interval(e, "kernel")
        prdc = e.get("prdc") or {}
        return [
            self.title,
            _num(value(e, "frechet")),
            f"{_num(value(e, 'frechet_inf'))}" + (f" [{_num(ci_inf[0])}, {_num(ci_inf[1])}]" if ci_inf else ""),
            f"{inf['r2']:.3f}" if "r2" in inf else "–",
            f"{_num(value(e, 'kernel'))}" + (f" [{_num(ci_k[0])}, {_num(ci_k[1])}]" if ci_k else ""),
            *(f"{prdc[k]:.3f}" if k in prdc else "–" for k in ("precision", "recall", "density", "coverage")),
        ]


def rows_of(record: dict[str, Any]) -> list[Row]:
    titles = record.get("titles", {})
    return [Row(k, titles.get(k, k), record["scores"][k]) for k in record.get("order", []) if k in record["scores"]]


@dataclass
class Ladder:
    """One metric's values for every set, for a figure: floors, the generated set, ceilings."""

    metric: str
    title: str
    keys: list[str]
    labels: list[str]
    values: list[float]
    lows: list[float | None]
    highs: list[float | None]
    roles: list[str]
    position: float | None


def ladders(record: dict[str, Any]) -> list[Ladder]:
    out = []
    titles = record.get("titles", {})
    for metric, title in METRIC_TITLES.items():
        keys, vals, lows, highs = [], [], [], []
        for k in record.get("order", []):
            v = value(record["scores"].get(k), metric)
            if v is None:
                continue
            ci = interval(record["scores"][k], metric)
            keys.append(k)
            vals.append(v)
            lows.append(ci[0] if ci else None)
            highs.append(ci[1] if ci else None)
        if keys:
            out.append(Ladder(metric, title, keys, [titles.get(k, k) for k in keys], vals, lows, highs,
                              [ROLES.get(k, "") for k in keys], (record.get("position") or {}).get(metric)))
    return out


def summary(record: dict[str, Any]) -> list[str]:
    """Plain sentences: where the generated set stands, and what the other checks found."""
    lines = []
    pos = record.get("position") or {}
    parts = [f"{METRIC_TITLES[m]} {pos[m]:.2f}" for m in ("frechet_inf", "kernel", "frechet") if pos.get(m) is not None]
    if parts:
        lines.append("generated set between the real floor (0) and the nearest ceiling (1): " + ", ".join(parts))
    elif "generated" in record.get("scores", {}):
        lines.append("no ceilings computed (controls=false): compare the generated row with the real floor")
    pc = (record.get("per_class") or {}).get("condition_check")
    if pc and pc.get("classes_scored"):
        p = f", Wilcoxon p = {pc['wilcoxon_p']:.3g}" if pc.get("wilcoxon_p") is not None else ""
        lines.append(f"condition check: with shuffled labels the kernel distance is worse in"
                     f" {pc['share_worse_when_shuffled']:.0%} of {pc['classes_scored']} classes (mean"
                     f" {_num(pc['mean_kernel_generated'])} → {_num(pc['mean_kernel_shuffled'])}{p}):"
                     f" {'the generator follows its condition' if pc['obeys'] else 'no sign that the generator follows its condition'}")
    mem = record.get("memorisation")
    if mem:
        lines.append(f"memorisation: {'FLAGGED' if mem['flagged'] else 'not flagged'} — median distance to the nearest"
                     f" training clip {_num(mem['generated_median'])} (generated) vs {_num(mem['heldout_median'])}"
                     f" (held-out real), {mem['near_copies']:.0%} near copies, Mann-Whitney p = {mem['p_value']:.3g}")
    gt = record.get("gan_test")
    if gt:
        real = gt.get("real")
        lines.append(f"GAN-test: the judge labels {gt['generated']['accuracy']:.3f} of {gt['generated']['n']} generated"
                     f" clips correctly" + (f" and {real['accuracy']:.3f} of {real['n']} real ones" if real else "")
                     + f" (chance {gt['chance']:.3f})")
    tstr = record.get("train_on_generated")
    if tstr:
        lines.append(f"train on generated, test on real ({tstr['solution']}): {tstr['train_on_generated']['accuracy']:.3f};"
                     f" trained on {tstr['n_real']} real clips instead: {tstr['train_on_real']['accuracy']:.3f}"
                     f" ({tstr['n_test']} real test clips, chance {tstr['chance']:.3f})")
    return lines + list(record.get("notes", []))


@dataclass
class ClassRow:
    name: str
    n_reference: int
    n: int
    kernel: dict[str, float | None]  # per set key
    frechet_inf: dict[str, float | None]
    skipped: str | None = None


def class_rows(record: dict[str, Any]) -> list[ClassRow]:
    classes = ((record.get("per_class") or {}).get("classes")) or {}
    out = []
    for name, e in classes.items():
        scores = e.get("scores") or {}
        out.append(ClassRow(name, int(e.get("n_reference", 0)), int(e.get("n", 0)),
                            {k: value(v, "kernel") for k, v in scores.items()},
                            {k: value(v, "frechet_inf") for k, v in scores.items()}, e.get("skipped")))
    return out
