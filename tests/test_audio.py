"""Decoding and the bad-input table of RELIABILITY.md, on real files written with soundfile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from bench.core.contracts import FeatureSpec
from bench.data.audio import BadAudioError, Decoded, decode, to_mono
from bench.data.frontend import extract_file, load_waveform


def tone(sr: int, seconds: float = 0.25, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path: Path, data: np.ndarray, sr: int, **kw) -> Path:
    sf.write(str(path), data, sr, **kw)
    return path


def refuse(path: Path, *words: str, spec: FeatureSpec | None = None) -> BadAudioError:
    """Assert bench refuses `path` with a message naming the file and saying `words`."""
    with pytest.raises(BadAudioError) as info:
        if spec is None:
            decode(path)
        else:
            load_waveform(path, spec)
    exc = info.value
    assert exc.path == Path(path)
    assert str(path) in str(exc), "the message must name the file"
    assert exc.reason in str(exc)
    for w in words:  # in the reason, not just anywhere (tmp_path names hold test names)
        assert w in exc.reason, f"{w!r} missing from {exc.reason!r}"
    assert "skip_bad" in str(exc) or exc.reason == "file not found", "the message says what to do"
    return exc


# ---- bad inputs ------------------------------------------------------------------


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    refuse(p, "empty", "0 bytes")


def test_random_bytes(tmp_path):
    p = tmp_path / "noise.wav"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    refuse(p, "not a readable audio file")


@pytest.mark.parametrize("cut", [4, 12, 20, 30])
def test_truncated_header(tmp_path, cut):
    good = write(tmp_path / "good.wav", tone(16000), 16000)
    p = tmp_path / f"head{cut}.wav"
    p.write_bytes(good.read_bytes()[:cut])
    refuse(p, "not a readable audio file")


def test_missing_file(tmp_path):
    refuse(tmp_path / "nowhere.wav", "not found")


@pytest.mark.parametrize(
    "fmt,subtype,ext",
    [
        ("WAV", "PCM_16", "wav"),
        ("WAV", "PCM_U8", "wav"),
        ("WAV", "FLOAT", "wav"),
        ("WAVEX", "PCM_24", "wav"),
        ("RF64", "PCM_16", "wav"),
        ("W64", "PCM_16", "w64"),
        ("AIFF", "PCM_16", "aiff"),
    ],
)
def test_truncated_data(tmp_path, fmt, subtype, ext):
    n = 8000
    good = write(tmp_path / f"good.{ext}", np.stack([tone(16000, 0.5)] * 2, 1), 16000,
                 format=fmt, subtype=subtype)
    p = tmp_path / f"cut.{ext}"
    raw = good.read_bytes()
    p.write_bytes(raw[: len(raw) * 2 // 3])
    # the premise: libsndfile silently hands back fewer frames
    data, _ = sf.read(str(p))
    assert 0 < len(data) < n
    exc = refuse(p, "truncated", str(n))
    assert f"only {len(data)}" in exc.reason


def test_truncated_right_after_header_says_truncated(tmp_path):
    good = write(tmp_path / "good.wav", tone(16000), 16000, subtype="PCM_16")
    p = tmp_path / "hdr.wav"
    p.write_bytes(good.read_bytes()[:44])  # canonical 44-byte header, no samples
    refuse(p, "truncated")


def test_truncated_flac_is_refused(tmp_path):
    good = write(tmp_path / "good.flac", np.random.default_rng(1).uniform(-.5, .5, 16000), 16000)
    p = tmp_path / "cut.flac"
    raw = good.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(BadAudioError) as info:
        decode(p)
    assert str(p) in str(info.value)


@pytest.mark.parametrize("fmt,ext", [("WAV", "wav"), ("AIFF", "aiff"), ("WAVEX", "wav")])
def test_header_only_zero_frames(tmp_path, fmt, ext):
    p = write(tmp_path / f"zero.{ext}", np.zeros((0, 1), np.float32), 16000, format=fmt)
    assert sf.info(str(p)).frames == 0
    refuse(p, "no audio frames")


def test_shorter_than_one_fft_window(tmp_path):
    spec = FeatureSpec("logmel", 16000, 0.5, n_fft=1024, hop_length=256)
    short = write(tmp_path / "short.wav", tone(16000, 1000 / 16000), 16000)  # 1000 < 1024
    decode(short)  # decodable ...
    refuse(short, "too short", "1024", spec=spec)  # ... but less than one FFT window
    with pytest.raises(BadAudioError):
        extract_file(short, spec)


def test_exactly_one_fft_window_is_padded_deterministically(tmp_path):
    spec = FeatureSpec("logmel", 16000, 0.5, n_fft=1024, hop_length=256)
    x = tone(16000, 1024 / 16000)
    p = write(tmp_path / "one.wav", x, 16000, subtype="FLOAT")
    a = load_waveform(p, spec)
    b = load_waveform(p, spec)
    assert a.shape == (8000,)
    assert torch.equal(a, b)
    np.testing.assert_array_equal(a[:1024].numpy(), x)
    assert torch.count_nonzero(a[1024:]) == 0  # zero padding at the end


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad_value):
    x = tone(16000)
    x[100] = bad_value
    x[2000] = bad_value
    p = write(tmp_path / "nan.wav", x, 16000, subtype="FLOAT")
    # the premise: soundfile passes them through
    assert not np.isfinite(sf.read(str(p))[0]).all()
    refuse(p, "2 samples", "NaN or infinite")


def test_silence_is_valid(tmp_path):
    p = write(tmp_path / "silence.wav", np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    d = decode(p)
    assert d.frames == 16000 and not d.samples.any()
    for kind in ("logmel", "mfcc", "logmel+mfcc"):
        spec = FeatureSpec(kind, 16000, 1.0, n_fft=512, hop_length=256, n_mels=32, n_mfcc=13)
        f = extract_file(p, spec)
        assert f.shape == spec.shape
        assert np.isfinite(f).all()
    logmel = extract_file(p, FeatureSpec("logmel", 16000, 1.0, n_fft=512, hop_length=256))
    np.testing.assert_allclose(logmel, -100.0)  # 10*log10(amin), the epsilon guard


# ---- every format reads ----------------------------------------------------------


@pytest.mark.parametrize(
    "fmt,subtype,ext,tol",
    [
        ("WAV", "PCM_U8", "wav", 1 / 64),
        ("WAV", "PCM_16", "wav", 1e-4),
        ("WAV", "PCM_24", "wav", 1e-6),
        ("WAV", "PCM_32", "wav", 1e-7),
        ("WAV", "FLOAT", "wav", 0.0),
        ("FLAC", "PCM_16", "flac", 1e-4),
        ("FLAC", "PCM_24", "flac", 1e-6),
        ("AIFF", "PCM_16", "aiff", 1e-4),
        ("AIFF", "PCM_24", "aiff", 1e-6),
    ],
)
def test_formats_decode(tmp_path, fmt, subtype, ext, tol):
    x = tone(16000, 0.25, 440.0, 0.5)
    p = write(tmp_path / f"x.{ext}", x, 16000, format=fmt, subtype=subtype)
    d = decode(p)
    assert isinstance(d, Decoded)
    assert d.samples.dtype == np.float32 and d.samples.shape == (1, len(x))
    assert d.sample_rate == 16000 and d.subtype == subtype and d.declared_frames == len(x)
    np.testing.assert_allclose(d.samples[0], x, atol=tol)


@pytest.mark.parametrize("sr", [8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000])
def test_sample_rates_resample_to_task_rate(tmp_path, sr):
    p = write(tmp_path / f"r{sr}.wav", tone(sr, 0.25, 1000.0), sr, subtype="PCM_24")
    d = decode(p)
    assert d.sample_rate == sr and d.frames == int(round(sr * 0.25))
    spec = FeatureSpec("logmel", 16000, 0.25, n_fft=512, hop_length=256)
    w = load_waveform(p, spec).numpy()
    assert w.shape == (4000,)
    spectrum = np.abs(np.fft.rfft(w * np.hanning(len(w))))
    peak_hz = np.argmax(spectrum) * 16000 / len(w)
    assert abs(peak_hz - 1000.0) <= 16000 / len(w)


def test_stereo_downmix_is_channel_mean(tmp_path):
    left, right = tone(16000, 0.25, 440.0, 0.6), tone(16000, 0.25, 1000.0, 0.2)
    p = write(tmp_path / "st.wav", np.stack([left, right], 1), 16000, subtype="FLOAT")
    d = decode(p)
    assert d.channels == 2 and d.frames == len(left)
    np.testing.assert_array_equal(d.samples[0], left)
    np.testing.assert_array_equal(d.samples[1], right)
    mono = to_mono(d.samples)
    assert mono.shape == (len(left),) and mono.dtype == np.float32
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-7)
    spec = FeatureSpec("logmel", 16000, 0.25, n_fft=512, hop_length=256)
    np.testing.assert_allclose(load_waveform(p, spec).numpy(), (left + right) / 2, atol=1e-7)
    # opposite channels cancel: a documented property of the mean downmix
    q = write(tmp_path / "anti.wav", np.stack([left, -left], 1), 16000, subtype="FLOAT")
    assert not to_mono(decode(q).samples).any()


def test_mono_passthrough():
    x = np.arange(6, dtype=np.float32).reshape(1, 6)
    np.testing.assert_array_equal(to_mono(x), x[0])
    three = np.stack([x[0], 2 * x[0], 3 * x[0]])
    np.testing.assert_allclose(to_mono(three), 2 * x[0])


def test_error_message_names_file_for_every_bad_input(tmp_path):
    good = write(tmp_path / "good.wav", tone(16000), 16000).read_bytes()
    nan = tone(16000)
    nan[5] = np.nan
    cases = {
        "zero.wav": b"",
        "random.wav": os.urandom(2048),
        "header.wav": good[:20],
        "data.wav": good[: len(good) // 2],
    }
    paths = []
    for name, raw in cases.items():
        (tmp_path / name).write_bytes(raw)
        paths.append(tmp_path / name)
    paths.append(write(tmp_path / "nan.wav", nan, 16000, subtype="FLOAT"))
    paths.append(write(tmp_path / "none.wav", np.zeros((0, 1)), 16000))
    for p in paths:
        with pytest.raises(BadAudioError) as info:
            decode(p)
        assert str(p) in str(info.value) and info.value.path == p
        assert info.value.reason and info.value.reason in str(info.value)
