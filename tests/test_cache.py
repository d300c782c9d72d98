"""Promise 5: caches keyed by content and config, damaged entries and files never trusted."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import bench.data.cache
from bench.core.contracts import FeatureSpec
from bench.data.cache import FeatureCache, hash_file, spec_key
from bench.data.features import extract
from bench.data.frontend import FEATURE_VERSION, extract_file

SPEC = FeatureSpec("logmel", 16000, 0.25, n_fft=512, hop_length=256, n_mels=32)


def noise(seed: int, n: int = 4000) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, n).astype(np.float32)


@pytest.fixture
def clips(tmp_path) -> list[Path]:
    folder = tmp_path / "audio"
    folder.mkdir()
    paths = []
    for i in range(4):
        p = folder / f"clip{i}.wav"
        sf.write(str(p), noise(i), 16000, subtype="PCM_16")
        paths.append(p)
    return paths


@pytest.fixture
def cache_folder(tmp_path) -> Path:
    return tmp_path / "cache"


def run(paths, cache, spec=SPEC):
    return extract(paths, spec, cache, workers=1, progress=False)


def reference(paths, spec=SPEC) -> np.ndarray:
    return np.stack([extract_file(p, spec) for p in paths])


def test_second_extraction_hits(clips, cache_folder):
    cache = FeatureCache(cache_folder)
    first = run(clips, cache)
    assert (first.hits, first.misses) == (0, len(clips))
    second = run(clips, cache)
    assert (second.hits, second.misses) == (len(clips), 0)
    np.testing.assert_array_equal(first.x, second.x)
    np.testing.assert_array_equal(first.x, reference(clips))
    cache.close()
    # persisted: a new process (here: a new cache object) hits too
    reopened = FeatureCache(cache_folder)
    third = run(clips, reopened)
    assert (third.hits, third.misses) == (len(clips), 0)
    np.testing.assert_array_equal(first.x, third.x)
    assert reopened.rebuilt == 0 and reopened.moved_aside == []


@pytest.mark.parametrize(
    "change",
    [dict(n_mels=40), dict(f_min=20.0), dict(f_max=7000.0), dict(top_db=60.0),
     dict(hop_length=128), dict(crop="center"), dict(kind="mfcc"), dict(n_fft=1024)],
)
def test_changed_frontend_parameter_misses(clips, cache_folder, change):
    cache = FeatureCache(cache_folder)
    run(clips, cache)
    other = dataclasses.replace(SPEC, **change)
    assert spec_key(other) != spec_key(SPEC)
    changed = run(clips, cache, other)
    assert (changed.hits, changed.misses) == (0, len(clips))
    np.testing.assert_array_equal(changed.x, reference(clips, other))
    # and the original entries are still there
    assert run(clips, cache).hits == len(clips)


def test_touch_without_change_hits(clips, cache_folder):
    cache = FeatureCache(cache_folder)
    first = run(clips, cache)
    for p in clips:
        st = p.stat()
        os.utime(p, ns=(st.st_atime_ns + 10**9, st.st_mtime_ns + 7 * 10**9))
        assert p.stat().st_mtime_ns != st.st_mtime_ns
    again = run(clips, cache)
    assert (again.hits, again.misses) == (len(clips), 0)
    np.testing.assert_array_equal(first.x, again.x)


def test_new_bytes_under_old_name_miss(clips, cache_folder):
    cache = FeatureCache(cache_folder)
    before = run(clips, cache)
    target = clips[1]
    st = target.stat()
    # same length, same size, and the old mtime put back: only the bytes differ
    sf.write(str(target), noise(99), 16000, subtype="PCM_16")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert target.stat().st_size == st.st_size and target.stat().st_mtime_ns == st.st_mtime_ns
    after = run(clips, cache)
    assert (after.hits, after.misses) == (len(clips) - 1, 1)
    np.testing.assert_array_equal(after.x[1], extract_file(target, SPEC))
    assert not np.array_equal(after.x[1], before.x[1])


def test_new_bytes_miss_even_when_the_stat_shortcut_is_trusted(clips, cache_folder, monkeypatch):
    # pretend every recorded stat is old enough to trust (no racy-clean re-hash)
    monkeypatch.setattr(bench.data.cache, "_RACY_NS", -(10**18))
    cache = FeatureCache(cache_folder)
    run(clips, cache)
    target = clips[2]
    st = target.stat()
    sf.write(str(target), noise(123), 16000, subtype="PCM_16")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime as before
    after = run(clips, cache)
    assert after.misses == 1, "the inode change time must give the rewrite away"
    np.testing.assert_array_equal(after.x[2], extract_file(target, SPEC))


def test_stat_shortcut_skips_rehash_and_racy_files_are_rehashed(clips, cache_folder, monkeypatch):
    calls = []
    real = bench.data.cache.hash_file
    monkeypatch.setattr(bench.data.cache, "hash_file", lambda p: calls.append(p) or real(p))
    cache = FeatureCache(cache_folder)
    run(clips, cache)
    assert len(calls) == len(clips)
    # just written: a change within the same timestamp tick would be invisible, so
    # the shortcut is not trusted yet and the bytes are read again
    calls.clear()
    assert run(clips, cache).hits == len(clips)
    assert len(calls) == len(clips)
    # once trusted, unchanged files are not read again
    monkeypatch.setattr(bench.data.cache, "_RACY_NS", -(10**18))
    calls.clear()
    assert run(clips, cache).hits == len(clips)
    assert calls == []
    # a damaged stat row is not trusted
    with contextlib.closing(sqlite3.connect(cache.path)) as db, db:
        db.execute("UPDATE file_hashes SET content = 'f' || substr(content, 2)")
    calls.clear()
    assert run(clips, cache).hits == len(clips)
    assert len(calls) == len(clips)


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE features SET data = zeroblob(length(data)) WHERE rowid = (SELECT min(rowid) FROM features)",
        "UPDATE features SET checksum = '0000000000000000' WHERE rowid = (SELECT min(rowid) FROM features)",
        "UPDATE features SET data = substr(data, 1, 100) WHERE rowid = (SELECT min(rowid) FROM features)",
        # a plausible but wrong shape with the same number of values
        "UPDATE features SET shape = '1,' || (32 * 16) || ',1' WHERE rowid = (SELECT min(rowid) FROM features)",
        "UPDATE features SET shape = 'garbage' WHERE rowid = (SELECT min(rowid) FROM features)",
        "UPDATE features SET data = NULL WHERE rowid = (SELECT min(rowid) FROM features)",
    ],
)
def test_damaged_entry_is_recomputed(clips, cache_folder, damage):
    cache = FeatureCache(cache_folder)
    good = run(clips, cache).x
    assert SPEC.shape == (1, 32, 16)
    with contextlib.closing(sqlite3.connect(cache.path)) as db, db:
        assert db.execute(damage).rowcount == 1
    again = run(clips, cache)
    assert cache.rebuilt == 1
    assert (again.hits, again.misses) == (len(clips) - 1, 1)
    np.testing.assert_array_equal(again.x, good)
    # the recomputed entry replaced the damaged one
    fresh = FeatureCache(cache_folder)
    assert run(clips, fresh).hits == len(clips) and fresh.rebuilt == 0


def _damaged_aside(cache_folder: Path) -> list[Path]:
    return sorted(p for p in cache_folder.iterdir() if ".damaged-" in p.name and "-wal" not in p.name
                  and "-shm" not in p.name)


@pytest.mark.parametrize("how", ["truncate_half", "truncate_header", "garbage", "zeros"])
def test_damaged_cache_file_is_moved_aside_and_rebuilt(clips, cache_folder, how):
    cache = FeatureCache(cache_folder)
    good = run(clips, cache).x
    cache.close()
    db = cache_folder / "features.sqlite"
    raw = db.read_bytes()
    assert len(raw) > 4096
    damaged = {
        "truncate_half": raw[: len(raw) // 2],
        "truncate_header": raw[:50],
        "garbage": os.urandom(len(raw)),
        "zeros": bytes(len(raw)),
    }[how]
    db.write_bytes(damaged)

    reopened = FeatureCache(cache_folder)
    again = run(clips, reopened)
    np.testing.assert_array_equal(again.x, good)
    assert again.misses == len(clips), "nothing from the damaged file is trusted"
    aside = _damaged_aside(cache_folder)
    assert aside == reopened.moved_aside and len(aside) == 1
    assert aside[0].read_bytes() == damaged, "the damaged file is kept for inspection"
    reopened.close()
    # the rebuilt cache is healthy
    final = FeatureCache(cache_folder)
    assert run(clips, final).hits == len(clips)
    assert final.moved_aside == []


def test_damage_found_mid_run_rebuilds_instead_of_crashing(tmp_path, cache_folder):
    paths = []
    for i in range(24):
        p = tmp_path / f"c{i}.wav"
        sf.write(str(p), noise(i), 16000, subtype="FLOAT")
        paths.append(p)
    cache = FeatureCache(cache_folder)
    good = run(paths, cache).x
    cache.close()
    db = cache_folder / "features.sqlite"
    raw = bytearray(db.read_bytes())
    # garbage over the middle pages: the header and schema still read, the data does not
    mid = len(raw) // 2
    raw[mid : mid + 3 * 4096] = np.random.default_rng(0).integers(0, 256, 3 * 4096, np.uint8).tobytes()
    db.write_bytes(bytes(raw))
    reopened = FeatureCache(cache_folder)
    again = run(paths, reopened)
    np.testing.assert_array_equal(again.x, good)
    assert reopened.moved_aside or reopened.rebuilt, "the damage was noticed"
    assert again.misses > 0


def test_feature_version_change_misses(clips, cache_folder, monkeypatch):
    cache = FeatureCache(cache_folder)
    run(clips, cache)
    old_key = spec_key(SPEC)
    monkeypatch.setattr(bench.data.cache, "FEATURE_VERSION", FEATURE_VERSION + 1)
    assert spec_key(SPEC) != old_key
    bumped = run(clips, cache)
    assert (bumped.hits, bumped.misses) == (0, len(clips))
    assert run(clips, cache).hits == len(clips)


def test_content_hash_is_by_bytes_not_name(clips, cache_folder, tmp_path):
    cache = FeatureCache(cache_folder)
    copy = tmp_path / "elsewhere.wav"
    copy.write_bytes(clips[0].read_bytes())
    assert cache.content_hash(copy) == cache.content_hash(clips[0]) == hash_file(clips[0])
    assert cache.content_hash(clips[1]) != cache.content_hash(clips[0])
    run(clips, cache)
    # the same bytes under a new name hit
    assert run([copy], cache).hits == 1
