"""What a dataset's files are made of: sample rates, bit depths, channels, durations (headers only)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

import soundfile as sf


def summarize(paths: Iterable[Path]) -> dict:
    rates: Counter = Counter()
    subtypes: Counter = Counter()
    channels: Counter = Counter()
    durations: list[float] = []
    unreadable = 0
    for p in paths:
        try:
            info = sf.info(str(p))
        except Exception:
            unreadable += 1
            continue
        rates[str(info.samplerate)] += 1
        subtypes[info.subtype] += 1
        channels[str(info.channels)] += 1
        durations.append(info.frames / info.samplerate if info.samplerate else 0.0)
    out = {
        "n_files": len(durations) + unreadable,
        "unreadable_headers": unreadable,
        "sample_rates": dict(sorted(rates.items(), key=lambda kv: int(kv[0]))),
        "subtypes": dict(sorted(subtypes.items())),
        "channels": dict(sorted(channels.items())),
    }
    if durations:
        out["duration_seconds"] = {
            "min": round(min(durations), 3),
            "mean": round(sum(durations) / len(durations), 3),
            "max": round(max(durations), 3),
        }
    return out
