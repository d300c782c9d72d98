"""The scores rank what they should: real-vs-real < vocoded < noise, and shuffled labels worse than true ones.

On clips of the embedded ESC-50 generator, with the `logmel` embedding and a `run:`
embedding (a classifier trained on a separate draw of the generator, so it never heard
the scored clips). The default embedded set has 200 clips, 100 a half: fewer than the
128 dimensions of either embedding, and at that size the vocoder floor cannot be told
from the real floor (measured: the order flips with the half split). So these tests
draw 400 one-second clips (200 a half) from the same generator, and read the mean over
six half splits, as the floors are meant: expected values, not one split's luck.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from bench.core.distances import frechet_distance, kernel_distance, median_bandwidth
from bench.scoring import clipsets
from bench.scoring import controls as C
from bench.scoring.embeddings import create
from bench.scoring.suite import Settings, score_sets

pytestmark = pytest.mark.slow
SPLITS = 6


def _draw(root: Path, **kw) -> Path:
    from tasks.esc50.synth import generate

    generate(root / "ESC-50-master", seconds=1.0, **kw)
    return root / "ESC-50-master"


@pytest.fixture(scope="module")
def scored(tmp_path_factory, cache_dir):
    base = tmp_path_factory.mktemp("ranking")
    clips = _draw(base / "scored", sources=2, takes=4, seed=1)  # 400 clips
    learnt = _draw(base / "learnt", sources=2, takes=2, seed=0)  # 200 other clips for the classifier
    out = run_cli("run", "task=esc50", "solution=audiocnn", "preset=tiny", "folds=5", f"data_dir={learnt}",
                  "clip_seconds=1", "progress=false", cwd=base, cache=cache_dir)
    run_dir = base / out.stdout.strip().splitlines()[-1]
    real = clipsets.load("task:esc50", "real", data_dir=clips)
    return {"real": real, "vocoded": C.vocoded(real), "pink": C.noise_like(real, "pink", 0),
            "white": C.noise_like(real, "white", 0), "run": f"run:{run_dir}"}


@pytest.mark.parametrize("embedding", ["logmel", "run"])
def test_real_floor_below_vocoder_floor_below_noise(scored, embedding):
    emb = create(scored.get(embedding, embedding))
    rows = {k: emb.embed(scored[k].at(emb.sample_rate)) for k in ("real", "vocoded", "pink", "white")}
    fd, kd = [], []
    for seed in range(SPLITS):
        a, b = C.halves(scored["real"], seed)
        ref = rows["real"][a]
        bandwidth = median_bandwidth(ref)
        # noise and vocoded clips are made clip by clip, so half B's rows of them are half B's controls
        fd.append([frechet_distance(ref, rows[k][b]) for k in ("real", "vocoded", "pink", "white")])
        kd.append([kernel_distance(ref, rows[k][b], bandwidth=bandwidth) for k in ("real", "vocoded", "pink", "white")])
    for name, values in (("Fréchet", np.mean(fd, 0)), ("kernel", np.mean(kd, 0))):
        real, vocoded, pink, white = values
        assert real < vocoded < min(pink, white), f"{embedding} {name}: real {real}, vocoded {vocoded}, noise {pink}, {white}"
        # the floors are floors: far nearer each other than either is to noise
        assert vocoded - real < 0.1 * (min(pink, white) - vocoded), f"{embedding} {name}: {values}"


def test_shuffled_labels_score_worse_per_class_only_when_the_generator_obeys_its_condition(scored):
    """Takes C and D of every recording stand in for a generator that reproduces each class (it obeys its
    condition); the same clips under random labels, for one that ignores it. Clips of other recordings than
    the reference's would not do: across recording conditions the embedded classes overlap (a nearest
    class mean in logmel space names 46% of them), so per-class distances at 20 clips a class cannot
    tell the labels apart, whoever made the clips."""
    real = scored["real"]
    take = np.array([Path(o).name.split("-")[2] for o in real.origins])
    reference = real.subset(np.flatnonzero(np.isin(take, ["A", "B"])), "real")
    obeys = real.subset(np.flatnonzero(~np.isin(take, ["A", "B"])), "generated")
    ignores = obeys.subset(range(len(obeys)))
    ignores.labels = list(np.random.default_rng(0).permutation(np.array(obeys.labels, dtype=object)))
    settings = Settings(per_class=True, controls=False, bootstrap=0)
    check = {name: score_sets(reference, gen, create("logmel"), settings, log=logging.getLogger("test"))
             ["per_class"]["condition_check"] for name, gen in (("obeys", obeys), ("ignores", ignores))}
    assert check["obeys"]["classes_scored"] == 10 and check["obeys"]["obeys"], check
    assert check["obeys"]["share_worse_when_shuffled"] >= 0.9 and check["obeys"]["wilcoxon_p"] < 0.01, check
    assert not check["ignores"]["obeys"] and check["ignores"]["wilcoxon_p"] > 0.05, check
