"""Synthetic data: bench.data.synthetic.blocks primitives and the kaggle5 generator (layout, determinism, atomicity)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.data.synthetic import blocks as synth
from tasks.kaggle5 import synth as k5

SMALL = dict(n_train_per_class=5, n_test=12, min_seconds=0.2, max_seconds=0.5)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("k5") / "data"
    k5.generate(root, seed=0, **SMALL)
    return root


# ---------------------------------------------------------------- primitives


def test_mix_at_snr_sets_the_ratio() -> None:
    rng = np.random.default_rng(0)
    signal = np.sin(np.linspace(0, 200 * np.pi, 8000))
    noise = synth.colored_noise(rng, 8000, "pink")
    mix = synth.mix_at_snr(signal, noise, 10.0)
    ratio = synth.rms(signal) / synth.rms(mix - signal)
    assert 20 * np.log10(ratio) == pytest.approx(10.0, abs=1e-6)


def test_mix_at_snr_survives_silence() -> None:
    rng = np.random.default_rng(0)
    noise = synth.colored_noise(rng, 1000, "white")
    assert np.isfinite(synth.mix_at_snr(np.zeros(1000), noise, 5.0)).all()
    assert np.array_equal(synth.mix_at_snr(noise, np.zeros(1000), 5.0), noise)


@pytest.mark.parametrize("color", synth.NOISE_COLORS)
def test_colored_noise_is_deterministic_and_normalised(color: str) -> None:
    a = synth.colored_noise(np.random.default_rng(3), 4001, color)
    b = synth.colored_noise(np.random.default_rng(3), 4001, color)
    assert np.array_equal(a, b) and len(a) == 4001
    assert synth.rms(a) == pytest.approx(1.0)


def test_colored_noise_slopes_differ() -> None:
    """Pink and brown put progressively more of their energy at low frequencies."""

    def low_share(x: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(x)) ** 2
        return float(power[: len(power) // 8].sum() / power.sum())

    shares = [low_share(synth.colored_noise(np.random.default_rng(0), 16000, c)) for c in synth.NOISE_COLORS]
    assert shares[0] < shares[1] < shares[2]


def test_harmonic_tone_never_exceeds_nyquist() -> None:
    sr = 8000
    tone = synth.harmonic_tone(synth.constant_contour(sr, 1300.0), sr, [1.0] * 10)
    power = np.abs(np.fft.rfft(tone)) ** 2
    freqs = np.fft.rfftfreq(sr, 1 / sr)
    # 1300 and 2600 Hz survive; 3900 Hz and up would alias, so they are dropped
    for f in (1300, 2600):
        assert power[np.abs(freqs - f) < 5].sum() / power.sum() == pytest.approx(0.5, abs=0.01)
    assert power[freqs > 0.95 * sr / 2].sum() / power.sum() < 1e-9


@pytest.mark.parametrize("subtype", synth.SUBTYPES)
@pytest.mark.parametrize("channels", [1, 2])
def test_write_clip_formats(tmp_path: Path, subtype: str, channels: int) -> None:
    x = 3.0 * np.sin(np.linspace(0, 100 * np.pi, 4000))  # far too loud: must be limited
    path = tmp_path / "x.wav"
    synth.write_clip(path, x, 16000, subtype, channels)
    info = sf.info(str(path))
    assert (info.samplerate, info.subtype, info.channels, info.frames) == (16000, subtype, channels, 4000)
    data, _ = sf.read(str(path), always_2d=True)
    assert np.abs(data).max() <= 1.0
    if channels == 2:
        assert not np.array_equal(data[:, 0], data[:, 1])
    first = path.read_bytes()
    synth.write_clip(path, x, 16000, subtype, channels)
    assert path.read_bytes() == first  # no timestamps (PEAK chunk) in the file


def test_pick_format_is_deterministic_and_valid() -> None:
    a = [synth.pick_format(np.random.default_rng(i)) for i in range(50)]
    b = [synth.pick_format(np.random.default_rng(i)) for i in range(50)]
    assert a == b
    assert all(f.sample_rate in synth.SAMPLE_RATES and f.subtype in synth.SUBTYPES for f in a)
    assert {f.channels for f in a} == {1, 2}


# ---------------------------------------------------------------- kaggle5 generator


def test_layout(dataset: Path) -> None:
    assert sorted(p.name for p in (dataset / "train").iterdir()) == sorted(k5.CLASSES)
    for name in k5.CLASSES:
        clips = sorted((dataset / "train" / name).glob("*.wav"))
        assert clips and all(p.name.startswith(f"{name}_") for p in clips)
    test_files = sorted(p.name for p in (dataset / "test").iterdir())
    assert len(test_files) == SMALL["n_test"]
    with open(dataset / "answers.csv", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["filename", "label"]
        rows = list(reader)
    assert sorted(r[0] for r in rows) == test_files
    assert all(r[1] in k5.CLASSES for r in rows)
    assert sorted(p.name for p in dataset.iterdir()) == ["answers.csv", "test", "train"]


def test_clips_are_readable_with_varied_formats(dataset: Path) -> None:
    infos = [sf.info(str(p)) for p in dataset.rglob("*.wav")]
    assert len({i.samplerate for i in infos}) >= 3
    assert len({i.subtype for i in infos}) >= 3
    assert {i.channels for i in infos} == {1, 2}
    for i in infos:
        assert 0.2 <= i.duration <= 0.5 or i.frames == 2048  # very short clips get one FFT window
    for p in list(dataset.rglob("*.wav"))[:10]:
        data, _ = sf.read(str(p))
        assert np.isfinite(data).all() and np.abs(data).max() > 0


def test_class_counts_vary_around_the_target() -> None:
    counts = k5.class_counts(0, 100)
    assert all(85 <= c <= 115 for c in counts) and len(set(counts)) > 1
    labels = k5.test_plan(0, counts, 150)
    assert len(labels) == 150
    shares = np.bincount(labels, minlength=5) / 150
    assert np.allclose(shares, np.asarray(counts) / sum(counts), atol=1 / 150)


def test_generation_is_deterministic(dataset: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    k5.generate(again, seed=0, **SMALL)
    assert _files(again) == _files(dataset)
    other = tmp_path / "other"
    k5.generate(other, seed=1, **SMALL)
    a, b = _files(dataset), _files(other)
    assert any(a[k] != b.get(k) for k in a)


def test_clips_do_not_depend_on_other_clips(dataset: Path, tmp_path: Path) -> None:
    """Changing the test-set size leaves every training file untouched."""
    root = tmp_path / "fewer"
    k5.generate(root, seed=0, **{**SMALL, "n_test": 3})
    mine, full = _files(root), _files(dataset)
    train = [k for k in full if k.startswith("train")]
    assert train and all(mine[k] == full[k] for k in train)


def test_refuses_existing_root(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(FileExistsError):
        k5.generate(root, seed=0, **SMALL)
    assert list(root.iterdir()) == []


def test_interrupted_generation_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = synth.write_clip
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > 7:
            raise KeyboardInterrupt("simulated interruption")
        real(*args, **kwargs)

    monkeypatch.setattr(synth, "write_clip", failing)
    with pytest.raises(KeyboardInterrupt):
        k5.generate(tmp_path / "data", seed=0, **SMALL)
    assert list(tmp_path.iterdir()) == []  # neither ROOT nor the temporary folder
