"""urbansound: UrbanSound8K, 10 urban sound classes, the publisher's 10-fold cross-validation.

Layout (as shipped, `data_dir` is the `UrbanSound8K` folder):

    audio/fold1 ... fold10/[fsID]-[classID]-[occurrenceID]-[sliceID].wav
    metadata/UrbanSound8K.csv
        slice_file_name,fsID,start,end,salience,fold,classID,class

Protocol: train on nine folds, test on the tenth, for each of the ten folds; report
mean ± std. Slices of one recording (fsID) stay in one fold; the validation set
for early stopping is whole fsIDs from the training folds. Reshuffling the folds
leaks slices of one recording into train and test and inflates scores by 10-15
points, so the reader refuses data whose fsIDs span folds.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from bench.core.config import param
from bench.core.contracts import Clip, LayoutError, MetricSpec, TaskData, TaskKind
from bench.core.registry import register_task
from bench.protocols.crossval import CrossValConfig, CrossValTask

CLASSES = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling",
           "engine_idling", "gun_shot", "jackhammer", "siren", "street_music")
COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class")
METADATA = "metadata/UrbanSound8K.csv"
N_FOLDS = 10
FILE_NAME = re.compile(r"^(\d+)-(\d+)-(\d+)-(\d+)\.wav$")
FILE_PATTERN = "[fsID]-[classID]-[occurrenceID]-[sliceID].wav"
_FOLD_DIR = re.compile(r"^fold(\d+)$")


@dataclass
class UrbanSoundConfig(CrossValConfig):
    data_dir: Path | None = param(None, "the official UrbanSound8K folder (holding audio/ and metadata/); none: embedded synthetic data", hashed=False)
    clip_seconds: float = param(4.0, "clips are zero-padded or cut to this length, s", low=0.1)
    synthetic_sources: int = param(2, "embedded data: source recordings (fsIDs) per class and fold", low=1)
    synthetic_max_slices: int = param(2, "embedded data: most slices per source recording", low=1)
    synthetic_slice_seconds: float = param(4.0, "embedded data: slice length, s (UrbanSound8K: 4)", low=0.1, high=4.0)
    synthetic_seed: int = param(0, "embedded data: generator seed")


@dataclass(frozen=True)
class Row:
    """One usable metadata row."""

    line: int
    file_name: str
    fs_id: int
    fold: int
    class_id: int


# ---------------------------------------------------------------- reader


def read_layout(root: Path) -> TaskData:
    """Read `root/metadata/UrbanSound8K.csv` and `root/audio/fold*/`; raise LayoutError listing every problem."""
    root = Path(root)
    _check_root(root)
    problems: list[str] = []
    notes: list[str] = []
    rows, named = _read_metadata(root / METADATA, problems)
    found = _scan_audio(root / "audio", problems, notes)
    clips = _match(rows, found, root, problems)
    problems += _extra_files(found, named)
    if problems:
        raise LayoutError(f"{root}: {len(problems)} problem(s) with the UrbanSound8K layout"
                          " (fix the files or the metadata, or re-extract the archive)", problems)
    return TaskData(root=root, clips=clips, classes=CLASSES, notes=notes)


def _check_root(root: Path) -> None:
    expected = f"expected audio/fold1..fold{N_FOLDS}/*.wav and {METADATA}"
    if not root.is_dir():
        raise LayoutError(f"{root}: data_dir does not exist or is not a folder ({expected})")
    missing = [str(root / p) for p in ("audio", METADATA) if not (root / p).exists()]
    if missing:
        hint = ""
        if (root / "UrbanSound8K" / METADATA).exists():
            hint = f"; the dataset is one level down: use data_dir={root / 'UrbanSound8K'}"
        raise LayoutError(f"{root}: not an UrbanSound8K folder ({expected}){hint}",
                          [f"{p}: missing" for p in missing])


def _read_metadata(path: Path, problems: list[str]) -> tuple[list[Row], set[str]]:
    """Usable rows, and every file name the metadata mentions (for the extra-file check)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            table = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        problems.append(f"{path}: not a readable CSV file ({exc}); re-extract it from the archive")
        return [], set()
    if not table:
        problems.append(f"{path}: empty file; expected the header {','.join(COLUMNS)}")
        return [], set()
    header = [h.strip() for h in table[0]]
    absent = [c for c in COLUMNS if c not in header]
    if absent:
        problems += [f"{path}: missing column '{c}' (header is {','.join(header)})" for c in absent]
        return [], set()
    col = {c: header.index(c) for c in COLUMNS}
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = _parse_row(path, line, cells, col, len(header), problems)
        if row is None:
            continue
        if row.file_name in seen:
            problems.append(f"{path} line {line}: duplicate row for {row.file_name} (first at line {seen[row.file_name]})")
            continue
        seen[row.file_name] = line
        rows.append(row)
    named = set(seen)
    named.update(cells[col["slice_file_name"]].strip() for cells in table[1:] if len(cells) == len(header))
    return rows, named


def _parse_row(path: Path, line: int, cells: list[str], col: dict[str, int], width: int,
               problems: list[str]) -> Row | None:
    """A Row, or None after appending what is wrong with it (all of it) to `problems`."""
    where = f"{path} line {line}"
    if len(cells) != width:
        problems.append(f"{where}: {len(cells)} fields, expected {width} as in the header")
        return None
    get = {c: cells[i].strip() for c, i in col.items()}
    name = get["slice_file_name"]
    where = f"{where} ({name})"
    own: list[str] = []
    values = {c: _number(get[c], int, c, own) for c in ("fsID", "fold", "classID", "salience")}
    for c in ("start", "end"):
        _number(get[c], float, c, own)
    fs_id, fold, class_id = values["fsID"], values["fold"], values["classID"]
    if fold is not None and not 1 <= fold <= N_FOLDS:
        own.append(f"unknown fold {fold} (UrbanSound8K has folds 1..{N_FOLDS})")
    own += _class_problems(class_id, get["class"])
    own += _name_problems(name, fs_id, class_id)
    problems += [f"{where}: {p}" for p in own]
    if own:
        return None
    return Row(line, name, fs_id, fold, class_id)


def _number(text: str, kind: type, column: str, own: list[str]):
    try:
        return kind(text)
    except ValueError:
        own.append(f"{column} '{text}' is not {'an integer' if kind is int else 'a number'}")
        return None


def _class_problems(class_id: int | None, name: str) -> list[str]:
    if class_id is None:
        return []
    if not 0 <= class_id < len(CLASSES):
        return [f"unknown classID {class_id} (class '{name}'); UrbanSound8K has classIDs 0..{len(CLASSES) - 1}"]
    if CLASSES[class_id] != name:
        known = f"'{name}' is classID {CLASSES.index(name)}" if name in CLASSES else f"'{name}' is not a class"
        return [f"classID {class_id} is {CLASSES[class_id]} but class is '{name}' ({known})"]
    return []


def _name_problems(name: str, fs_id: int | None, class_id: int | None) -> list[str]:
    match = FILE_NAME.match(name)
    if not match:
        return [f"file name does not follow {FILE_PATTERN}"]
    out = []
    if fs_id is not None and int(match.group(1)) != fs_id:
        out.append(f"file name says fsID {int(match.group(1))} but the row says {fs_id}")
    if class_id is not None and int(match.group(2)) != class_id:
        out.append(f"file name says classID {int(match.group(2))} but the row says {class_id}")
    return out


def _scan_audio(audio: Path, problems: list[str], notes: list[str]) -> dict[str, list[Path]]:
    """File name -> every place under audio/ where a .wav of that name lies (fold folders and stray)."""
    found: dict[str, list[Path]] = {}
    ignored = 0
    for p in sorted(audio.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(audio).parts):
            continue
        if p.suffix.lower() != ".wav":
            ignored += 1
            continue
        found.setdefault(p.name, []).append(p)
    for d in sorted(audio.iterdir()):
        m = _FOLD_DIR.match(d.name)
        if d.is_dir() and m and not 1 <= int(m.group(1)) <= N_FOLDS:
            problems.append(f"{d}: unknown fold folder (UrbanSound8K has fold1..fold{N_FOLDS})")
    if ignored:
        notes.append(f"ignored {ignored} non-WAV file(s) under {audio}")
    return found


def _match(rows: list[Row], found: dict[str, list[Path]], root: Path, problems: list[str]) -> list[Clip]:
    clips = []
    for row in rows:
        expected = root / "audio" / f"fold{row.fold}" / row.file_name
        places = found.get(row.file_name, [])
        if len(places) > 1:
            problems.append(f"{row.file_name}: duplicate file, found at {', '.join(str(p) for p in places)}"
                            f" (metadata line {row.line} says fold {row.fold})")
        elif not places:
            problems.append(f"{expected}: missing file (metadata line {row.line})")
        elif places[0] != expected:
            problems.append(f"{places[0]}: lies outside fold{row.fold}/, the fold its metadata row"
                            f" (line {row.line}) gives; expected {expected}")
        else:
            rel = expected.relative_to(root).as_posix()
            clips.append(Clip(path=expected, label=CLASSES[row.class_id], group=str(row.fs_id), fold=row.fold, id=rel))
    return clips


def _extra_files(found: dict[str, list[Path]], named: set[str]) -> list[str]:
    return [f"{p}: audio file with no row in {METADATA}"
            for name in sorted(set(found) - named) for p in found[name]]


# ---------------------------------------------------------------- task


@register_task("urbansound")
class UrbanSound(CrossValTask):
    kind = TaskKind.CLASSIFICATION
    metric = MetricSpec("accuracy", "max", ("macro_f1",))
    description = "UrbanSound8K: 10 urban sound classes, official 10-fold CV, fsID kept within a fold"
    n_folds = N_FOLDS
    group_name = "fsID"
    synth_module = "tasks.urbansound.synth"
    Config = UrbanSoundConfig
    presets = {"tiny": {"synthetic_sources": 1, "synthetic_max_slices": 2, "synthetic_slice_seconds": 1.0,
                        "clip_seconds": 1.0, "folds": (1, 2), "valid_fraction": 0.2}}

    def read(self, root: Path) -> TaskData:
        return read_layout(root)

    def synthetic_args(self) -> dict:
        c = self.config
        return dict(sources_per_class=c.synthetic_sources, max_slices=c.synthetic_max_slices,
                    slice_seconds=c.synthetic_slice_seconds, seed=c.synthetic_seed)

    def synthetic_name(self) -> str:
        from tasks.urbansound.synth import SYNTH_VERSION

        c = self.config
        return (f"urbansound-synth-v{SYNTH_VERSION}-src{c.synthetic_sources}-sl{c.synthetic_max_slices}"
                f"-len{c.synthetic_slice_seconds:g}-s{c.synthetic_seed}")
