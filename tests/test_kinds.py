"""Task kinds (bench.core.kinds) on small inputs, and cross-validation for a kind other than classification.

`Loudness` below is a cross-validated REGRESSION task written the way a plugin would:
a generator of real WAV files, a `read`, its kind and its metrics by name. It overrides
nothing of `CrossValTask`: its splits (unstratified, whole groups, one per fold) and
its default `Task.score` work as they are, and the conformance kit's `check_task`
passes on it. No training runs here.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bench import testing
from bench.core import kinds, metrics
from bench.core.atomic import atomic_dir
from bench.core.config import param
from bench.core.contracts import (
    AudioSpec,
    Clip,
    LayoutError,
    MetricSpec,
    Split,
    TaskData,
    TaskInfo,
    TaskKind,
)
from bench.protocols.crossval import CrossValConfig, CrossValTask
from bench.protocols.splits import usable_splits

LOG = logging.getLogger("test")
AUDIO = AudioSpec(8000, 0.25)
CLASSIFICATION, REGRESSION, GENERATION = (kinds.of(k) for k in TaskKind)


def _data(labels=(), targets=()) -> TaskData:
    if labels:
        return TaskData(Path("."), [Clip(Path(f"{i}.wav"), label=c) for i, c in enumerate(labels)], classes=("a", "b", "c"))
    return TaskData(Path("."), [Clip(Path(f"{i}.wav"), target=t) for i, t in enumerate(targets)], targets=("valence", "arousal"))


# ---------------------------------------------------------------- one class per kind


def test_kinds_of_a_task_an_info_or_a_kind_are_the_same_object():
    info = TaskInfo("x", TaskKind.REGRESSION, AUDIO, (), ("v",))
    assert kinds.of(info) is kinds.of(TaskKind.REGRESSION) is kinds.of(Loudness(LoudnessConfig())) is REGRESSION
    assert kinds.of(Loudness) is REGRESSION and isinstance(CLASSIFICATION, kinds.Classification)


def test_targets_and_strata():
    data = _data(labels=("b", "a", "c", "b"))
    np.testing.assert_array_equal(CLASSIFICATION.targets(data), [1, 0, 2, 1])
    np.testing.assert_array_equal(CLASSIFICATION.strata(data), [1, 0, 2, 1])
    np.testing.assert_array_equal(GENERATION.targets(data), [1, 0, 2, 1])  # class conditions
    values = _data(targets=((0.5, -1.0), (0.25, 2.0)))
    y = REGRESSION.targets(values)
    assert y.dtype == np.float32 and y.tolist() == [[0.5, -1.0], [0.25, 2.0]]
    assert REGRESSION.strata(values) is None  # nothing to stratify by: splits draw unstratified


def test_n_outputs_follow_the_info():
    assert TaskInfo("x", TaskKind.CLASSIFICATION, AUDIO, ("a", "b", "c")).n_outputs == 3
    assert TaskInfo("x", TaskKind.REGRESSION, AUDIO, (), ("v", "a")).n_outputs == 2


def test_classification_fills_skipped_clips_with_the_class_prior():
    filled = CLASSIFICATION.fill_skipped(np.array([0, 0, 1, 0]), 2, 3)
    np.testing.assert_allclose(filled, [[0.75, 0.25, 0.0]] * 2)
    assert CLASSIFICATION.fill_skipped(np.array([], dtype=np.int64), 1, 3).tolist() == [[0.0, 0.0, 0.0]]


def test_regression_fills_skipped_clips_with_the_mean_target():
    filled = REGRESSION.fill_skipped(np.array([[1.0, 10.0], [3.0, 20.0]]), 3, 2)
    assert filled.dtype == np.float32 and filled.tolist() == [[2.0, 15.0]] * 3
    assert REGRESSION.fill_skipped(np.zeros((0, 2)), 1, 2).tolist() == [[0.0, 0.0]]


def test_generation_has_nothing_to_fill_or_describe():
    with pytest.raises(TypeError, match="no unlabelled clips"):
        GENERATION.fill_skipped(np.array([0]), 1, 3)
    with pytest.raises(TypeError, match="do not predict files"):
        GENERATION.describe(TaskInfo("x", TaskKind.GENERATION, AUDIO, ("a",)), np.zeros(1))


def test_classification_extras_are_the_confusion_matrix():
    info = TaskInfo("x", TaskKind.CLASSIFICATION, AUDIO, ("a", "b", "c"))
    y = np.array([0, 0, 1, 2])
    extras = CLASSIFICATION.split_extras(y, np.eye(3)[[0, 1, 1, 1]], y, info)
    assert extras == {"confusion": [[1, 1, 0], [0, 1, 0], [0, 1, 0]]}


def test_regression_extras_are_residuals_per_target():
    info = TaskInfo("x", TaskKind.REGRESSION, AUDIO, (), ("valence", "arousal"))
    truth, pred = np.array([[0.1, 1.0], [0.2, 2.0]]), np.array([[0.123456789, 1.5], [0.2, 1.0]])
    extras = REGRESSION.split_extras(truth, pred, truth, info)
    assert extras == {"residuals": {"valence": {"true": [0.1, 0.2], "pred": [0.12346, 0.2]},
                                    "arousal": {"true": [1.0, 2.0], "pred": [1.5, 1.0]}}}


def test_generation_extras_score_each_class_with_enough_clips():
    info = TaskInfo("x", TaskKind.GENERATION, AUDIO, ("a", "b", "c"))
    rng = np.random.default_rng(0)
    real = rng.normal(size=(7, 1, 2, 4))
    y = np.array([0, 0, 0, 1, 1, 1, 2])  # class c has one clip: no Fréchet distance of one embedding
    extras = GENERATION.split_extras(real, real + np.where(y == 1, 1.0, 0.0)[:, None, None, None], y, info)
    assert set(extras["per_class"]) == {"a", "b"}
    assert extras["per_class"]["a"]["frechet_logmel"] == pytest.approx(0.0, abs=1e-8)
    assert extras["per_class"]["b"]["frechet_logmel"] == pytest.approx(2.0, rel=1e-8)  # shifted by 1 in 2 bins


def test_describe_prints_one_line_per_file():
    info = TaskInfo("x", TaskKind.CLASSIFICATION, AUDIO, ("a", "b", "c"))
    assert CLASSIFICATION.describe(info, np.array([0.1, 0.7, 0.2])) == "b\t0.700\ta=0.100  b=0.700  c=0.200"
    info = TaskInfo("x", TaskKind.REGRESSION, AUDIO, (), ("valence", "arousal"))
    assert REGRESSION.describe(info, np.array([0.123456, -1.0])) == "valence=0.1235  arousal=-1.0000"


def test_a_metric_that_reads_another_kinds_outputs_is_refused():
    assert CLASSIFICATION.metric("accuracy") is metrics.get("accuracy")
    with pytest.raises(ValueError, match="metric 'ccc' reads values, but classification tasks produce probabilities"):
        CLASSIFICATION.metric("ccc")
    with pytest.raises(ValueError, match="metric 'accuracy' reads probabilities, but regression tasks produce values"):
        REGRESSION.metric("accuracy")
    with pytest.raises(ValueError, match="metric 'rmse' reads values, but generation tasks produce features"):
        GENERATION.metric("rmse")
    with pytest.raises(KeyError, match="did you mean 'ccc'"):
        REGRESSION.metric("cc")


def test_every_default_metric_is_registered_for_its_kind():
    for kind in kinds.KINDS.values():
        assert kind.default_metrics and all(kind.metric(m).needs == kind.needs for m in kind.default_metrics)


def test_classification_warns_about_a_class_missing_from_validation():
    data = _data(labels=("a", "a", "b", "b", "c"))
    y = CLASSIFICATION.targets(data)
    split = Split("fold1", np.array([0, 2, 4]), np.array([1, 3]), np.array([], dtype=np.int64))
    (warning,) = CLASSIFICATION.split_warnings(split, y, data)
    assert warning.startswith("split fold1: no validation clip for class(es) c (1 usable clip(s)): too few clips")
    assert CLASSIFICATION.split_warnings(dataclasses.replace(split, valid=np.array([1, 3, 4]), train=np.array([0, 2])), y, data) == []
    assert REGRESSION.split_warnings(split, np.zeros((5, 1)), data) == []


def test_perfect_and_constant_outputs_have_the_shape_of_outputs():
    rng = np.random.default_rng(0)
    for kind in kinds.KINDS.values():
        info = kind.toy_info(AUDIO)
        y = kind.toy_targets(12, rng)
        truth = kind.truth(rng.normal(size=(12, 1, 4, 3)), y)
        perfect, constant = kind.perfect(truth, info), kind.constant(truth, info)
        assert perfect.shape == constant.shape and len(perfect) == 12
        assert (constant == constant[0]).all(), f"{kind.kind}: constant outputs differ between clips"


# ---------------------------------------------------------------- a cross-validated regression task

TONES_PER_GROUP, GROUPS_PER_FOLD, N_FOLDS = 2, 3, 3


@dataclass
class LoudnessConfig(CrossValConfig):
    sample_rate: int = param(8000, "rate every clip is resampled to, Hz", low=1000)
    clip_seconds: float = param(0.25, "clips are zero-padded or cut to this length, s", low=0.1)
    valid_fraction: float = param(0.3, "share of the training folds (whole groups) used for validation", low=0.01, high=0.5)


def write_tones(root: Path, leak: bool = False) -> None:
    """clips.csv and 16-bit WAVs: two takes of each source recording, louder with each group; targets are
    the loudness and the pitch. `leak` puts one source recording's takes in two folds."""
    import soundfile as sf

    t = np.arange(int(8000 * 0.25)) / 8000
    with atomic_dir(root) as tmp, open(tmp / "clips.csv", "w", newline="") as fh:
        rows = csv.writer(fh)
        rows.writerow(["file", "fold", "source", "loudness", "pitch"])
        for g in range(N_FOLDS * GROUPS_PER_FOLD):
            for take in range(TONES_PER_GROUP):
                loud, pitch = 0.05 + 0.05 * g, 200.0 + 50 * take
                fold = 1 + g % N_FOLDS if not (leak and g == 0 and take == 1) else 2
                name = f"src{g}-take{take}.wav"
                sf.write(tmp / name, (loud * np.sin(2 * np.pi * pitch * t)).astype(np.float32), 8000, subtype="PCM_16")
                rows.writerow([name, fold, f"src{g}", loud, pitch])


class Loudness(CrossValTask):
    kind = TaskKind.REGRESSION
    description = "loudness and pitch of a tone, three folds grouped by source recording"
    metric = MetricSpec("ccc", "max", ("rmse", "mae"))
    Config = LoudnessConfig
    n_folds = N_FOLDS
    group_name = "source"
    presets = {"tiny": {}}

    def read(self, root: Path) -> TaskData:
        with open(root / "clips.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        clips = [Clip(root / r["file"], target=(float(r["loudness"]), float(r["pitch"])), group=r["source"],
                      fold=int(r["fold"]), id=r["file"]) for r in rows]
        return TaskData(root, clips, targets=("loudness", "pitch"))

    def synthesize(self, root: Path) -> None:
        write_tones(root)

    def synthetic_name(self) -> str:
        return "loudness-v1"


Loudness.name = "loudness"  # what register_task would set


def test_the_regression_task_overrides_no_classification_code():
    assert {k for k, v in vars(Loudness).items() if callable(v) and not isinstance(v, type)} == {
        "read", "synthesize", "synthetic_name"}


def test_embedded_data_is_written_once_and_read_as_real_wavs(tmp_path, caplog):
    import soundfile as sf

    task = Loudness(LoudnessConfig())
    with caplog.at_level(logging.INFO, logger="test"):
        data = task.load(tmp_path, LOG)
    assert data.synthetic and data.root == tmp_path / "datasets" / "loudness-v1"
    assert "writing the embedded synthetic loudness dataset to" in caplog.text
    assert len(data.clips) == N_FOLDS * GROUPS_PER_FOLD * TONES_PER_GROUP
    assert sf.info(data.clips[0].path).frames == 2000 and task.targets(data).shape == (18, 2)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="test"):
        again = task.load(tmp_path, LOG)
    assert "writing" not in caplog.text and len(again.clips) == len(data.clips)
    # a data_dir is read as it is, not marked synthetic
    real = Loudness(LoudnessConfig(data_dir=data.root)).load(tmp_path / "unused", LOG)
    assert not real.synthetic and [c.target for c in real.clips] == [c.target for c in data.clips]
    assert not (tmp_path / "unused").exists()


def test_a_concurrent_writer_that_got_there_first_is_fine(tmp_path):
    class Late(Loudness):
        def synthesize(self, root):
            write_tones(root)  # the other run
            write_tones(root)  # this one: FileExistsError, which load tolerates

    assert len(Late(LoudnessConfig()).load(tmp_path, LOG).clips) == 18


def test_group_leakage_is_refused_for_regression_too(tmp_path):
    write_tones(tmp_path / "leaky", leak=True)
    with pytest.raises(LayoutError, match="1 source value\\(s\\) span several folds"):
        Loudness(LoudnessConfig(data_dir=tmp_path / "leaky")).load(tmp_path, LOG)


def test_splits_are_one_per_fold_of_whole_groups_unstratified(tmp_path):
    task = Loudness(LoudnessConfig())
    data = task.load(tmp_path, LOG)
    splits = task.splits(data, seed=0)
    assert [s.name for s in splits] == ["fold1", "fold2", "fold3"]
    source = np.array([c.group for c in data.clips])
    for k, s in enumerate(splits, 1):
        assert {data.clips[i].fold for i in s.test} == {k}
        assert len(s.train) + len(s.valid) + len(s.test) == len(data.clips)
        assert not set(source[s.valid]) & set(source[s.train])  # validation takes whole source recordings
        assert len(s.valid) == 2 * TONES_PER_GROUP  # 0.3 of 12 clips: whole groups until reached
        assert "not stratified" in s.validation_note and "stratified by class" not in s.validation_note
    np.testing.assert_array_equal(task.splits(data, seed=0)[1].valid, splits[1].valid)
    assert [s.name for s in Loudness(LoudnessConfig(folds=(2,))).splits(data, seed=0)] == ["fold2"]


def test_usable_splits_draw_over_the_clips_that_decoded_without_warnings(tmp_path):
    task = Loudness(LoudnessConfig())
    data = task.load(tmp_path, LOG)
    kept = np.setdiff1d(np.arange(len(data.clips)), [3])
    splits, warnings = usable_splits(task, data, kept, seed=0)
    assert warnings == [] and len(splits) == N_FOLDS
    for s in splits:
        assert 3 not in np.concatenate([s.train, s.valid, s.test])
        assert "leaving out 1 labelled clip(s) skipped as bad audio" in s.validation_note


def test_default_score_is_the_named_regression_metrics(tmp_path):
    task = Loudness(LoudnessConfig())
    data = task.load(tmp_path, LOG)
    y = task.targets(data)
    assert task.score(y, y, data) == {"ccc": pytest.approx(1.0), "rmse": 0.0, "mae": 0.0}
    off = y + np.array([0.0, 1.0], np.float32)  # pitch one Hz too high everywhere
    got = task.score(y, off, data)
    assert list(got) == ["ccc", "rmse", "mae"]
    assert got["rmse"] == pytest.approx(np.sqrt(0.5)) and got["mae"] == pytest.approx(0.5)
    # loudness exact (1); pitch shifted by 1 Hz: 2 var / (2 var + 1) with pitch variance 625
    assert got["ccc"] == pytest.approx((1 + 2 * 625 / (2 * 625 + 1)) / 2, rel=1e-5)


def test_the_conformance_kit_passes_on_the_regression_task(tmp_path):
    testing.check_metrics(Loudness)
    testing.check_task(Loudness, tmp_path)


def test_the_kit_catches_a_regression_task_scoring_a_constant_guess_too_well(tmp_path):
    class Flattering(Loudness):
        def score(self, y_true, outputs, data):
            return {**super().score(y_true, outputs, data), "ccc": 1.0}

    with pytest.raises(AssertionError, match="ccc of constant outputs .* is 1.0, not 0.0"):
        testing.check_task(Flattering, tmp_path)
