"""The esc50 reader, its embedded generator and its fold protocol, on tiny generated data."""

from __future__ import annotations

import csv
import functools
import logging
import re
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.core.contracts import LayoutError
from tasks.esc50 import COLUMNS, ESC50, ESC50Config, read_esc50
from tasks.esc50.synth import CATEGORIES, N_FOLDS, SAMPLE_RATE, generate, render_clip

SECONDS = 0.2  # tests only: the real format (and the default) is 5 s
LOG = logging.getLogger("test")


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """One source per class and fold, two takes each: 100 short clips, written once."""
    root = tmp_path_factory.mktemp("esc50") / "ESC-50-master"
    generate(root, sources=1, takes=2, seed=0, seconds=SECONDS)
    return root


@pytest.fixture
def copy(made, tmp_path) -> Path:
    """A private copy of the generated dataset, to break by hand."""
    return Path(shutil.copytree(made, tmp_path / "ESC-50-master"))


def _rows(root: Path) -> list[dict[str, str]]:
    with open(root / "meta" / "esc50.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _write_rows(root: Path, rows: list[dict[str, str]], columns=COLUMNS) -> None:
    with open(root / "meta" / "esc50.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _task(**overrides) -> ESC50:
    return ESC50(ESC50Config(**overrides))


def _problems(root: Path, **kw) -> str:
    with pytest.raises(LayoutError) as info:
        read_esc50(root, **kw)
    return str(info.value)


# ---------------------------------------------------------------- generated data


def test_reader_on_generated_data(made):
    data = read_esc50(made)
    assert len(data.clips) == len(CATEGORIES) * N_FOLDS * 2
    assert data.classes == tuple(c for _, c in CATEGORIES)  # ordered by target id
    assert {c.fold for c in data.clips} == set(range(1, N_FOLDS + 1))
    takes = defaultdict(list)
    for clip in data.clips:
        takes[clip.group].append(clip)
        assert clip.path.is_file() and clip.id == f"audio/{clip.path.name}"
    assert len(takes) == len(CATEGORIES) * N_FOLDS
    for group in takes.values():  # two takes per source, one fold and one class each
        assert len(group) == 2 and len({c.fold for c in group}) == 1 and len({c.label for c in group}) == 1
    first = _rows(made)[0]
    assert first["filename"] == f"{first['fold']}-{first['src_file']}-{first['take']}-{first['target']}.wav"
    assert {r["esc10"] for r in _rows(made)} == {"True"}
    assert ("dog", "0") in {(r["category"], r["target"]) for r in _rows(made)}


def test_generated_format_is_the_real_one(made):
    for path in sorted((made / "audio").iterdir())[:5]:
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
        assert info.frames == round(SECONDS * SAMPLE_RATE)
    full = render_clip(0, 0, 1, 0, 0)  # the default length: 5 s at 44.1 kHz
    assert full.shape == (5 * SAMPLE_RATE,) and np.isfinite(full).all() and np.abs(full).max() > 0


def test_same_seed_same_bytes(tmp_path):
    generate(tmp_path / "a", sources=1, takes=1, seed=3, seconds=0.1)
    generate(tmp_path / "b", sources=1, takes=1, seed=3, seconds=0.1)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert not np.array_equal(render_clip(3, 0, 1, 0, 0, 0.1), render_clip(4, 0, 1, 0, 0, 0.1))
    assert not np.array_equal(render_clip(3, 0, 1, 0, 0, 0.1), render_clip(3, 0, 1, 0, 1, 0.1))  # takes differ
    with pytest.raises(FileExistsError):
        generate(tmp_path / "a", sources=1, takes=1, seed=3, seconds=0.1)


def test_embedded_data_is_written_on_first_load(tmp_path, monkeypatch):
    import tasks.esc50.synth as synth_module

    monkeypatch.setattr(synth_module, "generate", functools.partial(generate, seconds=0.1))  # speed only
    task = _task(synthetic_sources=1, synthetic_takes=1)
    data = task.load(tmp_path, LOG)
    assert data.synthetic and len(data.clips) == len(CATEGORIES) * N_FOLDS
    assert data.root == tmp_path / "datasets" / task.synthetic_name()
    assert len(task.load(tmp_path, LOG).clips) == len(data.clips)  # second load reads, no rewrite


# ---------------------------------------------------------------- subset


def test_esc10_subset_keeps_flagged_rows_in_target_order(copy):
    rows = _rows(copy)
    for r in rows:
        if r["category"] in ("rooster", "chainsaw"):
            r["esc10"] = "False"
    _write_rows(copy, rows)
    assert len(read_esc50(copy).clips) == 100
    data = read_esc50(copy, subset="esc10")
    assert len(data.clips) == 80 and "rooster" not in data.classes and "chainsaw" not in data.classes
    assert data.classes == ("dog", "rain", "sea_waves", "crackling_fire", "crying_baby", "sneezing", "clock_tick", "helicopter")
    assert any("subset=esc10" in n for n in data.notes)


# ---------------------------------------------------------------- broken layouts


def test_missing_file_is_named(copy):
    victim = _rows(copy)[4]["filename"]
    (copy / "audio" / victim).unlink()
    message = _problems(copy)
    assert f"{victim}: missing" in message and "line 6" in message


def test_extra_file_is_named(copy):
    shutil.copy(copy / "audio" / _rows(copy)[0]["filename"], copy / "audio" / "3-999999-A-0.wav")
    (copy / "audio" / "notes.txt").write_text("ignored")
    assert "3-999999-A-0.wav: audio file with no row in esc50.csv" in _problems(copy)
    rows = _rows(copy)
    _write_rows(copy, rows[:-1] + [rows[-1], dict(rows[-1])])  # and a duplicate row
    assert f"{rows[-1]['filename']} is listed 2 times" in _problems(copy)


def test_wrong_class_id_is_named_with_id_and_names(copy):
    rows = _rows(copy)
    i = next(i for i, r in enumerate(rows) if r["category"] == "rain")
    rows[i]["category"] = "rainfall"  # target 10 now has two names
    j = next(j for j, r in enumerate(rows) if r["category"] == "dog")
    rows[j]["target"] = "1"  # a dog row with rooster's id, disagreeing with its file name too
    _write_rows(copy, rows)
    message = _problems(copy)
    assert "target 10 has several categories" in message and "'rainfall'" in message and "'rain'" in message
    assert f"line {i + 2}" in message
    assert "target 1 has several categories" in message and "category 'dog' has several target ids: 0, 1" in message
    assert f"{rows[j]['filename']}: file name disagrees with its row: target 0 in the file name but 1 in the row" in message


def test_file_name_disagreeing_with_fold_is_named(copy):
    rows = _rows(copy)
    rows[0]["fold"] = "2" if rows[0]["fold"] != "2" else "3"
    rows[1]["fold"] = "7"
    _write_rows(copy, rows)
    message = _problems(copy)
    assert f"line 2: {rows[0]['filename']}: file name disagrees with its row: fold" in message
    assert f"line 3 ({rows[1]['filename']}): unknown fold 7" in message


def test_group_spanning_two_folds_is_refused_naming_it(copy):
    rows = _rows(copy)
    row = next(r for r in rows if r["fold"] == "1" and r["take"] == "B")
    moved = row["filename"].replace("1-", "2-", 1)
    (copy / "audio" / row["filename"]).rename(copy / "audio" / moved)
    row["filename"], row["fold"] = moved, "2"
    _write_rows(copy, rows)
    with pytest.raises(LayoutError) as info:
        _task(data_dir=copy).load(copy.parent, LOG)
    assert f"src_file {row['src_file']} is in folds 1, 2" in str(info.value)


@pytest.mark.parametrize(
    "edit,needle",
    [
        (lambda t: t.replace(",take\n", "\n", 1), "missing column(s) take"),
        (lambda t: "", "empty file"),
        (lambda t: t.replace(",True,", ",yes,", 1), "esc10 'yes' is not True or False"),
        (lambda t: t.replace(",True,", ",True,,", 1), "8 field(s) where the header has 7"),
        (lambda t: re.sub(r"^(.*?\.wav),1,", r"\1,one,", t, count=1, flags=re.MULTILINE), "fold 'one' is not an integer"),
        (lambda t: t + "bad.wav,1,0,dog,True,1,A\n", "bad.wav: file name is not {fold}-{clip_id}-{take}-{target}.wav"),
    ],
)
def test_malformed_metadata_names_the_file(copy, edit, needle):
    meta = copy / "meta" / "esc50.csv"
    meta.write_text(edit(meta.read_text()))
    message = _problems(copy)
    assert needle in message and "esc50.csv" in message


def test_missing_folders_are_named(tmp_path):
    assert "data_dir does not exist" in _problems(tmp_path / "nowhere")
    (tmp_path / "audio").mkdir()
    assert f"{tmp_path / 'meta' / 'esc50.csv'}: missing" in _problems(tmp_path)


# ---------------------------------------------------------------- protocol


def test_splits_test_one_fold_and_validate_on_whole_groups_of_others(made):
    task = _task(data_dir=made, folds=(2,))
    data = task.load(made.parent, LOG)
    (split,) = task.splits(data, seed=0)
    fold = np.array([c.fold for c in data.clips])
    group = np.array([c.group for c in data.clips])
    assert set(split.test) == set(np.flatnonzero(fold == 2))
    assert len(split.valid) and set(fold[split.valid]) <= {1, 3, 4, 5}
    assert not set(group[split.valid]) & set(group[split.test])
    assert not set(group[split.valid]) & set(group[split.train])
    assert not set(group[split.train]) & set(group[split.test])
    assert len(split.train) + len(split.valid) + len(split.test) == len(data.clips)
