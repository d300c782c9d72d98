"""Typed configuration: dataclass schemas, `key=value` overrides, did-you-mean errors.

Every setting a user can change lives in a dataclass (a task's `Config`, a
solution's `Params`, the runner's `RunnerConfig`). Each field is declared with
`param()`, which carries its help text, bounds, choices and the search space that
tuning uses. Overrides arrive as strings and are parsed against the field's type
annotation before any work starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence, Union


class ConfigError(ValueError):
    """A setting is unknown, has the wrong type, or is out of range."""


# --- search spaces (declared beside each hyperparameter, used by tuning) -------------


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True)
class Choice:
    values: tuple[Any, ...]


SearchSpace = Union[FloatRange, IntRange, Choice]


def param(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: Sequence[Any] | None = None,
    search: SearchSpace | None = None,
    key: bool = False,
    hashed: bool = True,
) -> Any:
    """Declare a setting.

    `key` marks a hyperparameter shown in the leaderboard row; `hashed=False` keeps a
    setting (an output folder, a worker count) out of the config hash, because it
    does not change the result.
    """
    meta = {
        "help": help,
        "low": low,
        "high": high,
        "choices": tuple(choices) if choices is not None else None,
        "search": search,
        "key": key,
        "hashed": hashed,
    }
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple or None as default, not a mutable container")
    return field(default=default, metadata=meta)


def fields_of(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def hints_of(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


# --- parsing one value ---------------------------------------------------------------

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        args = typing.get_args(tp)
        return f"comma-separated {type_name(args[0])} list" if args else "list"
    if tp is type(None):
        return "none"
    return getattr(tp, "__name__", str(tp))


def parse_value(text: str, tp: Any) -> Any:
    """Parse `text` as type `tp`; raise ValueError with a plain reason."""
    if not text.strip():
        # '' once meant none or "." depending on the type: `data_dir=` trained on the
        # embedded data and `runs_dir=` wrote into the current folder without a word
        raise ValueError("the value is empty; leave the key out to get its default")
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and text.strip().lower() in ("none", "null"):
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse_value(text, arg)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors))
    if origin is Literal:
        allowed = typing.get_args(tp)
        for a in allowed:
            if str(a) == text:
                return a
        raise ValueError(f"expected one of {', '.join(map(str, allowed))}")
    if origin is tuple:
        (inner, *_rest) = typing.get_args(tp) or (str,)
        parts = [part.strip() for part in text.split(",")]
        if not all(parts):
            raise ValueError(f"'{text}' has an empty item")
        return tuple(parse_value(part, inner) for part in parts)
    if tp is bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError("expected true or false")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            pass
        try:
            as_float = float(text)
        except ValueError:
            raise ValueError("expected an integer") from None
        if as_float.is_integer():
            return int(as_float)
        raise ValueError("expected an integer")
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError("expected a number") from None
    if tp is str:
        return text
    if tp is Path:
        return Path(text).expanduser()
    raise ValueError(f"settings of type {type_name(tp)} cannot be set from the command line")


def check_value(owner: str, name: str, value: Any, f: dataclasses.Field, tp: Any) -> None:
    """Raise ConfigError if `value` does not fit the field's type, bounds or choices."""
    if value is None:
        if _allows_none(tp):
            return
        raise ConfigError(f"{owner}: '{name}' must be a {type_name(tp)}, not none")
    if not _isinstance(value, tp):
        raise ConfigError(
            f"{owner}: '{name}' must be a {type_name(tp)}, got {value!r} ({type(value).__name__})"
        )
    meta = f.metadata
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if meta.get("low") is not None and isinstance(v, (int, float)) and v < meta["low"]:
            raise ConfigError(f"{owner}: '{name}' must be at least {meta['low']}, got {v}")
        if meta.get("high") is not None and isinstance(v, (int, float)) and v > meta["high"]:
            raise ConfigError(f"{owner}: '{name}' must be at most {meta['high']}, got {v}")
        if meta.get("choices") is not None and v not in meta["choices"]:
            hint = did_you_mean(str(v), [str(c) for c in meta["choices"]])
            raise ConfigError(
                f"{owner}: '{name}' must be one of {', '.join(map(str, meta['choices']))},"
                f" got {v!r}{hint}"
            )


def _allows_none(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType) and type(None) in typing.get_args(tp)


def _isinstance(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return any(_isinstance(value, a) for a in typing.get_args(tp))
    if origin is Literal:
        return value in typing.get_args(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        return isinstance(value, tuple) and (not args or all(_isinstance(v, args[0]) for v in value))
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is type(None):
        return value is None
    if tp is Any:
        return True
    return isinstance(value, tp)


def did_you_mean(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- a resolved configuration made of named sections ---------------------------------


@dataclass
class Section:
    """One schema of a composite config: `task`, `solution` or `runner`."""

    name: str
    owner: str  # shown in messages, e.g. "solution audiocnn"
    schema: type
    values: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Any:
        hints = hints_of(self.schema)
        fs = fields_of(self.schema)
        for key, value in self.values.items():
            check_value(self.owner, key, value, fs[key], hints[key])
        obj = self.schema(**self.values)
        for key, f in fs.items():
            if key not in self.values:
                check_value(self.owner, key, getattr(obj, key), f, hints[key])
        return obj


def apply_overrides(
    sections: Sequence[Section], overrides: dict[str, Any], *, source: str = "override"
) -> None:
    """Assign each `key=value` to the one section that declares `key`.

    A key may be qualified (`solution.lr`) and must be when two sections declare it.
    Values may be strings (parsed by the field's type) or already typed (presets).
    """
    by_name = {s.name: s for s in sections}
    for raw_key, value in overrides.items():
        if "." in raw_key:
            prefix, key = raw_key.split(".", 1)
            if prefix not in by_name:
                raise ConfigError(
                    f"unknown section '{prefix}' in {source} '{raw_key}'"
                    f"{did_you_mean(prefix, list(by_name))}; sections are {', '.join(by_name)}"
                )
            owners = [by_name[prefix]] if key in fields_of(by_name[prefix].schema) else []
        else:
            key = raw_key
            owners = [s for s in sections if key in fields_of(s.schema)]
        if not owners:
            valid = sorted({k for s in sections for k in fields_of(s.schema)})
            names = [s.owner for s in sections]
            where = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
            listing = ", ".join(f"`bench list {s.owner.split()[-1]}`" for s in sections)
            raise ConfigError(
                f"unknown key '{raw_key}'{did_you_mean(key, valid)}: it is not a setting of {where}"
                f" ({source}); {listing} show every key"
            )
        if len(owners) > 1:
            options = " or ".join(f"{s.name}.{key}" for s in owners)
            raise ConfigError(f"key '{key}' is ambiguous: write {options}")
        section = owners[0]
        tp = hints_of(section.schema)[key]
        if isinstance(value, str) and not value.strip():
            default = fields_of(section.schema)[key].default
            shown = "none" if default is None else "empty" if default == () else repr(_plain(default))
            raise ConfigError(
                f"{section.owner}: '{raw_key}=' has an empty value ({source}); give a value, or leave"
                f" the key out to get the default ({shown})"
            )
        if isinstance(value, str) and tp is not str:
            try:
                value = parse_value(value, tp)
            except ValueError as exc:
                raise ConfigError(
                    f"{section.owner}: '{key}={value}' is not valid: {exc} ({type_name(tp)})"
                ) from None
        section.values[key] = value


def parse_cli_pairs(args: Sequence[str]) -> dict[str, str]:
    """Turn `["a=1", "b=x"]` into a dict; refuse tokens without `=` and repeated keys."""
    out: dict[str, str] = {}
    for arg in args:
        if "=" not in arg:
            raise ConfigError(f"expected key=value, got '{arg}'")
        key, value = arg.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"missing key in '{arg}'")
        if key in out:
            raise ConfigError(f"key '{key}' given twice ('{out[key]}' and '{value}')")
        out[key] = value
    return out


def to_dict(obj: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass."""
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _plain(v: Any) -> Any:
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def hashed_dict(obj: Any) -> dict[str, Any]:
    """The settings that change a result (those not declared with hashed=False)."""
    return {
        f.name: _plain(getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if f.metadata.get("hashed", True)
    }


def stable_hash(obj: Any, n: int = 12) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def describe(schema: type) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, help) rows for `bench list`."""
    hints = hints_of(schema)
    return [
        (f.name, type_name(hints[f.name]), _plain(f.default), f.metadata.get("help", ""))
        for f in dataclasses.fields(schema)
    ]


def from_dict(owner: str, schema: type, values: dict[str, Any]) -> Any:
    """Rebuild a config object from its JSON form (as saved in a run folder)."""
    hints = hints_of(schema)
    known = fields_of(schema)
    typed: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{owner}: saved key '{key}' is no longer a setting{did_you_mean(key, list(known))}")
        typed[key] = _from_json(value, hints[key])
    return Section(owner.split()[0], owner, schema, typed).build()


def _from_json(value: Any, tp: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None):
                try:
                    converted = _from_json(value, arg)
                except (TypeError, ValueError):
                    continue
                if _isinstance(converted, arg):
                    return converted
        return value
    if origin is tuple and isinstance(value, list):
        inner = (typing.get_args(tp) or (Any,))[0]
        return tuple(_from_json(v, inner) for v in value)
    if tp is Path and isinstance(value, str):
        return Path(value)
    return value
