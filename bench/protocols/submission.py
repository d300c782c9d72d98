"""Submission files: checked against what a Kaggle-like grader rejects, before they exist."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Iterable, Sequence

from bench.core.atomic import write_text


class SubmissionError(ValueError):
    pass


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    text = str(value).strip()
    return text == "" or text.lower() in ("nan", "none", "null")


def validate(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    expected_ids: Iterable[str],
    classes: Iterable[str],
    id_column: str = "filename",
    label_column: str = "label",
) -> None:
    """Raise SubmissionError naming the first problem a grader would reject."""
    want = [id_column, label_column]
    if list(header) != want:
        extra = " (an index column was written)" if len(header) == 3 and header[1:] == want else ""
        raise SubmissionError(f"header must be {','.join(want)}, got {','.join(map(str, header))}{extra}")
    expected = set(expected_ids)
    allowed = set(classes)
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):
        if len(row) != 2:
            raise SubmissionError(f"line {n}: expected 2 cells, got {len(row)}")
        rid, label = row
        if _is_blank(rid) or _is_blank(label):
            raise SubmissionError(f"line {n}: empty or NaN cell in {list(row)}")
        rid = str(rid)
        if rid in seen:
            raise SubmissionError(f"line {n}: duplicate id {rid!r}")
        seen.add(rid)
        if rid not in expected:
            raise SubmissionError(f"line {n}: id {rid!r} is not a test file")
        if str(label) not in allowed:
            raise SubmissionError(
                f"line {n}: label {label!r} is not one of the classes ({', '.join(sorted(allowed))})"
            )
    missing = expected - seen
    if missing:
        sample = ", ".join(sorted(missing)[:5])
        raise SubmissionError(f"{len(missing)} test file(s) have no row, e.g. {sample}")


def write(
    path: Path,
    ids: Sequence[str],
    labels: Sequence[str],
    *,
    expected_ids: Iterable[str],
    classes: Iterable[str],
    id_column: str = "filename",
    label_column: str = "label",
) -> None:
    """Validate, then write atomically; a failed check leaves no file behind."""
    rows = list(zip(ids, labels))
    validate(
        [id_column, label_column], rows, expected_ids=expected_ids, classes=classes,
        id_column=id_column, label_column=label_column,
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([id_column, label_column])
    w.writerows(rows)
    write_text(path, buf.getvalue())


def check_file(
    path: Path, *, expected_ids: Iterable[str], classes: Iterable[str],
    id_column: str = "filename", label_column: str = "label",
) -> None:
    """Validate a submission file already on disk (e.g. one made by hand)."""
    with open(path, newline="") as fh:
        reader = list(csv.reader(fh))
    if not reader:
        raise SubmissionError(f"{path} is empty")
    validate(reader[0], reader[1:], expected_ids=expected_ids, classes=classes,
             id_column=id_column, label_column=label_column)
