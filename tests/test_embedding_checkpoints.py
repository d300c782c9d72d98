"""VGGish and PANNs Cnn14 embeddings against checkpoints laid out like the released files.

The checkpoints (tests/checkpoints.py) have the key names and shapes of torchvggish's
pytorch_vggish.pth and audioset_tagging_cnn's Cnn14_mAP=0.431.pth, written out by hand,
so a renamed or reshaped layer in bench fails here. Files for the error cases only need the right keys and shapes, never the values, so
each of their tensors is one stored zero expanded to its shape (a few KB on disk).
"""

from __future__ import annotations

import checkpoints as K
import numpy as np
import pytest
import torch
from checkpoints import CNN14_SHAPES, VGGISH_SHAPES, cheap_state

from bench.core.config import ConfigError
from bench.scoring.embeddings import EmbeddingOptions, create, panns, vggish

vggish_file, cnn14_file = K.vggish_file, K.cnn14_file  # fixtures


@pytest.fixture(scope="module")
def vggish_emb(vggish_file):
    return create("vggish", EmbeddingOptions(weights=vggish_file, batch_size=2))


@pytest.fixture(scope="module")
def cnn14_emb(cnn14_file):
    return create("panns", EmbeddingOptions(weights=cnn14_file))


def _clips(rate: int) -> list[np.ndarray]:
    t = np.arange(int(1.5 * rate)) / rate
    noise = np.random.default_rng(0).normal(0, 0.1, 2 * rate).astype(np.float32)
    return [(0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), noise, noise[: rate]]


# --- loading and embedding -------------------------------------------------------------


def test_vggish_embeds_clips_deterministically(vggish_emb):
    clips = _clips(16000)
    rows = vggish_emb.embed(clips)
    assert rows.shape == (3, 128) and np.isfinite(rows).all()
    assert np.array_equal(rows, vggish_emb.embed(clips))
    assert (rows >= 0).all()  # the final ReLU is kept


def test_vggish_row_is_the_mean_of_its_examples(vggish_emb):
    clip = _clips(16000)[1]  # 2 s: two examples
    examples = torch.from_numpy(vggish.examples(clip))[:, None]
    assert len(examples) == 2
    with torch.no_grad():
        expected = vggish_emb.net(examples).double().mean(0).numpy()
    np.testing.assert_allclose(vggish_emb.embed([clip])[0], expected, rtol=1e-5, atol=1e-6)


def test_vggish_short_clip_is_padded_to_one_example(vggish_emb):
    short = _clips(16000)[0][:8000]  # 0.5 s
    row = vggish_emb.embed([short])
    assert row.shape == (1, 128)
    padded = np.pad(short, (0, vggish.MIN_SAMPLES - short.size))
    assert np.array_equal(row, vggish_emb.embed([padded]))


def test_cnn14_embeds_clips_deterministically(cnn14_emb):
    clips = _clips(32000)
    rows = cnn14_emb.embed(clips)
    assert rows.shape == (3, 2048) and np.isfinite(rows).all()
    assert np.array_equal(rows, cnn14_emb.embed(clips))
    assert len({r.tobytes() for r in rows}) == 3  # different clips, different vectors
    tiny = cnn14_emb.embed([clips[0][:1000]])  # padded up to one pooled frame
    assert tiny.shape == (1, 2048) and np.isfinite(tiny).all()


def test_cnn14_bare_state_dict_loads_too(tmp_path):
    path = tmp_path / "Cnn14_bare.pth"
    torch.save(cheap_state(CNN14_SHAPES), path)
    emb = panns.PANNsCnn14("panns", EmbeddingOptions(weights=path))
    assert emb.describe()["dim"] == 2048


def test_vggish_ignores_pca_params_and_says_so(tmp_path):
    path = tmp_path / "vggish_with_pca.pth"
    torch.save({**cheap_state(VGGISH_SHAPES), "pproc.pca_matrix": torch.zeros(128, 128),
                "pproc.pca_means": torch.zeros(128, 1)}, path)
    described = create("vggish", EmbeddingOptions(weights=path)).describe()
    assert described["dim"] == 128 and described["sample_rate"] == 16000
    assert described["sha256"] and described["bytes"] == path.stat().st_size
    assert "pproc.pca_matrix" in described["ignored_keys"] and "PCA" in described["vector"]


# --- refusals --------------------------------------------------------------------------

CASES = {"vggish": (VGGISH_SHAPES, "features.8.weight"), "panns": (CNN14_SHAPES, "conv_block3.bn2.running_var")}


@pytest.mark.parametrize("name", CASES)
def test_missing_key_is_named(tmp_path, name):
    shapes, key = CASES[name]
    path = tmp_path / "missing.pth"
    torch.save({k: v for k, v in cheap_state(shapes).items() if k != key}, path)
    with pytest.raises(ConfigError, match="missing") as err:
        create(name, EmbeddingOptions(weights=path))
    assert str(path) in str(err.value) and key in str(err.value) and "weights=" in str(err.value)


@pytest.mark.parametrize("name", CASES)
def test_extra_key_is_named(tmp_path, name):
    shapes, _ = CASES[name]
    path = tmp_path / "extra.pth"
    torch.save({**cheap_state(shapes), "head.weight": torch.zeros(10, 128)}, path)
    with pytest.raises(ConfigError, match="unexpected") as err:
        create(name, EmbeddingOptions(weights=path))
    assert str(path) in str(err.value) and "head.weight" in str(err.value)


@pytest.mark.parametrize("name", CASES)
def test_wrong_shape_names_both_shapes(tmp_path, name):
    shapes, key = CASES[name]
    path = tmp_path / "shape.pth"
    wrong = tuple(d + 1 for d in shapes[key])
    torch.save({**cheap_state(shapes), key: torch.zeros(1).expand(wrong)}, path)
    with pytest.raises(ConfigError) as err:
        create(name, EmbeddingOptions(weights=path))
    message = str(err.value)
    assert str(path) in message and key in message
    assert str(wrong) in message and str(shapes[key]) in message


@pytest.mark.parametrize("name", CASES)
def test_missing_file_and_missing_setting(tmp_path, name):
    path = tmp_path / "nowhere.pth"
    with pytest.raises(ConfigError, match="not found") as err:
        create(name, EmbeddingOptions(weights=path))
    assert str(path) in str(err.value)
    with pytest.raises(ConfigError, match="weights=") as err:
        create(name, EmbeddingOptions())
    assert "nothing is downloaded" in str(err.value)


# --- frontends -------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0.5, 0.975, 1.0, 2.0, 3.0, 10.0])
def test_vggish_examples_are_non_overlapping_096s(seconds):
    n = round(seconds * 16000)
    got = vggish.examples(np.random.default_rng(1).normal(size=n))
    frames = 1 + (n - 400) // 160  # 25 ms windows every 10 ms, no padding
    assert got.shape == (frames // 96, 96, 64)
    if seconds == 3.0:
        assert len(got) == 3
    if seconds == 0.975:  # the shortest clip with one example, the length clips are padded to
        assert n == vggish.MIN_SAMPLES and len(got) == 1


def _hz_to_mel(hz):
    return 1127.0 * np.log(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (np.exp(np.asarray(mel) / 1127.0) - 1.0)


def test_vggish_mel_filterbank():
    bank = vggish.mel_filterbank()
    assert bank.shape == (257, 64)
    assert not bank[0].any()  # DC
    freqs = np.linspace(0, 8000, 257)
    inside = (freqs > 125) & (freqs < 7500)
    assert not bank[~inside].any() and (bank[inside].sum(axis=0) > 0).all()
    centres = _mel_to_hz(np.linspace(_hz_to_mel(125), _hz_to_mel(7500), 66)[1:-1])
    assert (np.abs(freqs[bank.argmax(axis=0)] - centres) <= 8000 / 256).all()
    # on a fine frequency grid every triangle peaks at 1, at its centre frequency
    fine = vggish.mel_filterbank(n_bins=2 ** 16 + 1)
    fine_freqs = np.linspace(0, 8000, 2 ** 16 + 1)
    np.testing.assert_allclose(fine_freqs[fine.argmax(axis=0)], centres, atol=8000 / 2 ** 16)
    assert (fine.max(axis=0) > 0.99).all() and fine.max() <= 1.0


def test_cnn14_frontend_matches_torch_stft(cnn14_emb):
    wave = torch.from_numpy(np.stack([clip[:32000] for clip in _clips(32000)[:2]]))
    with torch.no_grad():
        ours = cnn14_emb.net.power(wave)
    spec = torch.stft(wave, 1024, 320, window=torch.hann_window(1024, periodic=True), center=True,
                      pad_mode="reflect", return_complex=True)
    expected = (spec.abs() ** 2).transpose(1, 2)
    assert ours.shape == expected.shape == (2, 32000 // 320 + 1, 513)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4 * float(expected.max()))
