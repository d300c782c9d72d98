"""`bench score-audio` through the real CLI on the embedded ESC-50 clips, in class folders as a user keeps them.

Real clips stand in for generated ones, so the "generated" set must land on the real
floor, far below the noise and silence ceilings; a "generator" that returns its
training clips must be flagged. Every embedding runs through the command once.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import checkpoints as K
import numpy as np
import pytest
from conftest import run_cli

from bench.scoring import clipsets
from bench.scoring.suite import CEILINGS

pytestmark = pytest.mark.slow
vggish_file, cnn14_file = K.vggish_file, K.cnn14_file  # fixtures


@pytest.fixture(scope="module")
def esc50(cache_dir):
    from bench.run.resolve import resolve_task

    task_cls, cfg, _ = resolve_task({"task": "esc50"})
    return task_cls(cfg).load(cache_dir, logging.getLogger("test"))


def class_folders(root: Path, data, folds: set[int], classes: tuple[str, ...] | None = None) -> Path:
    """root/<class>/<file>: links to the clips of `folds` (of `classes`, or all)."""
    for clip in data.clips:
        if clip.fold in folds and (classes is None or clip.label in classes):
            link = root / clip.label / clip.path.name
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(clip.path, link)
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory, esc50) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("clips")
    return {"real": class_folders(base / "real", esc50, {4, 5}),
            "generated": class_folders(base / "generated", esc50, {1, 2}),
            "train": class_folders(base / "train", esc50, {1, 2, 3}),
            # 16 and 8 clips of two classes, for the embeddings that take seconds a clip on a CPU
            "few_real": class_folders(base / "few_real", esc50, {4, 5}, ("dog", "rain")),
            "few_generated": class_folders(base / "few_generated", esc50, {1}, ("dog", "rain"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cache_dir) -> dict[str, Path]:
    """A classifier trained on folds 1-4 (its fold-5 model never saw fold 5), and a two-fold baseline."""
    root = tmp_path_factory.mktemp("runs")

    def bench(*args: str) -> Path:
        return root / run_cli("run", *args, "progress=false", cwd=root, cache=cache_dir).stdout.strip().splitlines()[-1]

    return {"audiocnn": bench("task=esc50", "solution=audiocnn", "preset=tiny", "folds=5"),
            "two_folds": bench("task=esc50", "solution=baseline", "folds=4,5")}


@pytest.fixture
def score(tmp_path, cache_dir, monkeypatch, capsys):
    """`bench score-audio` in this process (the same code as the command, without starting Python and torch
    again for every call); returns stdout, or raises with stderr when it fails."""
    from bench.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(cache_dir))

    def call(*args: str) -> str:
        rc = main(["score-audio", *args])
        out = capsys.readouterr()
        assert rc == 0, out.err
        return out.out

    return call


def record(cwd: Path, name: str) -> dict:
    return json.loads((cwd / "scores" / f"{name}.json").read_text())


def value(entry: dict, metric: str) -> float:
    v = entry[metric]
    return v["value"] if isinstance(v, dict) else v


def test_two_real_folders_land_on_the_real_floor_far_below_every_ceiling(cli, tmp_path, folders):
    out = cli("score-audio", f"real={folders['real']}", f"generated={folders['generated']}", "per_class=true",
              "bootstrap=20", "name=real-vs-real").stdout
    r = record(tmp_path, "real-vs-real")
    assert r["schema"] == "bench.score/1" and r["embedding"]["name"] == "logmel" and r["dim"] == 128
    assert r["order"] == ["real", "vocoded", "generated", "pink_noise", "white_noise", "silence"]
    # one reference, and every set at the same number of clips
    assert r["reference"]["n"] == 40 and r["n"] == 40
    assert {k: s["n"] for k, s in r["sets"].items()} == dict.fromkeys(r["order"], 40)
    assert {e["n"] for e in r["scores"].values()} == {40}
    assert r["sets"]["generated"]["seconds_mean"] == pytest.approx(5.0)
    for metric in ("frechet", "kernel"):
        top = max(value(r["scores"][k], metric) for k in ("real", "vocoded", "generated"))
        assert top < min(value(r["scores"][c], metric) for c in CEILINGS), metric
        assert abs(r["position"][metric]) < 0.3, metric  # real clips stand next to the real floor
    inf = r["scores"]["generated"]["frechet_inf"]
    assert inf["interval"]["replicates"] == 20 and len(inf["ns"]) >= 3 and 0 <= inf["r2"] <= 1
    assert set(r["scores"]["generated"]["prdc"]) == {"precision", "recall", "density", "coverage", "k"}
    classes = r["per_class"]["classes"]
    assert len(classes) == 10 and all(c["n"] == 4 and c["n_reference"] == 4 for c in classes.values())
    assert all({"real", "generated", "shuffled", "white_noise"} <= set(c["scores"]) for c in classes.values())
    assert r["per_class"]["condition_check"]["classes_scored"] == 10
    # the table, the JSON and the page
    assert "real vs real (floor)" in out and "silence (ceiling)" in out and "scores/real-vs-real.json" in out
    page = (tmp_path / "reports" / "scores" / "real-vs-real.html").read_text()
    assert "Between floor and ceiling" in page and "fig-ladder-kernel" in page and "fig-classes" in page
    assert "real-vs-real.html" in (tmp_path / "reports" / "index.html").read_text()


def test_a_generator_that_returns_its_training_clips_is_flagged(score, tmp_path, folders, runs):
    """train= is what the generator learnt from: generated copies of it are memorised, the held-out
    real clips are not. The judge (GAN-test) reads the class folders."""
    score(f"real={folders['real']}", f"generated={folders['train']}", f"train={folders['train']}",
        "controls=false", "bootstrap=0", "name=copies")
    copies = record(tmp_path, "copies")["memorisation"]
    assert copies["flagged"] and copies["near_copies"] == 1.0 and copies["generated_median"] == pytest.approx(0.0)
    assert len(copies["generated"]) == 120 and copies["n_heldout"] == 80
    score(f"real={folders['real']}", f"generated={folders['generated']}", "train=task:esc50:3",
        f"judge=run:{runs['audiocnn']}", "controls=false", "bootstrap=0", "name=fresh")
    fresh = record(tmp_path, "fresh")
    assert not fresh["memorisation"]["flagged"] and fresh["memorisation"]["near_copies"] < 0.1
    gan = fresh["gan_test"]
    assert gan["generated"]["n"] == 80 and gan["real"]["n"] == 80 and gan["chance"] == pytest.approx(0.1)
    assert set(gan["generated"]["per_class"]) == set(gan["classes"])
    assert 0.0 <= gan["generated"]["accuracy"] <= 1.0


@pytest.mark.parametrize("embedding,options,dim", [
    ("random", (), 128),
    ("crepe", ("crepe_model=tiny", "hop_seconds=0.25"), 256),
    ("run", ("run_fold=fold5",), 128),
    ("vggish", (), 128),
    ("panns", (), 2048),
])
def test_every_embedding_scores_through_the_command(score, tmp_path, folders, runs, vggish_file, cnn14_file,
                                                   embedding, options, dim):
    name = {"run": f"run:{runs['audiocnn']}"}.get(embedding, embedding)
    weights = {"vggish": (f"weights={vggish_file}",), "panns": (f"weights={cnn14_file}",)}.get(embedding, ())
    score(f"real={folders['few_real']}", f"generated={folders['few_generated']}", f"embedding={name}",
        *options, *weights, "per_class=true", "controls=false", "bootstrap=5", f"name=emb-{embedding}")
    r = record(tmp_path, f"emb-{embedding}")
    assert r["embedding"]["name"] == name and r["dim"] == dim
    assert r["reference"]["source"] == str(folders["few_real"]) and r["n"] == 8
    assert np.isfinite([value(r["scores"][k], "kernel") for k in ("real", "generated")]).all()
    assert set(r["per_class"]["classes"]) == {"dog", "rain"}
    if embedding in ("vggish", "panns"):
        assert len(r["embedding"]["sha256"]) == 64
    if embedding == "run":
        assert r["embedding"]["fold"] == "fold5" and r["embedding"]["solution"] == "audiocnn"


def test_train_on_generated_test_on_real_beside_train_on_real(score, tmp_path, folders):
    score(f"real={folders['real']}", f"generated={folders['generated']}", f"train={folders['train']}",
        "tstr=baseline", "controls=false", "bootstrap=0", "name=tstr")
    t = record(tmp_path, "tstr")["train_on_generated"]
    assert t["solution"] == "baseline" and t["n_test"] == 80 and t["n_generated"] == 80 and t["n_real"] == 80
    # the "generated" clips are real here, so both classifiers learn the classes
    for side in ("train_on_generated", "train_on_real"):
        assert t[side]["n"] == 80 and t[side]["accuracy"] > 2 * t["chance"], side


def test_mistakes_stop_before_any_work_with_the_key_named(tmp_path, folders, runs, capsys, monkeypatch):
    from bench.cli import main

    monkeypatch.chdir(tmp_path)

    def fails(*args: str) -> str:
        assert main(["score-audio", *args]) != 0
        return capsys.readouterr().err

    real, gen = f"real={folders['real']}", f"generated={folders['generated']}"
    assert "did you mean 'embedding'" in fails(real, gen, "embeding=logmel")
    assert "did you mean 'logmel'" in fails(real, gen, "embedding=logmell")
    assert "missing generated=" in fails(real)
    assert "weights=" in fails(real, gen, "embedding=vggish") and "nothing is downloaded" in fails(real, gen, "embedding=panns")
    assert "run_fold=" in fails(real, gen, f"embedding=run:{runs['two_folds']}")
    assert "fold4, fold5" in fails(real, gen, f"embedding=run:{runs['two_folds']}", "run_fold=fold9")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no audio files" in fails(f"real={empty}", gen)
    assert "no fold 7" in fails("real=task:esc50:7", gen)
    assert "tstr= needs train=" in fails(real, gen, "tstr=baseline")
    assert "score-audio vocoder settings" in fails(real, gen, "vocoder_hop=2048")
    assert not (tmp_path / "scores").exists()
    assert main(["list", "score-audio"]) == 0
    listed = capsys.readouterr().out
    assert all(key in listed for key in ("embedding", "per_class", "vocoder_hop", "run_fold", "weights"))


def test_an_undecodable_file_is_named_and_skip_bad_scores_the_rest(cli, score, tmp_path, folders):
    bad = tmp_path / "gen"
    for path in sorted(folders["generated"].rglob("*.wav"))[:12]:
        (bad / path.parent.name).mkdir(parents=True, exist_ok=True)
        (bad / path.parent.name / path.name).symlink_to(path.resolve())
    (bad / "dog").mkdir(exist_ok=True)
    (bad / "dog" / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    proc = cli("score-audio", f"real={folders['real']}", f"generated={bad}", "controls=false", check=False)
    assert proc.returncode == 1 and "broken.wav" in proc.stderr and "skip_bad=true" in proc.stderr
    score(f"real={folders['real']}", f"generated={bad}", "controls=false", "skip_bad=true",
        "bootstrap=0", "name=skipped")
    assert record(tmp_path, "skipped")["n"] == 12


def test_clip_sets_keep_their_recordings_apart_when_halved(esc50, cache_dir):
    """Takes of one source recording are near copies: the real-vs-real floor halves by recording."""
    from bench.scoring.controls import halves

    real = clipsets.load("task:esc50", "real", cache_dir=cache_dir)
    a, b = halves(real, seed=0)
    assert set(a).isdisjoint(b) and len(a) + len(b) == len(real) == 200
    assert {real.groups[i] for i in a}.isdisjoint({real.groups[i] for i in b})
    for c in real.classes():
        rows = set(real.rows_of(c).tolist())
        assert len(rows & set(a)) == len(rows & set(b)) == 10
