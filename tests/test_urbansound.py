"""urbansound: the UrbanSound8K reader on generated and hand-broken data, the generator, the folds."""

from __future__ import annotations

import csv
import logging
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.core.contracts import LayoutError
from tasks.urbansound import CLASSES, COLUMNS, UrbanSound, UrbanSoundConfig, read_layout
from tasks.urbansound import synth as us

SMALL = dict(sources_per_class=1, max_slices=3, slice_seconds=0.3)
LOG = logging.getLogger("test")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(root: Path) -> list[list[str]]:
    with open(root / "metadata" / "UrbanSound8K.csv", newline="") as fh:
        return list(csv.reader(fh))


def _write_rows(root: Path, rows: list[list[str]]) -> None:
    with open(root / "metadata" / "UrbanSound8K.csv", "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def _problems(root: Path) -> str:
    with pytest.raises(LayoutError) as info:
        read_layout(root)
    return str(info.value)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("us") / "UrbanSound8K"
    us.generate(root, seed=0, **SMALL)
    return root


@pytest.fixture
def copy(dataset: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(dataset, tmp_path / "UrbanSound8K"))


def _multi_slice_source(root: Path) -> list[list[str]]:
    """Metadata rows of the first fsID that has at least two slices."""
    by_fs: dict[str, list[list[str]]] = defaultdict(list)
    for row in _rows(root)[1:]:
        by_fs[row[1]].append(row)
    return next(rows for rows in by_fs.values() if len(rows) >= 2)


# ---------------------------------------------------------------- reader on generated data


def test_reader_on_generated_data(dataset: Path) -> None:
    data = read_layout(dataset)
    wavs = sorted(dataset.glob("audio/fold*/*.wav"))
    assert len(data.clips) == len(wavs) == len(_rows(dataset)) - 1
    assert data.classes == CLASSES and data.notes == []
    assert {c.fold for c in data.clips} == set(range(1, 11))
    assert {c.label for c in data.clips} == set(CLASSES)
    folds_of: dict[str, set[int]] = defaultdict(set)
    for c in data.clips:
        fs_id, class_id = c.path.name.split("-")[:2]
        assert c.group == fs_id and c.label == CLASSES[int(class_id)]
        assert c.id == f"audio/fold{c.fold}/{c.path.name}" and c.path.parent.name == f"fold{c.fold}"
        folds_of[c.group].add(c.fold)
    assert len(folds_of) == 10 * 10 * SMALL["sources_per_class"]  # one source per class and fold
    assert all(len(f) == 1 for f in folds_of.values())
    sizes = np.bincount(np.unique([c.group for c in data.clips], return_inverse=True)[1])
    assert sizes.max() >= 2  # several slices per source recording


def test_metadata_matches_the_audio(dataset: Path) -> None:
    rows = _rows(dataset)
    assert tuple(rows[0]) == COLUMNS
    for name, fs_id, start, end, salience, fold, class_id, label in rows[1:]:
        info = sf.info(str(dataset / "audio" / f"fold{fold}" / name))
        assert name.startswith(f"{fs_id}-{class_id}-") and CLASSES[int(class_id)] == label
        assert salience in ("1", "2")
        assert info.duration == pytest.approx(float(end) - float(start), abs=2e-3)
        assert 0 < info.duration <= SMALL["slice_seconds"] + 1e-3


def test_formats_are_varied_and_shared_within_a_source(dataset: Path) -> None:
    formats: dict[str, set] = defaultdict(set)
    for p in dataset.glob("audio/fold*/*.wav"):
        info = sf.info(str(p))
        assert info.samplerate in us.SAMPLE_RATES and info.subtype in us.SUBTYPES and info.channels in (1, 2)
        formats[p.name.split("-")[0]].add((info.samplerate, info.subtype, info.channels))
    assert all(len(f) == 1 for f in formats.values())  # one recording, one format
    seen = [next(iter(f)) for f in formats.values()]
    assert len({f[0] for f in seen}) >= 4 and len({f[1] for f in seen}) >= 3 and {f[2] for f in seen} == {1, 2}
    for p in sorted(dataset.glob("audio/fold1/*.wav"))[:6]:
        data, _ = sf.read(str(p))
        assert np.isfinite(data).all() and np.abs(data).max() > 0


def test_format_mix_covers_the_real_range() -> None:
    drawn = [us.pick_format(np.random.default_rng(i)) for i in range(1500)]
    assert {f.sample_rate for f in drawn} == set(us.SAMPLE_RATES) and 96000 in us.SAMPLE_RATES
    assert min(us.SAMPLE_RATES) == 8000
    assert {f.subtype for f in drawn} == {"PCM_U8", "PCM_16", "PCM_24", "FLOAT"}
    assert {f.channels for f in drawn} == {1, 2}


def test_generation_is_deterministic(dataset: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    us.generate(again, seed=0, **SMALL)
    assert _files(again) == _files(dataset)
    other = us.plan(1, **SMALL)
    assert [s.fs_id for s in other] != [s.fs_id for s in us.plan(0, **SMALL)]


def test_folds_differ_in_difficulty() -> None:
    d = us.fold_difficulty(0)
    assert sorted(d) == pytest.approx(np.linspace(0, 1, 10)) and not np.array_equal(d, np.sort(d))


def test_refuses_an_existing_root(dataset: Path) -> None:
    with pytest.raises(FileExistsError):
        us.generate(dataset, seed=0, **SMALL)


# ---------------------------------------------------------------- broken layouts


def test_missing_file(copy: Path) -> None:
    name, fold = _rows(copy)[5][0], _rows(copy)[5][5]
    (copy / "audio" / f"fold{fold}" / name).unlink()
    msg = _problems(copy)
    assert f"fold{fold}/{name}: missing file" in msg and "line 6" in msg


def test_extra_file(copy: Path) -> None:
    name, fold = _rows(copy)[1][0], _rows(copy)[1][5]
    shutil.copy(copy / "audio" / f"fold{fold}" / name, copy / "audio" / "fold3" / "999999-3-0-0.wav")
    assert "fold3/999999-3-0-0.wav: audio file with no row in metadata/UrbanSound8K.csv" in _problems(copy)


def test_wrong_class_id(copy: Path) -> None:
    rows = _rows(copy)
    row = next(r for r in rows[1:] if r[7] == "dog_bark")
    row[6] = "8"  # siren's id, with the class name left as dog_bark
    _write_rows(copy, rows)
    msg = _problems(copy)
    assert row[0] in msg and "classID 8 is siren but class is 'dog_bark'" in msg
    assert "file name says classID 3 but the row says 8" in msg


def test_unknown_class_and_fold(copy: Path) -> None:
    rows = _rows(copy)
    rows[1][6], rows[1][7] = "12", "helicopter"
    rows[2][5] = "11"
    _write_rows(copy, rows)
    msg = _problems(copy)
    assert f"line 2 ({rows[1][0]}): unknown classID 12 (class 'helicopter')" in msg
    assert f"line 3 ({rows[2][0]}): unknown fold 11" in msg


def test_file_name_disagrees_with_metadata(copy: Path) -> None:
    rows = _rows(copy)
    rows[4][1] = str(int(rows[4][1]) + 1)
    _write_rows(copy, rows)
    assert f"{rows[4][0]}): file name says fsID {int(rows[4][1]) - 1} but the row says {rows[4][1]}" in _problems(copy)


def test_file_in_the_wrong_fold_folder(copy: Path) -> None:
    name, fold = _rows(copy)[1][0], int(_rows(copy)[1][5])
    other = fold % 10 + 1
    shutil.move(copy / "audio" / f"fold{fold}" / name, copy / "audio" / f"fold{other}" / name)
    assert f"fold{other}/{name}: lies outside fold{fold}/" in _problems(copy)


def test_duplicate_row_and_file(copy: Path) -> None:
    rows = _rows(copy)
    _write_rows(copy, rows + [rows[1]])
    name, fold = rows[2][0], int(rows[2][5])
    shutil.copy(copy / "audio" / f"fold{fold}" / name, copy / "audio" / f"fold{fold % 10 + 1}" / name)
    msg = _problems(copy)
    assert f"line {len(rows) + 1}: duplicate row for {rows[1][0]} (first at line 2)" in msg
    assert f"{name}: duplicate file" in msg


@pytest.mark.parametrize("column", ["fold", "classID"])
def test_missing_column(copy: Path, column: str) -> None:
    rows = _rows(copy)
    k = rows[0].index(column)
    _write_rows(copy, [r[:k] + r[k + 1:] for r in rows])
    assert f"UrbanSound8K.csv: missing column '{column}'" in _problems(copy)


@pytest.mark.parametrize("content,needle", [(b"", "empty file"), (b"\xff\xfe\x00\x81 binary", "not a readable CSV file")])
def test_unreadable_metadata(copy: Path, content: bytes, needle: str) -> None:
    (copy / "metadata" / "UrbanSound8K.csv").write_bytes(content)
    assert f"UrbanSound8K.csv: {needle}" in _problems(copy)


def test_malformed_rows_are_all_listed(copy: Path) -> None:
    rows = _rows(copy)
    rows[1][5] = "one"
    rows[2] = rows[2][:5]
    rows[3][2] = "start"
    _write_rows(copy, rows)
    with pytest.raises(LayoutError) as info:
        read_layout(copy)
    problems = "\n".join(info.value.problems)
    assert f"line 2 ({rows[1][0]}): fold 'one' is not an integer" in problems
    assert "line 3: 5 fields, expected 8" in problems
    assert f"line 4 ({rows[3][0]}): start 'start' is not a number" in problems


def test_not_an_urbansound_folder(tmp_path: Path, copy: Path) -> None:
    with pytest.raises(LayoutError, match="does not exist"):
        read_layout(tmp_path / "nowhere")
    with pytest.raises(LayoutError, match="one level down: use data_dir="):
        read_layout(copy.parent)


def test_group_spanning_two_folds_fails_at_load(copy: Path, tmp_path: Path) -> None:
    rows = _rows(copy)
    first, second = _multi_slice_source(copy)[:2]
    fold = int(second[5])
    other = fold % 10 + 1
    shutil.move(copy / "audio" / f"fold{fold}" / second[0], copy / "audio" / f"fold{other}" / second[0])
    for r in rows:
        if r[0] == second[0]:
            r[5] = str(other)
    _write_rows(copy, rows)
    read_layout(copy)  # the layout itself is consistent ...
    task = UrbanSound(UrbanSoundConfig(data_dir=copy))
    with pytest.raises(LayoutError) as info:  # ... but the fsID now leaks across folds
        task.load(tmp_path / "cache", LOG)
    assert f"fsID {first[1]} is in folds {min(fold, other)}, {max(fold, other)}" in str(info.value)


# ---------------------------------------------------------------- task and protocol


def test_split_of_one_fold_keeps_groups_apart(dataset: Path, tmp_path: Path) -> None:
    task = UrbanSound(UrbanSoundConfig(data_dir=dataset, folds=(2,), valid_fraction=0.2))
    data = task.load(tmp_path / "cache", LOG)
    assert not data.synthetic
    (split,) = task.splits(data, seed=0)
    folds = np.array([c.fold for c in data.clips])
    groups = np.array([c.group for c in data.clips])
    assert split.name == "fold2"
    assert sorted(split.test) == sorted(np.flatnonzero(folds == 2))
    assert len(split.valid) and (folds[split.valid] != 2).all() and (folds[split.train] != 2).all()
    assert len(split.train) + len(split.valid) + len(split.test) == len(data.clips)
    test_g, train_g, valid_g = (set(groups[i]) for i in (split.test, split.train, split.valid))
    assert not test_g & train_g and not test_g & valid_g and not train_g & valid_g


def test_embedded_data_is_written_once_and_read(tmp_path: Path) -> None:
    config = UrbanSoundConfig(synthetic_sources=1, synthetic_max_slices=1, synthetic_slice_seconds=0.2)
    task = UrbanSound(config)
    data = task.load(tmp_path, LOG)
    assert data.synthetic and len(data.clips) == 100
    assert data.root == tmp_path / "datasets" / task.synthetic_name()
    assert task.synthetic_name() != UrbanSound(UrbanSoundConfig(synthetic_seed=1)).synthetic_name()
    assert [p.name for p in (tmp_path / "datasets").iterdir()] == [data.root.name]  # no temporary leftovers
