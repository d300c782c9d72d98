"""esc50_gan end to end through the CLI: a tiny cgan run is trained, rendered, judged and scored; its
clips are kept; `bench generate` makes more; the settings and the record hold what they should."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import run_cli

from bench.core import kinds, metrics
from bench.core.config import ConfigError
from bench.core.contracts import TaskKind
from bench.report import generation_data as GD
from bench.run.resolve import resolve

ASSESSED = ("kernel_run", "fad_inf_run", "position_run", "kernel_logmel", "fad_inf_logmel", "position_logmel",
            "gan_test_accuracy", "near_copy_share")


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory, cache_dir) -> Path:
    work = tmp_path_factory.mktemp("gan")
    run_cli("run", "task=esc50_gan", "solution=cgan", "preset=tiny", "tstr=true", "progress=false",
            cwd=work, cache=cache_dir)
    (run_dir,) = (work / "runs").iterdir()
    return run_dir


def test_a_round_is_scored_in_both_embeddings_with_its_controls(gan_run):
    result = json.loads((gan_run / "result.json").read_text())
    assert result["task_kind"] == "generation" and result["metric"] == "kernel_run"
    fold = result["folds"][0]
    for name in ASSESSED + ("tstr_accuracy", "trtr_accuracy", "frechet_logmel"):
        assert np.isfinite(fold["metrics"][name]), name
    assert fold["score"] == fold["metrics"]["kernel_run"]
    a = fold["assessment"]
    for emb in ("run", "logmel"):
        s = a["scores"][emb]
        # the real floor sits below the noise ceiling in both embeddings, or the scale is meaningless
        assert s["floor"]["kernel"] < s["ceiling"]["kernel"]
        record = json.loads((gan_run / "folds" / fold["name"] / s["file"]).read_text())
        assert {"real", "vocoded", "generated", "pink_noise", "white_noise", "silence"} <= set(record["scores"])
        assert record["name"] == f"{gan_run.name}-{fold['name']}-{emb}"
    # the judge never saw the scored fold: it trained on the training folds' clips only
    assert a["judge"]["solution"] == "audiocnn" and str(fold["n_train"]) in a["judge"]["what"]
    assert a["tstr"]["n_generated"] == a["generated"]["n"] and 0 <= fold["metrics"]["trtr_accuracy"] <= 1
    assert set(a["memorisation"]) >= {"flagged", "near_copies", "p_value"}


def test_generated_clips_are_kept_as_wavs_at_the_tasks_rate(gan_run):
    result = json.loads((gan_run / "result.json").read_text())
    fold = result["folds"][0]
    gen = fold["assessment"]["generated"]
    folder = gan_run / "folds" / fold["name"] / "generated"
    assert gen["n"] == fold["n_test"] == len(gen["files"])
    classes = set(result["classes"])
    for rel in gen["files"]:
        data, rate = sf.read(folder / rel)
        assert rate == result["config"]["task"]["sample_rate"] and rel.split("/")[0] in classes
        assert len(data) == round(rate * result["config"]["task"]["clip_seconds"]) and np.abs(data).max() > 0
    with np.load(folder / "features.npz") as d:
        assert d["features"].shape[0] == gen["n"] and d["features"].ndim == 4


def test_bench_generate_writes_wavs_and_log_mels_reproducibly(gan_run, tmp_path, cache_dir):
    for out in ("a", "b"):
        proc = run_cli("generate", f"run={gan_run}", "class=dog", "n=3", f"out={tmp_path / out}", "seed=4",
                       cwd=tmp_path, cache=cache_dir)
        assert "wrote 3 clip(s)" in proc.stdout
    wavs = sorted((tmp_path / "a" / "dog").glob("*.wav"))
    assert [p.name for p in wavs] == ["dog-001.wav", "dog-002.wav", "dog-003.wav"]
    for p in wavs:
        assert p.read_bytes() == (tmp_path / "b" / "dog" / p.name).read_bytes()
        logmel = np.load(p.with_suffix(".npy"))
        data, rate = sf.read(p)
        assert logmel.ndim == 2 and len(data) > 0 and rate > 0
    # a different seed gives different clips
    run_cli("generate", f"run={gan_run}", "class=dog", "n=1", f"out={tmp_path / 'c'}", "seed=5",
            cwd=tmp_path, cache=cache_dir)
    assert (tmp_path / "c" / "dog" / "dog-001.wav").read_bytes() != wavs[0].read_bytes()


def test_bench_generate_refuses_an_unknown_class_naming_the_near_one(gan_run, tmp_path, cache_dir):
    proc = run_cli("generate", f"run={gan_run}", "class=dgo", f"out={tmp_path / 'x'}", cwd=tmp_path,
                   cache=cache_dir, check=False)
    assert proc.returncode != 0 and "did you mean 'dog'" in proc.stderr and not (tmp_path / "x").exists()
    proc = run_cli("generate", f"run={gan_run}", "clas=dog", f"out={tmp_path / 'x'}", cwd=tmp_path,
                   cache=cache_dir, check=False)
    assert proc.returncode != 0 and "did you mean 'class'" in proc.stderr


def test_bench_generate_refuses_a_run_that_does_not_generate(tmp_path, cache_dir):
    run_cli("run", "task=kaggle5", "solution=baseline", "preset=tiny", "progress=false", "report=false",
            cwd=tmp_path, cache=cache_dir)
    (run_dir,) = (tmp_path / "runs").iterdir()
    proc = run_cli("generate", f"run={run_dir}", f"out={tmp_path / 'x'}", cwd=tmp_path, cache=cache_dir,
                   check=False)
    assert proc.returncode != 0 and "does not generate" in proc.stderr


def test_the_judge_must_be_a_classifier_and_is_spelt_right():
    with pytest.raises(ConfigError, match="did you mean 'audiocnn'"):
        resolve({"task": "esc50_gan", "solution": "cgan", "judge": "audiocn"})
    with pytest.raises(ConfigError, match="judge=bcegan does not classify"):
        resolve({"task": "esc50_gan", "solution": "cgan", "judge": "bcegan"})


def test_assessed_metrics_are_left_to_the_assessment():
    m = metrics.get("kernel_run")
    assert m.assessed and m.direction == "min" and m.needs == "features"
    with pytest.raises(TypeError, match="Task.assess"):
        m(np.zeros((2, 1, 2, 2)), np.zeros((2, 1, 2, 2)))
    x = np.random.default_rng(0).normal(size=(6, 1, 3, 4))
    got = kinds.of(TaskKind.GENERATION).score(("kernel_run", "frechet_logmel"), x, x + 1)
    assert list(got) == ["frechet_logmel"]


def test_report_data_links_only_files_inside_the_folds_generated_folder(gan_run, tmp_path):
    result = json.loads((gan_run / "result.json").read_text())
    g = GD.generation(result, gan_run)
    assert g is not None and g.examples is not None and g.players is not None
    assert len(g.examples.labels) == len(set(g.examples.labels)) == len(result["classes"])
    assert {r.embedding for r in g.scores} == {"run", "logmel"} and len(g.records) == 2
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"x")
    fold = result["folds"][0]
    fold["assessment"]["generated"]["files"] = ["../../../../" + str(outside), "dog/../../model/x.wav"]
    assert GD.generation(result, gan_run).players is None
    assert GD.generation({"folds": [{"name": "1", "metrics": {}}]}, gan_run) is None
