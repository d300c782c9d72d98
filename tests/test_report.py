"""The HTML report: the numbers behind its figures, and the pages it writes.

Result records are built here rather than produced by a run, so these tests cover the
shapes a record can take (one fold, several folds, no history, no classes) in well
under a second.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from bench.report import figures as F
from bench.report import render_index, render_run

CLASSES = ["dog_bark", "siren", "car_horn", "drilling", "engine_idling"]
CONFUSION = [[9, 1, 0, 0, 0],
             [0, 7, 1, 0, 0],
             [1, 0, 6, 0, 0],
             [0, 0, 0, 8, 0],
             [0, 0, 0, 1, 4]]


def _history(n: int) -> list[dict]:
    return [{"epoch": e, "train_loss": 2.0 / e, "train_accuracy": 0.3 + e / 100,
             "valid_loss": 2.2 / e, "valid_accuracy": 0.25 + e / 100, "lr": 1e-3, "seconds": 6.0}
            for e in range(1, n + 1)]


def _fold(name: str, score: float, history: list[dict], confusion=None, best_epoch=None) -> dict:
    return {"name": name, "scored_on": "valid", "score": score,
            "metrics": {"accuracy": score, "macro_f1": score - 0.01},
            "history": history, "best_epoch": best_epoch, "resumed_from": None,
            "confusion": confusion, "n_train": 460, "n_valid": 38, "n_test": 0,
            "validation_note": "stratified 7.5% of the labelled training clips (seed 0)"}


def classification_result() -> dict:
    return {
        "run_id": "20261122-104501-kaggle5-audiocnn-3f9a1c2b",
        "created": "2026-11-22T10:45:01+00:00", "finished": "2026-11-22T10:48:04+00:00",
        "status": "finished", "task": "kaggle5", "task_kind": "classification", "solution": "audiocnn",
        "metric": "accuracy", "direction": "max", "score": 0.913, "std": None, "n_folds": 1,
        "metrics": {"accuracy": 0.913, "macro_f1": 0.905},
        "classes": CLASSES,
        "folds": [_fold("holdout", 0.913, _history(20), CONFUSION, best_epoch=17)],
        "config": {"task": {"sample_rate": 32000, "clip_seconds": 5.0},
                   "solution": {"epochs": 20, "lr": 0.001, "mixup": True},
                   "runner": {"seed": 0, "device": "cpu", "skip_bad": False}},
        "config_hash": "3f9a1c2b0d1e", "code_version": "0.1.0+g1234abc", "device": "cpu",
        "wall_seconds": 183.2,
        "timing": {"load_data": 0.4, "features": 12.3, "fit": 160.2, "predict": 1.1, "outputs": 0.1},
        "data": {"root": "/root/.cache/bench/datasets/kaggle5-synth-v1", "synthetic": True,
                 "n_clips": 498, "n_unlabelled": 150,
                 "summary": {"sample_rates": {"22050": 120, "44100": 80}, "subtypes": {"PCM_16": 300},
                             "channels": {"1": 400, "2": 98},
                             "duration_seconds": {"min": 1.0, "mean": 2.5, "max": 4.0}}},
        "bad_files": [["/data/x.wav", "truncated: 100 of 2000 frames"]],
        "complexity": {"params": 165957},
        "artifacts": {"submission": "submission.csv"},
        "extra": {"test_accuracy_hidden_labels": 0.9},
    }


def three_fold_result() -> dict:
    r = classification_result()
    r.update(run_id="run-3fold", score=0.8, std=0.08164965809277261, n_folds=3)
    r["folds"] = [_fold(f"fold{i + 1}", s, _history(n), CONFUSION, best_epoch=n - 1)
                  for i, (s, n) in enumerate([(0.7, 5), (0.8, 8), (0.9, 3)])]
    return r


def baseline_result() -> dict:
    r = classification_result()
    r.update(run_id="run-baseline", solution="logreg")
    r["folds"] = [_fold("holdout", 0.85, [], CONFUSION)]
    return r


def regression_result() -> dict:
    r = classification_result()
    r.update(run_id="run-deam", task="deam", task_kind="regression", solution="ridge",
             metric="ccc", score=0.52, classes=[], artifacts={}, bad_files=[])
    r["folds"] = [_fold("fold1", 0.5, [{"epoch": 1, "train_loss": 1.0, "valid_ccc": 0.4},
                                       {"epoch": 2, "train_loss": 0.8, "valid_ccc": 0.5}])]
    r["folds"][0]["confusion"] = None
    return r


def _render(tmp_path: Path, result: dict) -> tuple[Path, str]:
    run_dir = tmp_path / "runs" / result["run_id"]
    run_dir.mkdir(parents=True)
    (run_dir / "result.json").write_text(json.dumps(result))
    (run_dir / "submission.csv").write_text("filename,label\n")
    page = render_run(run_dir, tmp_path / "reports")
    return page, page.read_text(encoding="utf-8")


def _figures(html: str) -> dict:
    blob = re.search(r'<script type="application/json" id="figures">(.*?)</script>', html, re.S)
    return json.loads(blob.group(1))


# ---------------------------------------------------------------- figure data

def test_confusion_sums_folds_and_normalises_rows():
    conf = F.confusion(three_fold_result())
    assert conf.classes == CLASSES and conf.n_folds == 3
    assert conf.counts == [[3 * v for v in row] for row in CONFUSION]
    for row, counts in zip(conf.normalised, conf.counts):
        assert sum(row) == pytest.approx(1.0)
        assert row == pytest.approx([c / sum(counts) for c in counts])


def test_empty_confusion_row_stays_zero_and_has_no_accuracy():
    r = classification_result()
    r["folds"][0]["confusion"] = [[0] * 5] + CONFUSION[1:]
    conf = F.confusion(r)
    assert conf.normalised[0] == [0.0] * 5
    acc = F.class_accuracy(conf)
    assert acc.accuracy[0] is None and acc.support[0] == 0


def test_class_accuracy_is_diagonal_over_row():
    acc = F.class_accuracy(F.confusion(classification_result()))
    assert acc.support == [10, 8, 7, 8, 5]
    assert acc.accuracy == pytest.approx([0.9, 7 / 8, 6 / 7, 1.0, 0.8])


def test_learning_curves_one_line_per_fold_and_split():
    curves = F.learning_curves(three_fold_result())
    assert [c.quantity for c in curves] == ["loss", "accuracy"]
    loss = curves[0]
    assert [(ln.fold, ln.split, len(ln.values)) for ln in loss.lines] == [
        ("fold1", "train", 5), ("fold1", "valid", 5), ("fold2", "train", 8),
        ("fold2", "valid", 8), ("fold3", "train", 3), ("fold3", "valid", 3)]
    assert loss.lines[0].epochs == [1, 2, 3, 4, 5]
    assert loss.best_epochs == {"fold1": 4, "fold2": 7, "fold3": 2}


def test_learning_curves_skip_bookkeeping_and_missing_values():
    r = regression_result()
    r["folds"][0]["history"][1]["valid_ccc"] = float("nan")
    curves = {c.quantity: c for c in F.learning_curves(r)}
    assert set(curves) == {"loss", "ccc"}  # lr, seconds, epoch are not curves
    assert curves["ccc"].lines[0].values == [0.4, None]


def test_fold_scores_mean_and_std():
    fs = F.fold_scores(three_fold_result())
    assert fs.names == ["fold1", "fold2", "fold3"]
    assert fs.scores == [0.7, 0.8, 0.9]
    assert fs.mean == pytest.approx(0.8)
    assert fs.std == pytest.approx(0.1)  # sample std (ddof=1), as the runner records
    assert F.fold_scores(classification_result()) is None  # one fold: nothing to spread


def test_timing_and_missing_sections():
    t = F.timing(classification_result())
    assert t.stages == ["load_data", "features", "fit", "predict", "outputs"]
    assert t.seconds[2] == 160.2 and t.wall_seconds == 183.2
    bare = {"run_id": "x"}
    assert F.timing(bare) is None and F.confusion(bare) is None
    assert F.learning_curves(bare) == [] and F.fold_scores(bare) is None
    assert F.confusion(regression_result()) is None
    assert F.learning_curves(baseline_result()) == []


# ---------------------------------------------------------------- run pages

def test_run_page_contents(tmp_path):
    result = classification_result()
    page, html = _render(tmp_path, result)
    assert page == tmp_path / "reports" / "runs" / f"{result['run_id']}.html"
    assert "kaggle5 · audiocnn · 0.913" in html
    for section in result["config"].values():
        for key in section:
            assert f"<code>{key}</code>" in html
    for text in ["3f9a1c2b0d1e", "0.1.0+g1234abc", "stratified 7.5%", "/data/x.wav",
                 "truncated: 100 of 2000 frames", "test_accuracy_hidden_labels", "22050: 120",
                 "183.2 s", "165,957"]:
        assert text in html
    assert 'href="../../runs/20261122-104501-kaggle5-audiocnn-3f9a1c2b/submission.csv"' in html
    assert 'href="../index.html"' in html


def test_run_page_figures_have_titles_and_axis_labels(tmp_path):
    _, html = _render(tmp_path, three_fold_result())
    figs = _figures(html)
    assert set(figs) == {"fig-curve-0", "fig-curve-1", "fig-confusion", "fig-class-accuracy",
                         "fig-folds", "fig-timing"}
    for fig in figs.values():
        layout = fig["layout"]
        assert layout["title"]["text"]
        assert layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"]
    assert figs["fig-timing"]["layout"]["xaxis"]["title"]["text"] == "time (seconds)"
    assert figs["fig-confusion"]["data"][0]["text"][0] == [27, 3, 0, 0, 0]
    assert [len(t["x"]) for t in figs["fig-curve-0"]["data"][:6]] == [5, 5, 8, 8, 3, 3]
    assert "mean 0.8 ± 0.1 (sample std" in json.dumps(figs["fig-folds"]["layout"], ensure_ascii=False)


def test_figures_are_valid_plotly(tmp_path):
    # plotly's own schema catches misspelt properties that plotly.js would silently ignore.
    go = pytest.importorskip("plotly.graph_objects")
    for i, result in enumerate([three_fold_result(), regression_result()]):
        _, html = _render(tmp_path / str(i), result)
        index = render_index(LEADERBOARD, tmp_path / str(i) / "reports").read_text(encoding="utf-8")
        for fig in [*_figures(html).values(), *_figures(index).values()]:
            go.Figure(fig)


def test_baseline_without_history_says_so(tmp_path):
    _, html = _render(tmp_path, baseline_result())
    assert "No per-epoch history" in html
    assert not any(k.startswith("fig-curve") for k in _figures(html))


def test_regression_run_has_no_class_figures(tmp_path):
    _, html = _render(tmp_path, regression_result())
    figs = _figures(html)
    assert "fig-confusion" not in figs and "fig-class-accuracy" not in figs
    assert 'id="fig-confusion"' not in html
    assert "0.52" in html


def test_sparse_record_renders(tmp_path):
    _, html = _render(tmp_path, {"run_id": "bare-run", "status": "failed", "score": None})
    assert "no score" in html and "failed" in html


def test_pages_are_offline_and_share_one_plotly_copy(tmp_path):
    page, html = _render(tmp_path, classification_result())
    asset = tmp_path / "reports" / "assets" / "plotly.min.js"
    assert asset.is_file() and asset.stat().st_size > 1_000_000
    assert '<script src="../assets/plotly.min.js"></script>' in html
    index_html = render_index([], tmp_path / "reports").read_text(encoding="utf-8")
    assert '<script src="assets/plotly.min.js"></script>' in index_html
    for text in (html, index_html):
        assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', text)
        assert "cdn" not in text.lower()
    mtime = asset.stat().st_mtime_ns
    render_run(page.parents[2] / "runs" / classification_result()["run_id"], tmp_path / "reports")
    assert asset.stat().st_mtime_ns == mtime  # same size: not rewritten


def test_config_values_are_escaped(tmp_path):
    result = classification_result()
    result["config"]["solution"]["name"] = "<script>alert(1)</script>"
    result["classes"] = ["</script><script>alert(2)</script>"] + CLASSES[1:]
    _, html = _render(tmp_path, result)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "</script><script>alert(2)" not in html
    assert html.lower().count("</script") == html.lower().count("<script")  # no early end tag
    assert _figures(html)["fig-confusion"]["data"][0]["x"][0] == "</script><script>alert(2)</script>"


def test_unsafe_run_id_is_refused(tmp_path):
    result = classification_result()
    result["run_id"] = "../../evil"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "result.json").write_text(json.dumps(result))
    with pytest.raises(ValueError, match="run_id"):
        render_run(run_dir, tmp_path / "reports")


# ---------------------------------------------------------------- index

def _row(run_id, task, solution, score, direction="max", metric="accuracy", std=""):
    return {"run_id": run_id, "time": "2026-11-22T10:45:01", "task": task, "solution": solution,
            "metric": metric, "direction": direction, "score": score, "std": std, "n_folds": "1",
            "config_hash": "abc", "params": "1000", "code_version": "0.1.0", "device": "cpu",
            "wall_seconds": "12.5", "run_dir": f"runs/{run_id}"}


LEADERBOARD = [
    _row("k-low", "kaggle5", "logreg", "0.70"),
    _row("k-high", "kaggle5", "audiocnn", "0.95"),
    _row("k-mid", "kaggle5", "audiocnn", "0.80"),
    _row("k-none", "kaggle5", "broken", ""),
    _row("g-bad", "esc50_gan", "gan", "9.7", direction="min", metric="fad"),
    _row("g-good", "esc50_gan", "gan2", "4.8", direction="min", metric="fad"),
]


def test_leaderboard_sorts_each_task_by_its_direction():
    groups = {g.task: g for g in F.leaderboard(LEADERBOARD)}
    assert list(groups) == ["esc50_gan", "kaggle5"]
    assert [r["run_id"] for r in groups["kaggle5"].rows] == ["k-high", "k-mid", "k-low", "k-none"]
    assert [r["run_id"] for r in groups["esc50_gan"].rows] == ["g-good", "g-bad"]
    assert [(b.solution, b.score) for b in groups["kaggle5"].best] == [("audiocnn", 0.95), ("logreg", 0.70)]


def test_index_links_only_existing_pages(tmp_path):
    reports = tmp_path / "reports"
    result = classification_result()
    result["run_id"] = "k-high"
    _render(tmp_path, result)
    html = render_index(copy.deepcopy(LEADERBOARD), reports).read_text(encoding="utf-8")
    assert 'href="runs/k-high.html"' in html
    assert 'href="runs/k-mid.html"' not in html and "k-mid" in html
    assert html.index("k-high") < html.index("k-mid") < html.index("k-low")
    assert html.index("g-good") < html.index("g-bad")
    assert "lower is better" in html and "0.95" in html


def test_empty_index_is_friendly(tmp_path):
    page = render_index([], tmp_path / "reports")
    assert page == tmp_path / "reports" / "index.html"
    assert "No runs yet" in page.read_text(encoding="utf-8")
