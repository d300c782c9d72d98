"""Log-mel back to audio (bench.data.render), and scoring spectrograms a generator made (ClipSet.from_features)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench import metrics
from bench.core.contracts import FeatureSpec
from bench.data.frontend import compute_features
from bench.data.render import logmel_to_audio, match_loudness, rms
from bench.scoring.clipsets import ClipSet

SPEC = FeatureSpec("logmel", sample_rate=22050, clip_seconds=1.0, n_fft=1024, hop_length=256, n_mels=128)


def _tone_in_noise(seed: int = 0, seconds: float = 1.0, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(SPEC.sample_rate * seconds)) / SPEC.sample_rate
    rng = np.random.default_rng(seed)
    tone = 0.3 * np.sin(2 * np.pi * hz * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (tone + 0.05 * rng.normal(size=t.size)).astype(np.float32)


def _db(wave: np.ndarray, spec: FeatureSpec = SPEC) -> np.ndarray:
    return compute_features(torch.from_numpy(wave), spec)[0]


def test_rendered_audio_has_the_log_mel_it_was_made_from():
    x = _tone_in_noise()
    y = logmel_to_audio(_db(x), SPEC, n_samples=x.size)
    assert y.dtype == np.float32 and y.shape == x.shape
    diff = np.abs(_db(x) - _db(y))
    assert np.median(diff) < 1.0 and np.percentile(diff, 90) < 3.0  # dB: the phase is new, the mel is kept
    assert rms(y) == pytest.approx(rms(x), rel=0.1)


def test_rendering_is_seeded_and_the_same_every_time():
    db = _db(_tone_in_noise())
    assert np.array_equal(logmel_to_audio(db, SPEC, seed=3), logmel_to_audio(db, SPEC, seed=3))
    assert not np.array_equal(logmel_to_audio(db, SPEC, seed=3), logmel_to_audio(db, SPEC, seed=4))


def test_render_agrees_with_librosas_inverse_mel_to_within_what_griffin_lim_leaves():
    """librosa's mel_to_audio (NNLS inverse mel, its own Griffin-Lim) on the same power mel: both renderings
    carry the same mel spectrum, up to the dB a phase reconstruction costs."""
    librosa = pytest.importorskip("librosa")
    x = _tone_in_noise(seed=1)
    db = _db(x)
    ours = logmel_to_audio(db, SPEC, n_samples=x.size)
    theirs = librosa.feature.inverse.mel_to_audio(
        10.0 ** (db.astype(np.float64) / 10), sr=SPEC.sample_rate, n_fft=SPEC.n_fft, hop_length=SPEC.hop_length,
        power=2.0, n_iter=32, length=x.size, pad_mode="constant", htk=False, norm="slaney").astype(np.float32)
    gap = np.median(np.abs(_db(ours) - _db(theirs)))
    assert gap < 1.5, f"median {gap:.2f} dB between bench's and librosa's renderings"


def test_loudness_matching_keeps_silence_silent_and_never_clips():
    assert match_loudness(np.zeros(100, np.float32), 0.5).max() == 0.0
    loud = match_loudness(np.random.default_rng(0).normal(size=1000), 0.1)
    assert rms(loud) == pytest.approx(0.1, rel=1e-5)
    spiky = np.zeros(1000)
    spiky[10] = 1.0
    assert np.abs(match_loudness(spiky, 0.5)).max() <= 0.99  # the target would need a peak of 15.8


def test_generated_spectrograms_are_scored_as_audio_by_the_library():
    """What a spectrogram generator hands over: (N, 1, n_mels, T) log-mel. Rendered by Griffin-Lim, scored
    against real clips; a generator whose spectrograms are the real ones' sits at the vocoder floor."""
    real_waves = [_tone_in_noise(seed=s, hz=220 + 40 * (s % 6)) for s in range(24)]
    labels = ["low" if s % 6 < 3 else "high" for s in range(24)]
    real = ClipSet.from_waves(real_waves, SPEC.sample_rate, labels, name="real")
    features = np.stack([_db(w)[None] for w in real_waves[:12]])
    generated = ClipSet.from_features(features, SPEC, labels[:12])
    assert len(generated) == 12 and generated.rates == [SPEC.sample_rate] * 12 and generated.labels == labels[:12]
    record = metrics.score_audio(real, generated, "logmel", per_class=True, bootstrap=5)
    assert record["embedding"]["name"] == "logmel" and record["n"] == 12
    assert set(record["per_class"]["classes"]) == {"low", "high"}
    with pytest.raises(ValueError, match="renders"):
        ClipSet.from_features(features[:, 0], SPEC)
