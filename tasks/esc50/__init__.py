"""esc50: ESC-50 environmental sound classification on the official 5 folds.

Layout (ROOT is the `ESC-50-master` folder as downloaded):

    ROOT/audio/{fold}-{clip_id}-{take}-{target}.wav
    ROOT/meta/esc50.csv      filename,fold,target,category,esc10,src_file,take

2000 clips of 5 s (44.1 kHz, mono, 16-bit), 50 classes x 40. `subset=esc10` keeps
the rows flagged esc10=True (10 classes). Takes of one source recording (`src_file`)
share a fold; the base class asserts that and draws validation from whole src_file
groups of the training folds, so the test fold is never used for model selection.
Without `data_dir`, an embedded synthetic ESC-10-like dataset in the same layout and
format is written on first use (tasks/esc50/synth.py).
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.core.config import param
from bench.core.contracts import Clip, LayoutError, MetricSpec, TaskData, TaskKind
from bench.core.registry import register_task
from bench.protocols.crossval import CrossValConfig, CrossValTask

COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
N_FOLDS = 5
_NAME = re.compile(r"^(?P<fold>\d+)-(?P<clip>[^-]+)-(?P<take>[^-]+)-(?P<target>\d+)\.wav$")
_BOOL = {"true": True, "false": False}


@dataclass
class ESC50Config(CrossValConfig):
    data_dir: Path | None = param(None, "the official ESC-50-master folder (audio/, meta/esc50.csv); none: embedded synthetic data", hashed=False)
    subset: str = param("all", "all: every class in esc50.csv; esc10: only rows flagged esc10=True", choices=("all", "esc10"))
    synthetic_sources: int = param(2, "embedded data: source recordings (src_file) per class and fold", low=1)
    synthetic_takes: int = param(2, "embedded data: takes (clips) per source recording", low=1, high=26)
    synthetic_seed: int = param(0, "embedded data: generator seed")


@dataclass(frozen=True)
class MetaRow:
    """One parsed row of meta/esc50.csv; `line` is its line number in the file."""

    line: int
    filename: str
    fold: int
    target: int
    category: str
    esc10: bool
    src_file: str
    take: str


# ---------------------------------------------------------------- reader


def read_esc50(root: Path, subset: str = "all") -> TaskData:
    """Read the ESC-50 layout at `root`; raise one LayoutError listing every problem found."""
    root = Path(root)
    audio_dir, meta = root / "audio", root / "meta" / "esc50.csv"
    _check_folders(root, audio_dir, meta)
    rows, named, problems = _read_meta(meta)
    problems += _check_duplicates(rows, meta)
    problems += _check_file_names(rows, meta)
    categories, class_problems = _class_names(rows, meta)
    problems += class_problems
    present, notes = _audio_files(audio_dir)
    problems += _check_files(rows, named, present, audio_dir, meta)
    if problems:
        raise LayoutError(f"{root}: not a valid ESC-50 layout ({len(problems)} problem(s))", problems)
    kept = [r for r in rows if subset == "all" or r.esc10]
    if not kept:
        raise LayoutError(f"{meta}: no row is flagged esc10=True, so subset={subset} is empty")
    if subset != "all":
        notes.append(f"subset={subset}: {len(kept)} of {len(rows)} clips")
    classes = tuple(categories[t] for t in sorted({r.target for r in kept}))
    clips = [
        Clip(path=audio_dir / r.filename, label=r.category, group=r.src_file, fold=r.fold, id=f"audio/{r.filename}")
        for r in kept
    ]
    return TaskData(root=root, clips=clips, classes=classes, notes=notes)


def _check_folders(root: Path, audio_dir: Path, meta: Path) -> None:
    expected = "expected the ESC-50-master folder holding audio/*.wav and meta/esc50.csv"
    if not root.is_dir():
        raise LayoutError(f"{root}: data_dir does not exist or is not a folder ({expected})")
    missing = [f"{p}: missing" for p, ok in ((audio_dir, audio_dir.is_dir()), (meta, meta.is_file())) if not ok]
    if missing:
        raise LayoutError(f"{root}: not an ESC-50 folder ({expected})", missing)


def _read_meta(meta: Path) -> tuple[list[MetaRow], set[str], list[str]]:
    """Parse every row; returns good rows, every file name mentioned, and the problems."""
    rows: list[MetaRow] = []
    named: set[str] = set()
    problems: list[str] = []
    try:
        with open(meta, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            column = _columns(header, meta)
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue  # blank line
                row = _parse_row(cells, column, len(header), meta.name, reader.line_num, problems)
                if len(cells) > column["filename"]:
                    named.add(cells[column["filename"]].strip())
                if row is not None:
                    rows.append(row)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise LayoutError(f"{meta}: not a readable CSV file ({exc}); expected the header {','.join(COLUMNS)}") from None
    return rows, named, problems


def _columns(header: list[str], meta: Path) -> dict[str, int]:
    if not any(header):
        raise LayoutError(f"{meta}: empty file; expected the header {','.join(COLUMNS)}")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise LayoutError(
            f"{meta}: missing column(s) {', '.join(missing)}; the header is {','.join(header)!r},"
            f" expected {','.join(COLUMNS)}"
        )
    twice = sorted({c for c in header if c in COLUMNS and header.count(c) > 1})
    if twice:
        raise LayoutError(f"{meta}: column(s) {', '.join(twice)} appear more than once in the header")
    return {c: header.index(c) for c in COLUMNS}


def _parse_row(cells: list[str], column: dict[str, int], width: int, meta_name: str, line: int,
               problems: list[str]) -> MetaRow | None:
    where = f"{meta_name} line {line}"
    if len(cells) != width:
        problems.append(f"{where}: {len(cells)} field(s) where the header has {width}")
        return None
    value = {c: cells[i].strip() for c, i in column.items()}
    errors = [f"empty {c}" for c in ("filename", "category", "src_file", "take") if not value[c]]
    fold, target = _int(value["fold"]), _int(value["target"])
    if fold is None:
        errors.append(f"fold {value['fold']!r} is not an integer")
    elif not 1 <= fold <= N_FOLDS:
        errors.append(f"unknown fold {fold} (ESC-50 has folds 1-{N_FOLDS})")
    if target is None or target < 0:
        errors.append(f"target {value['target']!r} is not a class id (an integer >= 0)")
    esc10 = _BOOL.get(value["esc10"].lower())
    if esc10 is None:
        errors.append(f"esc10 {value['esc10']!r} is not True or False")
    if errors:
        problems.append(f"{where} ({value['filename'] or 'no file name'}): {'; '.join(errors)}")
        return None
    return MetaRow(line, value["filename"], fold, target, value["category"], esc10,
                   value["src_file"], value["take"])


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _check_duplicates(rows: list[MetaRow], meta: Path) -> list[str]:
    lines: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        lines[r.filename].append(r.line)
    return [
        f"{meta.name}: {name} is listed {len(ls)} times (lines {', '.join(map(str, ls))})"
        for name, ls in lines.items() if len(ls) > 1
    ]


def _check_file_names(rows: list[MetaRow], meta: Path) -> list[str]:
    """The file name encodes fold, src_file, take and target; each must match its row."""
    problems = []
    for r in rows:
        m = _NAME.match(r.filename)
        where = f"{meta.name} line {r.line}: {r.filename}"
        if m is None:
            problems.append(f"{where}: file name is not {{fold}}-{{clip_id}}-{{take}}-{{target}}.wav")
            continue
        named = {"fold": int(m["fold"]), "src_file": m["clip"], "take": m["take"], "target": int(m["target"])}
        off = [f"{k} {v} in the file name but {getattr(r, k)} in the row"
               for k, v in named.items() if v != getattr(r, k)]
        if off:
            problems.append(f"{where}: file name disagrees with its row: {'; '.join(off)}")
    return problems


def _class_names(rows: list[MetaRow], meta: Path) -> tuple[dict[int, str], list[str]]:
    """target id -> category, checking that each id has one name and each name one id."""
    names: dict[int, Counter] = defaultdict(Counter)
    first_line: dict[tuple[int, str], int] = {}
    ids: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        names[r.target][r.category] += 1
        first_line.setdefault((r.target, r.category), r.line)
        ids[r.category].add(r.target)
    problems = []
    for target, counts in sorted(names.items()):
        if len(counts) > 1:
            shown = ", ".join(f"{c!r} ({n} row(s), first on line {first_line[target, c]})" for c, n in counts.most_common())
            problems.append(f"{meta.name}: target {target} has several categories: {shown}; one category per target id")
    for category, targets in sorted(ids.items()):
        if len(targets) > 1:
            problems.append(f"{meta.name}: category {category!r} has several target ids: {', '.join(map(str, sorted(targets)))}")
    return {t: counts.most_common(1)[0][0] for t, counts in names.items()}, problems


def _audio_files(audio_dir: Path) -> tuple[set[str], list[str]]:
    files = [p for p in audio_dir.iterdir() if p.is_file() and not p.name.startswith(".")]
    wavs = {p.name for p in files if p.suffix == ".wav"}
    other = sorted(p.name for p in files if p.suffix != ".wav")
    notes = [f"ignored {len(other)} non-.wav file(s) in audio/: {', '.join(other[:5])}"] if other else []
    return wavs, notes


def _check_files(rows: list[MetaRow], named: set[str], present: set[str], audio_dir: Path, meta: Path) -> list[str]:
    missing = [f"{audio_dir / r.filename}: missing (listed on {meta.name} line {r.line})"
               for r in rows if r.filename not in present]
    extra = [f"{audio_dir / name}: audio file with no row in {meta.name}" for name in sorted(present - named)]
    return missing + extra


# ---------------------------------------------------------------- task


@register_task("esc50")
class ESC50(CrossValTask):
    kind = TaskKind.CLASSIFICATION
    metric = MetricSpec("accuracy", "max", ("macro_f1",))
    description = "ESC-50 environmental sounds: 50 classes (or ESC-10), 5-s clips, the 5 official folds grouped by src_file"
    Config = ESC50Config
    n_folds = N_FOLDS
    group_name = "src_file"
    synth_module = "tasks.esc50.synth"
    presets = {"tiny": {"synthetic_sources": 1, "synthetic_takes": 2, "clip_seconds": 1.0, "folds": (1, 2)}}

    def read(self, root: Path) -> TaskData:
        return read_esc50(root, self.config.subset)

    def synthetic_args(self) -> dict:
        c = self.config
        return dict(sources=c.synthetic_sources, takes=c.synthetic_takes, seed=c.synthetic_seed)

    def synthetic_name(self) -> str:
        from tasks.esc50.synth import SYNTH_VERSION

        c = self.config
        return f"ESC-50-synth-v{SYNTH_VERSION}-{c.synthetic_sources}x{c.synthetic_takes}-s{c.synthetic_seed}"
