"""A solution's declared search space as optuna distributions, less the keys the user fixed."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from bench.core.config import Choice, ConfigError, FloatRange, IntRange, fields_of


def search_space(owner: str, params_cls: type, fixed: frozenset[str]) -> dict[str, BaseDistribution]:
    """Every parameter declared with `search=`, except those fixed by a key or a preset."""
    declared = {name: f.metadata["search"] for name, f in fields_of(params_cls).items() if f.metadata.get("search")}
    space = {name: to_distribution(owner, name, s) for name, s in declared.items() if name not in fixed}
    if not space:
        why = (f"its searchable parameters ({', '.join(sorted(declared))}) are all fixed by keys or the preset"
               if declared else "it declares no search spaces (param(..., search=FloatRange(...)))")
        raise ConfigError(f"nothing to tune in {owner}: {why}")
    return space


def to_distribution(owner: str, name: str, s: Any) -> BaseDistribution:
    try:
        if isinstance(s, FloatRange):
            return FloatDistribution(s.low, s.high, log=s.log)
        if isinstance(s, IntRange):
            return IntDistribution(s.low, s.high, log=s.log, step=s.step)
        if isinstance(s, Choice):
            return CategoricalDistribution(s.values)
    except ValueError as exc:
        raise ConfigError(f"{owner}: search space of '{name}' is invalid: {exc}") from None
    raise ConfigError(f"{owner}: '{name}' has search={s!r}; use FloatRange, IntRange or Choice from bench.core.config")


def suggest(trial: optuna.Trial, space: dict[str, BaseDistribution]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, d in space.items():
        if isinstance(d, FloatDistribution):
            out[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
        elif isinstance(d, IntDistribution):
            out[name] = trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
        else:
            out[name] = trial.suggest_categorical(name, d.choices)
    return out


def describe(space: dict[str, BaseDistribution]) -> dict[str, str]:
    """One readable line per parameter, for the study record and the report."""
    out = {}
    for name, d in space.items():
        if isinstance(d, FloatDistribution):
            out[name] = f"float in [{d.low:g}, {d.high:g}]{', log scale' if d.log else ''}"
        elif isinstance(d, IntDistribution):
            step = f", step {d.step}" if d.step != 1 else ""
            out[name] = f"int in [{d.low}, {d.high}]{step}{', log scale' if d.log else ''}"
        else:
            out[name] = "one of " + ", ".join(map(str, d.choices))
    return out
