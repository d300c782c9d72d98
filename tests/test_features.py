"""Extraction through the cache: bad files, skip_bad, and the parallel path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.core.contracts import FeatureSpec
from bench.data import features
from bench.data.audio import BadAudioError
from bench.data.cache import FeatureCache
from bench.data.features import Extracted, extract
from bench.data.frontend import extract_file

SPEC = FeatureSpec("logmel+mfcc", 16000, 0.25, n_fft=512, hop_length=256, n_mels=32, n_mfcc=13)


def write_good(folder: Path, n: int, start: int = 0) -> list[Path]:
    paths = []
    for i in range(start, start + n):
        rng = np.random.default_rng(i)
        sr = (16000, 22050, 8000)[i % 3]  # mixed rates, so resampling is on the path too
        frames = int(sr * (0.2 + 0.01 * (i % 7)))
        x = rng.uniform(-0.5, 0.5, (frames, 1 + i % 2)).astype(np.float32)
        p = folder / f"good{i:03d}.wav"
        sf.write(str(p), x, sr, subtype=("PCM_16", "FLOAT", "PCM_24")[i % 3])
        paths.append(p)
    return paths


def write_bad(folder: Path) -> dict[str, Path]:
    good = folder / "_template.wav"
    sf.write(str(good), np.full(4000, 0.1, np.float32), 16000)
    raw = good.read_bytes()
    good.unlink()
    bad = {
        "empty": (b"", "empty"),
        "random": (bytes(range(256)) * 8, "not a readable audio file"),
        "cut": (raw[: len(raw) // 2], "truncated"),
    }
    out = {}
    for name, (data, _) in bad.items():
        p = folder / f"bad_{name}.wav"
        p.write_bytes(data)
        out[name] = p
    nan = np.full(4000, 0.1, np.float32)
    nan[10] = np.nan
    sf.write(str(folder / "bad_nan.wav"), nan, 16000, subtype="FLOAT")
    out["nan"] = folder / "bad_nan.wav"
    out["missing"] = folder / "bad_missing.wav"  # never written
    return out


REASONS = {
    "empty": "empty",
    "random": "not a readable audio file",
    "cut": "truncated",
    "nan": "NaN or infinite",
    "missing": "not found",
}


@pytest.fixture
def mixed(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    good = write_good(audio, 5)
    bad = write_bad(audio)
    # interleave: good0 empty good1 random good2 cut good3 nan good4 missing
    paths: list[Path] = []
    for g, b in zip(good, list(bad.values()) + [None]):
        paths.append(g)
        if b is not None:
            paths.append(b)
    return paths, good, bad


def test_bad_files_raise_listing_every_one(mixed, tmp_path):
    paths, good, bad = mixed
    cache = FeatureCache(tmp_path / "cache")
    with pytest.raises(BadAudioError) as info:
        extract(paths, SPEC, cache, workers=1, skip_bad=False, progress=False)
    msg = str(info.value)
    assert f"{len(bad)} bad audio file(s)" in msg
    for name, p in bad.items():
        assert str(p) in msg, f"{p} not listed"
        assert REASONS[name] in msg
    for p in good:
        assert str(p) not in msg
    assert "skip_bad" in msg
    # nothing already computed is lost: the good files were cached before the raise
    again = extract(good, SPEC, cache, workers=1, progress=False)
    assert (again.hits, again.misses) == (len(good), 0)


def test_skip_bad_returns_kept_indices_and_bad_list(mixed, tmp_path):
    paths, good, bad = mixed
    cache = FeatureCache(tmp_path / "cache")
    res = extract(paths, SPEC, cache, workers=1, skip_bad=True, progress=False)
    assert isinstance(res, Extracted)
    expected_kept = [i for i, p in enumerate(paths) if p in good]
    assert res.kept.tolist() == expected_kept and res.kept.dtype == np.int64
    assert res.x.shape == (len(good), *SPEC.shape) and res.x.dtype == np.float32
    for row, i in enumerate(res.kept):
        np.testing.assert_array_equal(res.x[row], extract_file(paths[i], SPEC))
    assert [p for p, _ in res.bad] == [str(p) for p in paths if p not in good]
    reasons = dict(res.bad)
    for name, p in bad.items():
        assert REASONS[name] in reasons[str(p)]
    assert (res.hits, res.misses) == (0, len(paths))
    # second run: good files hit, bad ones are reported again (never cached)
    res2 = extract(paths, SPEC, cache, workers=1, skip_bad=True, progress=False)
    assert (res2.hits, res2.misses) == (len(good), len(bad))
    assert res2.bad == res.bad
    np.testing.assert_array_equal(res2.x, res.x)


def test_skip_bad_without_cache(mixed):
    paths, good, bad = mixed
    res = extract(paths, SPEC, None, workers=1, skip_bad=True, progress=False)
    assert len(res.kept) == len(good) and len(res.bad) == len(bad)


def test_all_bad_gives_empty_result(tmp_path):
    bad = write_bad(tmp_path)
    res = extract(list(bad.values()), SPEC, None, workers=1, skip_bad=True, progress=False)
    assert res.x.shape == (0, *SPEC.shape) and res.kept.size == 0 and len(res.bad) == len(bad)


def test_bad_spec_is_refused_before_any_work(tmp_path):
    good = write_good(tmp_path, 1)
    with pytest.raises(ValueError, match="Nyquist"):
        extract(good, FeatureSpec("logmel", 16000, 0.25, f_max=9000.0), None, progress=False)


def test_parallel_path_equals_serial_path(tmp_path, monkeypatch):
    monkeypatch.setattr(features, "_PARALLEL_MIN", 48)  # the real threshold needs a thousand files
    _PARALLEL_MIN = features._PARALLEL_MIN
    audio = tmp_path / "audio"
    audio.mkdir()
    good = write_good(audio, _PARALLEL_MIN + 4)
    bad = write_bad(audio)
    paths = good[:20] + [bad["cut"], bad["empty"]] + good[20:] + [bad["nan"]]
    assert len(paths) > _PARALLEL_MIN

    serial = extract(paths, SPEC, FeatureCache(tmp_path / "c1"), workers=1, skip_bad=True,
                     progress=False)
    par_cache = FeatureCache(tmp_path / "c2")
    parallel = extract(paths, SPEC, par_cache, workers=2, skip_bad=True, progress=False)

    assert parallel.misses == len(paths) > _PARALLEL_MIN
    np.testing.assert_array_equal(parallel.kept, serial.kept)
    assert parallel.bad == serial.bad and len(parallel.bad) == 3
    assert parallel.x.shape == serial.x.shape == (len(good), *SPEC.shape)
    np.testing.assert_array_equal(parallel.x, serial.x)
    # the parallel results were written to the cache
    again = extract(paths, SPEC, par_cache, workers=2, skip_bad=True, progress=False)
    assert again.hits == len(good)
    np.testing.assert_array_equal(again.x, serial.x)
