"""The scenes task: its generator writes the TUT Acoustic Scenes 2017 layout, its reader checks it."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.core.contracts import LayoutError
from tasks.scenes import Scenes, ScenesConfig, read_layout
from tasks.scenes.synth import CLASSES, generate

SECONDS = 0.5


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scenes") / "TUT-acoustic-scenes-2017-development"
    generate(root, locations_per_class=4, clips_per_class=8, seconds=SECONDS, seed=0)
    return root


@pytest.fixture
def copy(dataset, tmp_path) -> Path:
    """A private copy of the generated dataset to break."""
    return Path(shutil.copytree(dataset, tmp_path / dataset.name))


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def _layout_error(root: Path) -> str:
    with pytest.raises(LayoutError) as info:
        read_layout(root)
    return str(info.value)


# ---------------------------------------------------------------- generated data


def test_reader_sees_every_clip_class_fold_and_location(dataset):
    data = read_layout(dataset)
    assert data.classes == CLASSES and data.classes[2] == "cafe/restaurant"
    assert len(data.clips) == 15 * 4 * 2
    assert all(c.path.is_file() and c.id == f"audio/{c.path.name}" for c in data.clips)
    for k in range(1, 5):  # four locations per scene: one of each scene in every fold
        assert sorted(c.label for c in data.clips if c.fold == k) == sorted(CLASSES * 2)
    folds_of: dict[str, set[int]] = {}
    for c in data.clips:
        folds_of.setdefault(c.group, set()).add(c.fold)
        assert c.path.name.startswith(c.group + "_")
    assert len(folds_of) == 60 and all(len(f) == 1 for f in folds_of.values())
    assert {c.label for c in data.clips if c.label == "cafe/restaurant"}  # a label, not a folder


def test_files_have_the_publishers_format_and_names(dataset):
    meta = [line.split("\t") for line in _lines(dataset / "meta.txt")]
    assert all(len(row) == 3 and row[2] == Path(row[0]).name.split("_")[0] for row in meta)
    assert all(re.fullmatch(r"audio/[ab]\d{3}_\d+(\.\d+)?_\d+(\.\d+)?\.wav", row[0]) for row in meta)
    info = sf.info(str(dataset / meta[0][0]))
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_24")
    assert info.frames == int(SECONDS * 44100)
    setup = dataset / "evaluation_setup"
    for k in range(1, 5):
        evaluate = _lines(setup / f"fold{k}_evaluate.txt")
        assert [r.split("\t")[0] for r in evaluate] == _lines(setup / f"fold{k}_test.txt")
        assert len(evaluate) + len(_lines(setup / f"fold{k}_train.txt")) == len(meta)


def test_generation_is_byte_identical_for_a_seed(tmp_path):
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    kw = {"locations_per_class": 1, "clips_per_class": 2, "seconds": 0.3}
    generate(tmp_path / "a", seed=3, **kw)
    generate(tmp_path / "b", seed=3, **kw)
    generate(tmp_path / "c", seed=4, **kw)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert files(tmp_path / "a") != files(tmp_path / "c")
    with pytest.raises(FileExistsError):
        generate(tmp_path / "a", seed=3, **kw)


def test_task_splits_fold2_keep_groups_apart(dataset):
    task = Scenes(ScenesConfig(data_dir=dataset, folds=(2,)))
    data = task.load(dataset.parent / "cache", logging.getLogger("test"))
    (split,) = task.splits(data, seed=0)
    assert split.name == "fold2"
    fold = np.array([c.fold for c in data.clips])
    assert sorted(split.test.tolist()) == np.flatnonzero(fold == 2).tolist()
    assert len(split.valid) and set(fold[split.valid]) <= {1, 3, 4} and set(fold[split.train]) <= {1, 3, 4}
    groups = lambda idx: {data.clips[i].group for i in idx}
    assert not groups(split.valid) & groups(split.test)
    assert not groups(split.train) & groups(split.valid)
    assert not groups(split.train) & groups(split.test)
    assert set(split.train) | set(split.valid) | set(split.test) == set(range(len(data.clips)))


# ---------------------------------------------------------------- broken layouts


def test_missing_and_extra_audio_are_all_listed(copy):
    meta = _lines(copy / "meta.txt")
    gone = meta[5].split("\t")[0]
    (copy / gone).unlink()
    shutil.copy(copy / meta[6].split("\t")[0], copy / "audio" / "z999_0_10.wav")
    message = _layout_error(copy)
    assert f"meta.txt line 6: {gone} is missing from audio/" in message
    assert "audio/z999_0_10.wav: extra audio file with no row in meta.txt" in message
    assert str(copy) in message


def test_label_disagreeing_with_meta_names_file_and_both_labels(copy):
    path = copy / "evaluation_setup" / "fold3_evaluate.txt"
    rows = _lines(path)
    file, label = rows[0].split("\t")
    wrong = "tram" if label != "tram" else "bus"
    rows[0] = f"{file}\t{wrong}"
    _write(path, rows)
    message = _layout_error(copy)
    assert f"evaluation_setup/fold3_evaluate.txt line 1: {file} is labelled '{wrong}' but meta.txt" in message
    assert f"says '{label}'" in message


def test_unknown_scene_label_in_meta(copy):
    rows = _lines(copy / "meta.txt")
    file, _, identifier = rows[0].split("\t")
    rows[0] = f"{file}\tcafe\t{identifier}"
    _write(copy / "meta.txt", rows)
    assert f"meta.txt line 1: {file} has unknown scene_label 'cafe'" in _layout_error(copy)


def test_malformed_meta_names_the_missing_column(copy):
    rows = _lines(copy / "meta.txt")
    rows[3] = "\t".join(rows[3].split("\t")[:2])
    rows.append(rows[4])  # and a duplicate
    _write(copy / "meta.txt", rows)
    message = _layout_error(copy)
    assert "meta.txt line 4: missing column(s) identifier" in message
    assert f"meta.txt line {len(rows)}: duplicate row for {rows[4].split(chr(9))[0]} (first on line 5)" in message


def test_identifier_disagreeing_with_file_name(copy):
    rows = _lines(copy / "meta.txt")
    file, label, identifier = rows[2].split("\t")
    rows[2] = f"{file}\t{label}\tx001"
    _write(copy / "meta.txt", rows)
    assert f"meta.txt line 3: file {file} names recording {identifier} but identifier is 'x001'" in _layout_error(copy)


def test_setup_lists_must_agree_with_each_other(copy):
    setup = copy / "evaluation_setup"
    train = _lines(setup / "fold2_train.txt")
    dropped = train.pop(0).split("\t")[0]
    _write(setup / "fold2_train.txt", train)
    test = _lines(setup / "fold4_test.txt")
    _write(setup / "fold4_test.txt", test[1:])
    shutil.copy(setup / "fold1_evaluate.txt", setup / "fold5_evaluate.txt")
    message = _layout_error(copy)
    assert f"evaluation_setup/fold2_train.txt: {dropped} is missing" in message
    assert f"evaluation_setup/fold4_test.txt: {test[0]} is missing (it is in fold4_evaluate.txt)" in message
    assert "evaluation_setup/fold5_evaluate.txt: unknown fold 5; this setup has folds 1..4" in message


def test_clip_in_two_evaluate_lists_or_in_none(copy):
    setup = copy / "evaluation_setup"
    one, two = _lines(setup / "fold1_evaluate.txt"), _lines(setup / "fold2_evaluate.txt")
    doubled, dropped = one[0].split("\t")[0], one[1].split("\t")[0]
    _write(setup / "fold2_evaluate.txt", two + [one[0]])
    _write(setup / "fold1_evaluate.txt", [one[0]] + one[2:])
    message = _layout_error(copy)
    assert f"{doubled}: listed in several evaluate lists (folds 1, 2)" in message
    assert f"{dropped} is in no fold{{1..4}}_evaluate.txt" in message


def test_location_spanning_two_folds_fails_at_load_naming_it(copy):
    """Move one segment of a location to another fold, keeping every list consistent."""
    setup = copy / "evaluation_setup"
    row = _lines(setup / "fold1_evaluate.txt")[0]
    file = row.split("\t")[0]
    identifier = Path(file).name.split("_")[0]
    for name in ("fold1_evaluate.txt", "fold1_test.txt", "fold2_train.txt"):
        _write(setup / name, [r for r in _lines(setup / name) if r.split("\t")[0] != file])
    _write(setup / "fold2_evaluate.txt", _lines(setup / "fold2_evaluate.txt") + [row])
    _write(setup / "fold2_test.txt", _lines(setup / "fold2_test.txt") + [file])
    _write(setup / "fold1_train.txt", _lines(setup / "fold1_train.txt") + [row])
    assert read_layout(copy).clips  # the layout itself is consistent
    task = Scenes(ScenesConfig(data_dir=copy))
    with pytest.raises(LayoutError) as info:
        task.load(copy.parent / "cache", logging.getLogger("test"))
    assert f"identifier {identifier} is in folds 1, 2" in str(info.value)


def test_missing_folder_or_setup_file(copy, tmp_path):
    (copy / "evaluation_setup" / "fold3_train.txt").unlink()
    assert "evaluation_setup/fold3_train.txt: missing" in _layout_error(copy)
    shutil.rmtree(copy / "audio")
    assert "missing audio" in _layout_error(copy)
    assert "does not exist" in _layout_error(tmp_path / "nowhere")


def test_embedded_data_name_follows_every_generator_setting():
    base = Scenes(ScenesConfig()).synthetic_name()
    for change in ({"synthetic_locations": 3}, {"synthetic_clips": 9}, {"synthetic_seconds": 5.0}, {"synthetic_seed": 1}):
        assert Scenes(ScenesConfig(**change)).synthetic_name() != base


def test_plan_spreads_clips_over_locations_and_keeps_each_in_one_fold():
    from tasks.scenes.synth import plan

    segments = plan(0, locations_per_class=6, clips_per_class=8, seconds=10.0)
    assert len(segments) == 15 * 8
    per_location: dict[str, list] = {}
    for s in segments:
        per_location.setdefault(s.identifier, []).append(s)
    sizes = sorted(len(v) for v in per_location.values())
    assert sizes == [1] * (15 * 4) + [2] * (15 * 2)
    assert all(len({s.fold for s in v}) == 1 and len({s.label for s in v}) == 1 for v in per_location.values())
    assert all(re.fullmatch(r"audio/[ab]\d{3}_\d*0_\d+0\.wav", s.file) for s in segments)
    for label in CLASSES:  # six locations over four folds: every fold has the scene
        assert {s.fold for s in segments if s.label == label} == {1, 2, 3, 4}


def test_config_refuses_fewer_clips_than_locations():
    from bench.core.config import ConfigError

    with pytest.raises(ConfigError, match="synthetic_clips=5 must be between synthetic_locations=6"):
        ScenesConfig(synthetic_clips=5)


def test_malformed_setup_list_names_file_line_and_column(copy):
    path = copy / "evaluation_setup" / "fold1_train.txt"
    rows = _lines(path)
    rows[1] = rows[1].split("\t")[0]
    _write(path, rows)
    assert "evaluation_setup/fold1_train.txt line 2: missing column(s) label" in _layout_error(copy)
