"""The frontend against librosa, resampling, pad/trim and the spec checks."""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from bench.core.contracts import FeatureSpec
from bench.data.frontend import (
    check_spec,
    compute_features,
    extract_file,
    fit_length,
    load_waveform,
)


def signal(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    """A tone plus noise with a quiet start, so the top_db floor is exercised."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(sr * seconds))) / sr
    x = 0.5 * np.sin(2 * np.pi * 1000 * t) + 0.1 * rng.standard_normal(len(t))
    x[: len(t) // 10] *= 1e-4
    return x.astype(np.float32)


def librosa_reference(x: np.ndarray, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    S = librosa.feature.melspectrogram(
        y=x.astype(np.float64), sr=spec.sample_rate, n_fft=spec.n_fft,
        hop_length=spec.hop_length, n_mels=spec.n_mels, fmin=spec.f_min, fmax=spec.f_max,
        power=2.0, center=True, pad_mode="constant",
    )
    db = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=spec.top_db)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=spec.n_mfcc)
    return db, mfcc


SPECS = [
    dict(sample_rate=22050),
    dict(sample_rate=22050, f_min=50.0, f_max=8000.0),
    dict(sample_rate=16000, n_fft=512, hop_length=128, n_mels=40, n_mfcc=13),
    dict(sample_rate=16000, n_fft=400, hop_length=160, n_mels=64, top_db=None),
]


@pytest.mark.parametrize("kw", SPECS)
def test_logmel_and_mfcc_match_librosa(kw):
    x = signal(kw["sample_rate"], 1.0)
    db_ref, mfcc_ref = librosa_reference(x, FeatureSpec("logmel", clip_seconds=1.0, **kw))
    wave = torch.from_numpy(x)

    logmel = compute_features(wave, FeatureSpec("logmel", clip_seconds=1.0, **kw))
    assert logmel.shape == (1, *db_ref.shape) and logmel.dtype == np.float32
    np.testing.assert_allclose(logmel[0], db_ref, atol=1e-2, rtol=0)  # dB

    mfcc = compute_features(wave, FeatureSpec("mfcc", clip_seconds=1.0, **kw))
    assert mfcc.shape == (1, *mfcc_ref.shape)
    np.testing.assert_allclose(mfcc[0], mfcc_ref, atol=2e-2, rtol=1e-4)

    # the top_db floor is actually in play where it is set
    if kw.get("top_db", 80.0) is not None:
        assert np.isclose(logmel.min(), logmel.max() - 80.0, atol=1e-3)


def test_resample_44k_to_22k_keeps_tone_and_length(tmp_path):
    sr_in, sr_out, seconds = 44100, 22050, 0.5
    t = np.arange(int(sr_in * seconds)) / sr_in
    p = tmp_path / "tone44k.wav"
    sf.write(str(p), (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), sr_in,
             subtype="FLOAT")
    # ask for a longer clip so the resampled length shows where the padding starts
    spec = FeatureSpec("logmel", sr_out, 1.0)
    w = load_waveform(p, spec).numpy()
    n = int(sr_out * seconds)  # 11025
    assert w.shape == (sr_out,)
    assert not w[n:].any(), "padding starts exactly at the resampled length"
    assert np.abs(w[n - 50 : n]).max() > 0.1, "the resampled tone runs to its end"
    body = w[:n]
    spectrum = np.abs(np.fft.rfft(body * np.hanning(n)))
    freqs = np.fft.rfftfreq(n, 1 / sr_out)
    assert abs(freqs[np.argmax(spectrum)] - 1000.0) <= sr_out / n
    # amplitude is kept (no gain change from resampling)
    assert np.abs(body[1000:-1000]).max() == pytest.approx(0.5, abs=0.02)


def test_fit_length_pad_and_trim():
    w = torch.arange(1, 11, dtype=torch.float32)  # 1..10
    # longer: start crop keeps the head, center crop keeps the middle
    assert fit_length(w, 4, "start").tolist() == [1, 2, 3, 4]
    assert fit_length(w, 4, "center").tolist() == [4, 5, 6, 7]
    assert fit_length(w, 5, "center").tolist() == [3, 4, 5, 6, 7]
    # shorter: zero padding at the end, same for both crops
    for crop in ("start", "center"):
        out = fit_length(w, 13, crop)
        assert out.shape == (13,)
        assert out.tolist() == list(range(1, 11)) + [0, 0, 0]
    # equal length: unchanged
    assert torch.equal(fit_length(w, 10, "center"), w)
    # deterministic
    for n in (3, 10, 17):
        assert torch.equal(fit_length(w, n, "center"), fit_length(w.clone(), n, "center"))


@pytest.mark.parametrize("crop", ["start", "center"])
def test_load_waveform_exact_length(tmp_path, crop):
    sr = 16000
    ramp = (np.arange(sr, dtype=np.float32) / sr) - 0.5  # 1 s
    p = tmp_path / "ramp.wav"
    sf.write(str(p), ramp, sr, subtype="FLOAT")
    short = load_waveform(p, FeatureSpec("logmel", sr, 0.25, crop=crop)).numpy()
    assert short.shape == (4000,)
    start = 0 if crop == "start" else (sr - 4000) // 2
    np.testing.assert_array_equal(short, ramp[start : start + 4000])
    long = load_waveform(p, FeatureSpec("logmel", sr, 1.5, crop=crop)).numpy()
    assert long.shape == (24000,)
    np.testing.assert_array_equal(long[:sr], ramp)
    assert not long[sr:].any()


def test_check_spec_refuses_fmax_above_nyquist():
    with pytest.raises(ValueError) as info:
        check_spec(FeatureSpec("logmel", 16000, 1.0, f_max=11025.0))
    msg = str(info.value)
    assert "f_max" in msg and "11025" in msg
    assert "Nyquist" in msg and "8000" in msg
    check_spec(FeatureSpec("logmel", 16000, 1.0, f_max=8000.0))  # exactly Nyquist is fine
    check_spec(FeatureSpec("logmel", 16000, 1.0, f_max=None))


def test_check_spec_other_refusals():
    with pytest.raises(ValueError, match="hop_length"):
        check_spec(FeatureSpec("logmel", 16000, 1.0, n_fft=256, hop_length=512))
    with pytest.raises(ValueError, match="f_min"):
        check_spec(FeatureSpec("logmel", 16000, 1.0, f_min=4000.0, f_max=3000.0))
    with pytest.raises(ValueError, match="f_min"):
        check_spec(FeatureSpec("logmel", 16000, 1.0, f_min=8000.0))
    with pytest.raises(ValueError, match="n_mfcc"):
        check_spec(FeatureSpec("mfcc", 16000, 1.0, n_mels=20, n_mfcc=40))


def test_logmel_plus_mfcc_stacks_channels():
    spec = FeatureSpec("logmel+mfcc", 16000, 0.5, n_fft=512, hop_length=256, n_mels=32, n_mfcc=13)
    wave = torch.from_numpy(signal(16000, 0.5, seed=3))
    both = compute_features(wave, spec)
    assert both.shape == (2, 32, spec.n_frames)
    logmel = compute_features(wave, dataclasses.replace(spec, kind="logmel"))
    mfcc = compute_features(wave, dataclasses.replace(spec, kind="mfcc"))
    np.testing.assert_array_equal(both[0], logmel[0])
    np.testing.assert_allclose(both[1, :13], mfcc[0], atol=1e-4)
    assert not both[1, 13:].any()


@pytest.mark.parametrize("kind", ["logmel", "mfcc", "logmel+mfcc"])
@pytest.mark.parametrize(
    "sr,seconds,n_fft,hop", [(16000, 0.5, 512, 256), (22050, 0.3, 1024, 512), (8000, 0.37, 256, 100)]
)
def test_spec_shape_matches_features(tmp_path, kind, sr, seconds, n_fft, hop):
    spec = FeatureSpec(kind, sr, seconds, n_fft=n_fft, hop_length=hop, n_mels=24, n_mfcc=10)
    p = tmp_path / "x.wav"
    sf.write(str(p), signal(44100, 0.4), 44100)
    f = extract_file(p, spec)
    assert f.shape == spec.shape
    assert f.dtype == np.float32 and np.isfinite(f).all()
