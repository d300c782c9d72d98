"""The kaggle5 reader on hand-made competition folders, and its validation split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.core.contracts import LayoutError
from tasks.kaggle5 import read_layout, stratified_holdout


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(800, dtype=np.float32), 8000)


def _folder(root: Path, classes=("cat", "dog"), n=3, n_test=2) -> Path:
    for c in classes:
        for i in range(n):
            _wav(root / "train" / c / f"{c}{i}.wav")
    for i in range(n_test):
        _wav(root / "test" / f"t{i}.wav")
    return root


def test_reads_classes_clips_and_test_ids(tmp_path):
    data = read_layout(_folder(tmp_path))
    assert data.classes == ("cat", "dog")
    assert [c.id for c in data.clips] == ["cat/cat0.wav", "cat/cat1.wav", "cat/cat2.wav",
                                          "dog/dog0.wav", "dog/dog1.wav", "dog/dog2.wav"]
    assert [c.id for c in data.unlabelled] == ["t0.wav", "t1.wav"]
    assert data.answers is None and data.notes == []


def test_non_wav_and_stray_files_are_ignored_with_a_note(tmp_path):
    root = _folder(tmp_path)
    (root / "train" / "cat" / "notes.txt").write_text("x")
    (root / "train" / "README").write_text("x")
    data = read_layout(root)
    assert len(data.clips) == 6
    assert any("non-WAV" in n and "cat/" in n for n in data.notes)
    assert any("README" in n for n in data.notes)


@pytest.mark.parametrize(
    "breakage,needle",
    [
        (lambda r: __import__("shutil").rmtree(r / "train"), "missing training folder"),
        (lambda r: __import__("shutil").rmtree(r / "test"), "missing test folder"),
        (lambda r: __import__("shutil").rmtree(r / "train" / "dog"), "found 1 class folder(s), need at least 2"),
        (lambda r: [p.unlink() for p in (r / "train" / "dog").iterdir()], "class folder has no .wav files"),
        (lambda r: [p.unlink() for p in (r / "test").iterdir()], "no .wav test files"),
        (lambda r: (r / "answers.csv").write_text("filename,label\nt0.wav,cat\n"), "hidden answers do not match"),
        (lambda r: (r / "answers.csv").write_text("filename,label\nt0.wav,cat\nt1.wav,cow\n"), "'cow' is not one of the classes"),
    ],
)
def test_broken_layouts_fail_naming_the_problem(tmp_path, breakage, needle):
    root = _folder(tmp_path)
    breakage(root)
    with pytest.raises(LayoutError) as info:
        read_layout(root)
    assert needle in str(info.value) and str(root) in str(info.value)


def test_answers_are_read_when_present(tmp_path):
    root = _folder(tmp_path)
    (root / "answers.csv").write_text("filename,label\nt0.wav,cat\nt1.wav,dog\n")
    assert read_layout(root).answers == {"t0.wav": "cat", "t1.wav": "dog"}


def test_stratified_holdout_keeps_every_class_and_is_seeded():
    labels = np.repeat(np.arange(5), [40, 35, 30, 45, 50])
    train, valid = stratified_holdout(labels, 0.075, seed=0)
    assert not set(train) & set(valid) and len(train) + len(valid) == len(labels)
    counts = np.bincount(labels[valid], minlength=5)
    assert counts.tolist() == [3, 3, 2, 3, 4]  # round(7.5% of each class)
    again, _ = stratified_holdout(labels, 0.075, seed=0)
    other, _ = stratified_holdout(labels, 0.075, seed=1)
    assert np.array_equal(train, again) and not np.array_equal(train, other)
    # a class of two keeps one clip for validation; a class of one stays in training
    train, valid = stratified_holdout(np.array([0, 0, 1]), 0.075, seed=0)
    assert np.array([0, 0, 1])[valid].tolist() == [0] and 2 in train


def _write_embedded(root: str) -> str:
    from tasks.kaggle5.synth import generate

    try:
        generate(Path(root), n_train_per_class=3, n_test=4, max_seconds=0.5, min_seconds=0.2)
        return "wrote"
    except FileExistsError:
        return "found"


def test_writers_racing_on_an_empty_cache_all_end_with_one_complete_dataset(tmp_path):
    # several `bench tune` workers started at once each try to write the embedded data
    import multiprocessing as mp

    root = tmp_path / "kaggle5-synth"
    with mp.get_context("spawn").Pool(3) as pool:
        outcomes = pool.map(_write_embedded, [str(root)] * 3)
    assert outcomes.count("wrote") >= 1 and set(outcomes) <= {"wrote", "found"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kaggle5-synth"]  # no half-written folders left
    data = read_layout(root)
    assert len(data.unlabelled) == 4 and {c.label for c in data.clips} == {"dog_bark", "siren", "car_horn", "drilling", "engine_idling"}
