"""The submission validator refuses everything a Kaggle-like grader refuses, before a file exists."""

from __future__ import annotations

import pytest

from bench.protocols import submission
from bench.protocols.submission import SubmissionError

IDS = ["a.wav", "b.wav", "c.wav"]
CLASSES = ["dog_bark", "siren"]


def check(header, rows):
    submission.validate(header, rows, expected_ids=IDS, classes=CLASSES)


def test_valid_submission_passes_and_is_written(tmp_path):
    path = tmp_path / "submission.csv"
    submission.write(path, IDS, ["siren", "dog_bark", "siren"], expected_ids=IDS, classes=CLASSES)
    assert path.read_text() == "filename,label\na.wav,siren\nb.wav,dog_bark\nc.wav,siren\n"
    submission.check_file(path, expected_ids=IDS, classes=CLASSES)


def test_configurable_column_names(tmp_path):
    path = tmp_path / "s.csv"
    submission.write(path, IDS, ["siren"] * 3, expected_ids=IDS, classes=CLASSES, id_column="fname", label_column="class")
    assert path.read_text().splitlines()[0] == "fname,class"


@pytest.mark.parametrize(
    "header,rows,needle",
    [
        (["id", "label"], [["a.wav", "siren"], ["b.wav", "siren"], ["c.wav", "siren"]], "header must be filename,label"),
        (["", "filename", "label"], [["0", "a.wav", "siren"]], "an index column was written"),
        (["filename", "label"], [["a.wav", "siren"], ["b.wav", "siren"]], "1 test file(s) have no row, e.g. c.wav"),
        (["filename", "label"], [["a.wav", "siren"], ["b.wav", "siren"], ["c.wav", "siren"], ["d.wav", "siren"]], "'d.wav' is not a test file"),
        (["filename", "label"], [["a.wav", "siren"], ["a.wav", "siren"], ["c.wav", "siren"]], "duplicate id 'a.wav'"),
        (["filename", "label"], [["a.wav", ""], ["b.wav", "siren"], ["c.wav", "siren"]], "empty or NaN cell"),
        (["filename", "label"], [["a.wav", "nan"], ["b.wav", "siren"], ["c.wav", "siren"]], "empty or NaN cell"),
        (["filename", "label"], [["a.wav", float("nan")], ["b.wav", "siren"], ["c.wav", "siren"]], "empty or NaN cell"),
        (["filename", "label"], [["a.wav", "Siren"], ["b.wav", "siren"], ["c.wav", "siren"]], "label 'Siren' is not one of the classes"),
        (["filename", "label"], [["a.wav", "siren", "x"]], "expected 2 cells"),
    ],
)
def test_each_rejection(header, rows, needle):
    with pytest.raises(SubmissionError) as info:
        check(header, rows)
    assert needle in str(info.value)


def test_failed_check_leaves_no_file(tmp_path):
    path = tmp_path / "submission.csv"
    with pytest.raises(SubmissionError):
        submission.write(path, ["a.wav", "b.wav"], ["siren", "cat"], expected_ids=IDS, classes=CLASSES)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []
    # an earlier good submission survives a later failed one
    submission.write(path, IDS, ["siren"] * 3, expected_ids=IDS, classes=CLASSES)
    before = path.read_text()
    with pytest.raises(SubmissionError):
        submission.write(path, IDS, ["siren", "siren", "cow"], expected_ids=IDS, classes=CLASSES)
    assert path.read_text() == before
