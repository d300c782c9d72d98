"""scenes: TUT Acoustic Scenes 2017, development set (15 scenes, the publisher's 4 folds).

Layout (ROOT is the `TUT-acoustic-scenes-2017-development` folder):

    ROOT/audio/<recording>_<start>_<end>.wav         10 s, 44.1 kHz, stereo, 24-bit
    ROOT/meta.txt                                    file<TAB>scene_label<TAB>identifier
    ROOT/evaluation_setup/fold{k}_train.txt          file<TAB>label
    ROOT/evaluation_setup/fold{k}_evaluate.txt       file<TAB>label
    ROOT/evaluation_setup/fold{k}_test.txt           file

`file` is relative to ROOT (`audio/a001_10_20.wav`). A clip's fold is the k whose
`fold{k}_evaluate.txt` lists it; `fold{k}_train.txt` must be exactly the other
clips and `fold{k}_test.txt` exactly the evaluated ones. The grouping key is the
location `identifier`: segments of one recording stay in one fold. Labels are the
scene names, `cafe/restaurant` included (a label with a slash, not a path).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.core.config import ConfigError, param
from bench.core.contracts import Clip, LayoutError, MetricSpec, TaskData, TaskKind
from bench.core.registry import register_task
from bench.protocols.crossval import CrossValConfig, CrossValTask
from tasks.scenes.synth import CLASSES, N_FOLDS, SEGMENTS_PER_RECORDING, SYNTH_VERSION

SETUP = "evaluation_setup"
META_COLUMNS = ("file", "scene_label", "identifier")
LIST_COLUMNS = {"train": ("file", "label"), "evaluate": ("file", "label"), "test": ("file",)}
_NAME = re.compile(r"^audio/(?P<recording>[^/_]+)_(?P<start>\d+(\.\d+)?)_(?P<end>\d+(\.\d+)?)\.wav$")
_FOLD_FILE = re.compile(r"^fold(?P<fold>\d+)_(?P<kind>train|evaluate|test)\.txt$")


@dataclass
class ScenesConfig(CrossValConfig):
    data_dir: Path | None = param(None, "TUT-acoustic-scenes-2017-development folder (none: embedded synthetic data)", hashed=False)
    clip_seconds: float = param(10.0, "clips are zero-padded or cut to this length, s", low=0.1)
    synthetic_locations: int = param(6, "embedded data: locations (identifiers) per scene, spread over the 4 folds", low=1)
    synthetic_clips: int = param(8, "embedded data: segments per scene, spread over its locations (at least one each)", low=1)
    synthetic_seconds: float = param(10.0, "embedded data: segment length, s (the publisher's is 10)", low=0.1, high=60.0)
    synthetic_seed: int = param(0, "embedded data: generator seed")

    def __post_init__(self) -> None:
        most = self.synthetic_locations * SEGMENTS_PER_RECORDING
        if not self.synthetic_locations <= self.synthetic_clips <= most:
            raise ConfigError(f"task scenes: synthetic_clips={self.synthetic_clips} must be between"
                              f" synthetic_locations={self.synthetic_locations} (a segment per location) and {most}"
                              f" ({SEGMENTS_PER_RECORDING} segments per 3-minute recording)")


# ---------------------------------------------------------------- reading the layout


@dataclass
class _Row:
    line: int
    file: str
    label: str
    identifier: str = ""


def read_layout(root: Path) -> TaskData:
    """Read ROOT; raise one LayoutError listing every problem found."""
    root = Path(root)
    _require_folders(root)
    problems: list[str] = []
    meta = _read_meta(root / "meta.txt", problems)
    _check_audio_files(root, meta, problems)
    fold_of = _read_setup(root / SETUP, meta, problems)
    if problems:
        raise LayoutError(f"{root}: {len(problems)} problem(s) in the TUT Acoustic Scenes 2017 layout", problems)
    clips = [Clip(path=root / r.file, label=r.label, group=r.identifier, fold=fold_of[r.file], id=r.file)
             for r in sorted(meta.values(), key=lambda r: r.file)]
    return TaskData(root=root, clips=clips, classes=CLASSES)


def _require_folders(root: Path) -> None:
    expected = "expected audio/*.wav, meta.txt and evaluation_setup/fold{1..4}_{train,evaluate,test}.txt"
    if not root.is_dir():
        raise LayoutError(f"{root}: data_dir does not exist or is not a folder ({expected})")
    missing = [name for name in ("audio", "meta.txt", SETUP) if not (root / name).exists()]
    if missing:
        raise LayoutError(f"{root}: missing {', '.join(missing)} ({expected})")


def _split_lines(path: Path, columns: tuple[str, ...], problems: list[str]) -> list[tuple[int, list[str]]]:
    """Tab-separated rows with their line numbers; rows lacking a column become problems."""
    shown = f"{SETUP}/{path.name}" if path.parent.name == SETUP else path.name
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        return []
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if number == 1 and cells[: len(columns)] == list(columns):
            continue  # a header some copies carry; the publisher's files have none
        if len(cells) < len(columns) or not all(cells[: len(columns)]):
            missing = [c for i, c in enumerate(columns) if i >= len(cells) or not cells[i]]
            problems.append(f"{shown} line {number}: missing column(s) {', '.join(missing)}"
                            f" (expected {len(columns)} tab-separated: {', '.join(columns)}): {line!r}")
            continue
        rows.append((number, cells))
    return rows


def _read_meta(path: Path, problems: list[str]) -> dict[str, _Row]:
    meta: dict[str, _Row] = {}
    for number, (file, label, identifier, *_rest) in _split_lines(path, META_COLUMNS, problems):
        where = f"meta.txt line {number}"
        if file in meta:
            problems.append(f"{where}: duplicate row for {file} (first on line {meta[file].line})")
            continue
        if label not in CLASSES:
            problems.append(f"{where}: {file} has unknown scene_label {label!r}; known: {', '.join(CLASSES)}")
        match = _NAME.match(file)
        if match is None:
            problems.append(f"{where}: file {file!r} is not named audio/<recording>_<start>_<end>.wav")
        elif match["recording"] != identifier:
            problems.append(f"{where}: file {file} names recording {match['recording']} but identifier is {identifier!r}")
        elif float(match["start"]) >= float(match["end"]):
            problems.append(f"{where}: file {file} has segment start {match['start']} >= end {match['end']}")
        meta[file] = _Row(number, file, label, identifier)
    if not meta and not problems:
        problems.append("meta.txt: no rows")
    return meta


def _check_audio_files(root: Path, meta: dict[str, _Row], problems: list[str]) -> None:
    on_disk = {f"audio/{p.name}" for p in (root / "audio").iterdir() if p.is_file() and not p.name.startswith(".")}
    for file in sorted(set(meta) - on_disk):
        problems.append(f"meta.txt line {meta[file].line}: {file} is missing from audio/")
    for file in sorted(on_disk - set(meta)):
        problems.append(f"{file}: extra audio file with no row in meta.txt")


def _read_setup(setup: Path, meta: dict[str, _Row], problems: list[str]) -> dict[str, int]:
    """Each clip's fold from the evaluate lists, after checking every list against meta.txt."""
    if not setup.is_dir():
        problems.append(f"{SETUP}: is not a folder")
        return {}
    _check_fold_numbers(setup, problems)
    lists: dict[tuple[int, str], dict[str, _Row]] = {}
    for k in range(1, N_FOLDS + 1):
        for kind, columns in LIST_COLUMNS.items():
            path = setup / f"fold{k}_{kind}.txt"
            if not path.is_file():
                problems.append(f"{SETUP}/{path.name}: missing")
                continue
            lists[k, kind] = _read_list(path, columns, meta, problems)
    fold_of = _folds_from_evaluate(lists, meta, problems)
    for k in range(1, N_FOLDS + 1):
        _check_fold(k, lists, meta, problems)
    return fold_of


def _check_fold_numbers(setup: Path, problems: list[str]) -> None:
    for p in sorted(setup.iterdir()):
        match = _FOLD_FILE.match(p.name)
        if match and not 1 <= int(match["fold"]) <= N_FOLDS:
            problems.append(f"{SETUP}/{p.name}: unknown fold {match['fold']}; this setup has folds 1..{N_FOLDS}")


def _read_list(path: Path, columns: tuple[str, ...], meta: dict[str, _Row], problems: list[str]) -> dict[str, _Row]:
    rows: dict[str, _Row] = {}
    for number, cells in _split_lines(path, columns, problems):
        where = f"{SETUP}/{path.name} line {number}"
        file, label = cells[0], cells[1] if len(columns) > 1 else ""
        if file in rows:
            problems.append(f"{where}: duplicate row for {file} (first on line {rows[file].line})")
            continue
        if file not in meta:
            problems.append(f"{where}: {file} has no row in meta.txt")
        elif label and label != meta[file].label:
            problems.append(f"{where}: {file} is labelled {label!r} but meta.txt line {meta[file].line} says {meta[file].label!r}")
        rows[file] = _Row(number, file, label)
    return rows


def _folds_from_evaluate(lists: dict, meta: dict[str, _Row], problems: list[str]) -> dict[str, int]:
    folds: dict[str, list[int]] = defaultdict(list)
    for (k, kind), rows in sorted(lists.items()):
        if kind == "evaluate":
            for file in rows:
                folds[file].append(k)
    evaluate_missing = any((k, "evaluate") not in lists for k in range(1, N_FOLDS + 1))
    for file, row in sorted(meta.items()):
        ks = folds.get(file, [])
        if len(ks) > 1:
            problems.append(f"{file}: listed in several evaluate lists (folds {', '.join(map(str, ks))}); each clip is evaluated in exactly one fold")
        elif not ks and not evaluate_missing:
            problems.append(f"meta.txt line {row.line}: {file} is in no fold{{1..{N_FOLDS}}}_evaluate.txt")
    return {file: ks[0] for file, ks in folds.items() if ks}


def _check_fold(k: int, lists: dict, meta: dict[str, _Row], problems: list[str]) -> None:
    evaluate, train, test = (lists.get((k, kind)) for kind in ("evaluate", "train", "test"))
    if evaluate is None:
        return
    known = set(meta)
    if train is not None:
        expected = known - set(evaluate)
        for file in sorted(expected - set(train)):
            problems.append(f"{SETUP}/fold{k}_train.txt: {file} is missing (it is not in fold{k}_evaluate.txt, so it trains fold {k})")
        for file in sorted(set(train) & set(evaluate)):
            problems.append(f"{SETUP}/fold{k}_train.txt line {train[file].line}: {file} is also in fold{k}_evaluate.txt (train and test overlap)")
    if test is not None:
        for file in sorted(set(evaluate) - set(test)):
            problems.append(f"{SETUP}/fold{k}_test.txt: {file} is missing (it is in fold{k}_evaluate.txt)")
        for file in sorted((set(test) - set(evaluate)) & known):
            problems.append(f"{SETUP}/fold{k}_test.txt line {test[file].line}: {file} is not in fold{k}_evaluate.txt")


# ---------------------------------------------------------------- the task


@register_task("scenes")
class Scenes(CrossValTask):
    kind = TaskKind.CLASSIFICATION
    metric = MetricSpec("accuracy", "max", ("macro_f1",))
    description = "TUT Acoustic Scenes 2017 development set: 15 scenes, the publisher's 4 folds, grouped by location"
    Config = ScenesConfig
    n_folds = N_FOLDS
    group_name = "identifier"
    synth_module = "tasks.scenes.synth"
    presets = {"tiny": {"folds": (1, 2), "clip_seconds": 1.0, "synthetic_seconds": 1.0, "synthetic_locations": 4,
                        "synthetic_clips": 6, "valid_fraction": 0.2}}

    def read(self, root: Path) -> TaskData:
        return read_layout(root)

    def synthetic_args(self) -> dict:
        c = self.config
        return dict(locations_per_class=c.synthetic_locations, clips_per_class=c.synthetic_clips,
                    seconds=c.synthetic_seconds, seed=c.synthetic_seed)

    def synthetic_name(self) -> str:
        c = self.config
        return (f"scenes-synth-v{SYNTH_VERSION}-l{c.synthetic_locations}-c{c.synthetic_clips}"
                f"-d{c.synthetic_seconds:g}-s{c.synthetic_seed}")
