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

from bench.report import comparison as C
from bench.report import figures as F
from bench.report import records as R
from bench.report import render_all, render_index, render_run, render_study
from bench.report import study_data as D

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
    assert figs["fig-confusion"]["data"][0]["customdata"][0] == [27, 3, 0, 0, 0]
    assert figs["fig-confusion"]["data"][0]["text"][0] == ["27<br>90%", "3<br>10%", "0", "0", "0"]
    assert [len(t["x"]) for t in figs["fig-curve-0"]["data"][:6]] == [5, 5, 8, 8, 3, 3]
    assert "mean 0.8 ± 0.1 (sample std" in json.dumps(figs["fig-folds"]["layout"], ensure_ascii=False)


def test_figures_are_valid_plotly(tmp_path):
    # plotly's own schema catches misspelt properties that plotly.js would silently ignore.
    go = pytest.importorskip("plotly.graph_objects")
    for i, result in enumerate([three_fold_result(), regression_result()]):
        _, html = _render(tmp_path / str(i), result)
        for fig in _figures(html).values():
            go.Figure(fig)
    runs = _runs(tmp_path / "site", BOARD)
    study = _study_file(tmp_path / "site" / "studies", STUDY)
    site = render_all(runs, tmp_path / "site" / "reports", study.parent)
    for page in [site.index, *site.studies, *site.comparisons]:
        figs = _figures(page.read_text(encoding="utf-8"))
        assert figs
        for fig in figs.values():
            go.Figure(fig)
            assert fig["layout"]["title"]["text"]
            assert fig["layout"]["xaxis"]["title"]["text"] and fig["layout"]["yaxis"]["title"]["text"]


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
    index_html = render_index(tmp_path / "runs", tmp_path / "reports").index.read_text(encoding="utf-8")
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


# ---------------------------------------------------------------- the site: records, index, comparisons

def _result(run_id: str, task: str, solution: str, fold_scores: dict[str, float], *, direction="max",
            metric="accuracy", partial=False, n_total=None, tags=None, seed=0) -> dict:
    r = classification_result()
    scores = list(fold_scores.values())
    mean = sum(scores) / len(scores) if scores else None
    std = (sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)) ** 0.5 if len(scores) > 1 else None
    r.update(run_id=run_id, task=task, solution=solution, metric=metric, direction=direction, score=mean,
             std=std, n_folds=len(scores), n_folds_total=n_total or len(scores), partial=partial,
             folds=[_fold(name, s, [], CONFUSION) for name, s in fold_scores.items()],
             finished=f"2026-11-22T10:{len(run_id):02d}:00+00:00")
    r["config"] = copy.deepcopy(r["config"])
    r["config"]["runner"]["seed"] = seed
    if tags is not None:
        r["tags"] = tags
    return r


def _cv(*scores: float) -> dict[str, float]:
    return {f"fold{i}": s for i, s in enumerate(scores, 1)}


BOARD = [
    _result("k-low", "kaggle5", "logreg", {"holdout": 0.70}),
    _result("k-high", "kaggle5", "audiocnn", {"holdout": 0.95}),
    _result("k-mid", "kaggle5", "audiocnn", {"holdout": 0.80}, tags="tuned;study=k5-cnn"),
    _result("k-none", "kaggle5", "broken", {}),
    _result("g-bad", "esc50_gan", "gan", {"holdout": 9.7}, direction="min", metric="fad"),
    _result("g-good", "esc50_gan", "gan2", {"holdout": 4.8}, direction="min", metric="fad"),
    _result("e-a", "esc50", "audiocnn", _cv(0.80, 0.85, 0.90, 0.75, 0.70)),
    _result("e-b", "esc50", "baseline", _cv(0.70, 0.72, 0.80, 0.70, 0.65), seed=1),
    _result("e-part", "esc50", "baseline", _cv(0.60, 0.70), partial=True, n_total=5, seed=2),
]

STUDY = {
    "study": "k5-cnn", "storage": "postgresql://nobody@unreachable.invalid/bench", "task": "kaggle5",
    "solution": "audiocnn", "metric": "accuracy", "direction": "max", "fixed": {"epochs": 3},
    "space": {"lr": "float 1e-5 to 1e-1, log", "batch_size": "int 16 to 64", "mixup": "true or false"},
    "protocol": "trials are scored on the validation split; the test set is never seen",
    "best_run": "runs/k-mid",
    "trials": [
        {"number": 0, "state": "COMPLETE", "value": 0.80, "params": {"lr": 1e-3, "batch_size": 16, "mixup": True},
         "run_dir": "studies/k5-cnn/trial-0000", "intermediate": {"0": 0.5, "1": 0.8}},
        {"number": 1, "state": "COMPLETE", "value": 0.70, "params": {"lr": 1e-2, "batch_size": 32, "mixup": False},
         "run_dir": None, "intermediate": {"0": 0.6, "1": 0.7}},
        {"number": 2, "state": "PRUNED", "value": None, "params": {"lr": 1e-1, "batch_size": 16, "mixup": False},
         "run_dir": None, "intermediate": {"0": 0.2}},
        {"number": 3, "state": "FAIL", "value": None, "params": {"lr": 1e-5, "batch_size": 64, "mixup": True},
         "run_dir": None, "intermediate": {}},
        {"number": 4, "state": "COMPLETE", "value": 0.75, "params": {"lr": 3e-4, "batch_size": 64, "mixup": True},
         "run_dir": "runs/gone", "intermediate": {"0": 0.7, "1": 0.75}, "retry_of": 3},
    ],
    "pruner": "median, 1 startup trial", "requested_trials": 5,
    "updated": "2026-11-22T12:00:00+00:00",
}


def _runs(root: Path, results: list[dict]) -> Path:
    for result in results:
        run_dir = root / "runs" / result["run_id"]
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "result.json").write_text(json.dumps(result))
    return root / "runs"


def _study_file(folder: Path, study: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{study['study']}.json"
    path.write_text(json.dumps(study))
    return path


def _boards() -> dict[str, R.TaskBoard]:
    return {b.task: b for b in R.boards([R.record(r, Path(r["run_id"])) for r in BOARD])}


def test_boards_rank_each_task_by_its_direction_and_keep_partial_runs_apart():
    boards = _boards()
    assert list(boards) == ["esc50", "esc50_gan", "kaggle5"]
    assert [r.run_id for r in boards["kaggle5"].ranked] == ["k-high", "k-mid", "k-low", "k-none"]
    assert [r.run_id for r in boards["esc50_gan"].ranked] == ["g-good", "g-bad"]
    assert [(b.solution, b.score) for b in boards["kaggle5"].best] == [("audiocnn", 0.95), ("logreg", 0.70)]
    esc = boards["esc50"]
    assert [r.run_id for r in esc.ranked] == ["e-a", "e-b"] and [r.run_id for r in esc.others] == ["e-part"]
    assert esc.varying == ["runner.seed"]
    assert R.settings_text(esc.others[0], esc.varying) == "seed=2"


def test_run_tags_from_a_list_a_string_or_the_runner_config():
    assert R.run_tags({"tags": ["tuned", "study=s1"]}) == R.Tags(["tuned", "study=s1"], True, "s1")
    assert R.run_tags({"tags": "synthetic-data;tuned;study=s2"}).study == "s2"
    from_config = R.run_tags({"config": {"runner": {"tags": "tuned;study=s3"}}})
    assert from_config.tuned and from_config.study == "s3"
    assert R.run_tags({"tags": "synthetic-data"}) == R.Tags(["synthetic-data"], False, None)
    assert R.run_tags({}) == R.Tags([], False, None)
    rerun = R.run_tags({"tuning": {"study": "s4", "trial": 7}, "tags": ["random-init"]})
    assert rerun == R.Tags(["random-init", "tuned", "study=s4"], True, "s4")


def test_index_is_built_from_the_run_records_not_the_csv(tmp_path):
    runs = _runs(tmp_path, BOARD)
    (tmp_path / "leaderboard.csv").write_text("run_id,task,score\nonly-in-csv,kaggle5,0.99\n")
    _study_file(tmp_path / "studies", STUDY)
    site = render_all(runs, tmp_path / "reports", tmp_path / "studies")
    assert not site.problems
    html = site.index.read_text(encoding="utf-8")
    assert "only-in-csv" not in html
    assert html.index("k-high") < html.index("k-mid") < html.index("k-low") < html.index("k-none")
    assert html.index("g-good") < html.index("g-bad")
    assert "0.800 ± 0.079" in html and "5 of 5" in html and "2 of 5" in html
    assert "Not on the leaderboard: partial cross-validations (1)" in html
    # the tuned run is marked, and its mark links to its study; every run and the study are linked
    assert re.search(r'class="badge tuned"[^>]*><a href="studies/k5-cnn.html">tuned</a>', html)
    for result in BOARD:
        assert f'href="runs/{result["run_id"]}.html"' in html
    assert 'href="studies/k5-cnn.html"' in html
    assert 'href="compare/esc50.html"' in html and 'href="compare/kaggle5.html"' in html
    assert {p.name for p in site.comparisons} == {"esc50.html", "esc50_gan.html", "kaggle5.html"}
    assert len(site.runs) == len(BOARD) and [p.name for p in site.studies] == ["k5-cnn.html"]
    run_html = (tmp_path / "reports" / "runs" / "k-mid.html").read_text(encoding="utf-8")
    assert 'href="../studies/k5-cnn.html"' in run_html and 'href="../compare/kaggle5.html"' in run_html


def test_index_links_only_existing_pages(tmp_path):
    runs = _runs(tmp_path, BOARD)
    html = render_index(runs, tmp_path / "reports").index.read_text(encoding="utf-8")
    assert 'href="runs/' not in html and "k-high" in html  # no run page written yet
    render_run(runs / "k-high", tmp_path / "reports")
    html = render_index(runs, tmp_path / "reports").index.read_text(encoding="utf-8")
    assert 'href="runs/k-high.html"' in html and 'href="runs/k-mid.html"' not in html


def test_unreadable_record_is_named_and_left_out(tmp_path):
    runs = _runs(tmp_path, BOARD[:2])
    (runs / "torn").mkdir()
    (runs / "torn" / "result.json").write_text('{"run_id": "torn", "sco')
    site = render_all(runs, tmp_path / "reports", tmp_path / "studies")
    assert len(site.problems) == 1 and "torn" in site.problems[0]
    html = site.index.read_text(encoding="utf-8")
    assert "could not be read" in html and "k-high" in html


def test_empty_index_is_friendly(tmp_path):
    site = render_index(tmp_path / "no-runs", tmp_path / "reports")
    assert site.index == tmp_path / "reports" / "index.html"
    assert "No runs yet" in site.index.read_text(encoding="utf-8")


def test_comparison_matches_bench_compare():
    from bench.results.compare import compare

    c = C.task_comparison(_boards()["esc50"])
    assert [r.run_id for r in c.runs] == ["e-a", "e-b", "e-part"] and c.default == (0, 1)
    expected = compare(BOARD[6], BOARD[7])
    p = c.pairs[(0, 1)]
    assert p.folds == expected.folds and p.a_scores == expected.a and p.b_scores == expected.b
    assert p.t == pytest.approx(expected.t) and p.p_t == pytest.approx(expected.p_t)
    assert p.p_wilcoxon == pytest.approx(expected.p_wilcoxon)
    back = c.pairs[(1, 0)]
    assert back.t == pytest.approx(-p.t) and back.p_t == p.p_t and back.a_scores == p.b_scores
    partial = c.pairs[(0, 2)]
    assert partial.folds == ["fold1", "fold2"] and partial.mean_diff == pytest.approx(0.175)
    assert C.task_comparison(R.boards([R.record(BOARD[0], Path("x"))])[0]) is None


def test_compare_page_shows_the_best_two_and_embeds_every_pair(tmp_path):
    runs = _runs(tmp_path, BOARD)
    render_all(runs, tmp_path / "reports", tmp_path / "studies")
    html = (tmp_path / "reports" / "compare" / "esc50.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="compare-data">(.*?)</script>', html, re.S).group(1))
    assert [r["id"] for r in data["runs"]] == ["e-a", "e-b", "e-part"]
    assert set(data["pairs"]) == {"0-1", "1-0", "0-2", "2-0", "1-2", "2-1"}
    assert data["pairs"]["1-0"]["table"]["mean"][2] == "-0.0860"
    assert "paired t-test (two-sided)" in html and "t = 5.483, df = 4, p = 0.0054" in html
    assert '<option value="0" selected>' in html and '<option value="1" selected>' in html
    assert _figures(html)["fig-compare"]["data"][0]["y"] == [0.80, 0.85, 0.90, 0.75, 0.70]


# ---------------------------------------------------------------- studies

def _study(tmp_path, **changes) -> D.Study:
    return D.load_study(_study_file(tmp_path, {**STUDY, **changes}))


def test_study_parameters_are_inferred_from_the_trials(tmp_path):
    params = {p.name: p for p in D.infer_params(_study(tmp_path))}
    assert params["lr"] == D.Param("lr", "float", 1e-5, 1e-1, True)
    assert params["batch_size"] == D.Param("batch_size", "int", 16, 64)
    assert params["mixup"].kind == "categorical" and params["mixup"].choices == [False, True]
    assert params["lr"].position(1e-3) == pytest.approx(0.5)
    assert params["batch_size"].position(32) == pytest.approx(1 / 3)
    narrow = {p.name: p for p in D.infer_params(_study(tmp_path, space={}, trials=[
        {"number": 0, "state": "COMPLETE", "value": 1, "params": {"lr": 0.01}},
        {"number": 1, "state": "COMPLETE", "value": 2, "params": {"lr": 0.1}}]))}
    assert not narrow["lr"].log  # one decade, and the space text does not say log


def test_history_keeps_the_best_so_far_by_direction(tmp_path):
    h = D.history(_study(tmp_path))
    assert h.numbers == [0, 1, 4] and h.best_so_far == [0.80, 0.80, 0.80] and h.best_number == 0
    assert h.pruned_numbers == [2] and h.pruned_values == [0.2] and h.failed == [3]
    low = D.history(_study(tmp_path, direction="min"))
    assert low.best_so_far == [0.80, 0.70, 0.70] and low.best_number == 1


def test_importances_use_optuna_and_fall_back_to_rank_correlation(tmp_path, monkeypatch):
    study = _study(tmp_path)
    imp = D.importances(study)
    assert imp.method.startswith("optuna fANOVA") and sorted(imp.params) == ["batch_size", "lr", "mixup"]
    assert sum(imp.values) == pytest.approx(1.0) and "only 3 complete trials" in imp.note

    def broken(*_):
        raise RuntimeError("no evaluator today")

    monkeypatch.setattr(D, "_optuna_importances", broken)
    imp = D.importances(study)
    assert imp.method.startswith("absolute Spearman") and "no evaluator today" in imp.note
    assert sum(imp.values) == pytest.approx(1.0)


def test_importances_need_two_complete_trials(tmp_path):
    one = _study(tmp_path, trials=STUDY["trials"][:1] + STUDY["trials"][2:4])
    imp = D.importances(one)
    assert imp.params == [] and "at least two complete trials; this study has 1" in imp.note
    assert D.parallel(one) is None
    flat = _study(tmp_path, trials=[{**t, "value": 0.5} for t in STUDY["trials"][:2]])
    assert "same accuracy" in D.importances(flat).note


def test_parallel_coordinates_put_the_objective_last(tmp_path):
    pc = D.parallel(_study(tmp_path))
    assert [a.name for a in pc.axes] == ["lr", "batch_size", "mixup"] and pc.objective.name == "accuracy"
    number, positions, value = pc.lines[0]
    assert number == 0 and value == 0.80 and positions[-1] == pytest.approx(1.0)
    assert positions[2] == pytest.approx(1.0)  # mixup=True is the second of two categories


def test_study_record_that_is_not_a_study_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="bad.json"):
        D.load_study(bad)
    bad.write_text("{nope")
    with pytest.raises(ValueError, match="not valid JSON"):
        D.load_study(bad)


def test_study_page_renders_from_the_json_alone(tmp_path, monkeypatch):
    runs = _runs(tmp_path, BOARD[:3])
    render_run(runs / "k-mid", tmp_path / "reports")
    trial_dir = tmp_path / "studies" / "k5-cnn" / "trial-0000"
    trial_dir.mkdir(parents=True)
    (trial_dir / "run.log").write_text("trial 0\n")
    monkeypatch.chdir(tmp_path)
    page = render_study(_study_file(tmp_path / "studies", STUDY), tmp_path / "reports")
    assert page == tmp_path / "reports" / "studies" / "k5-cnn.html"
    html = page.read_text(encoding="utf-8")
    for state in ("COMPLETE", "PRUNED", "FAIL"):
        assert f'<span class="state state-{state.lower()}">{state}</span>' in html
    assert "postgresql://nobody@unreachable.invalid/bench" in html and "trial 0: 0.8" in html
    assert html.count('href="../runs/k-mid.html"') == 2  # the tuned run: in the summary and beside trial 0
    assert 'href="../../studies/k5-cnn/trial-0000/run.log"' in html  # a trial folder has no page: its log
    assert 'href="../runs/gone.html"' not in html and "<code>runs/gone</code>" in html
    assert "retry of trial 3" in html and "median, 1 startup trial" in html
    figs = _figures(html)
    assert {"fig-history", "fig-intermediate", "fig-importance", "fig-parallel", "fig-slice-0"} <= set(figs)
    assert figs["fig-slice-0"]["layout"]["xaxis"]["type"] == "log"
    assert "trials are scored on the validation split" in html


def test_study_page_with_no_complete_trial_says_so(tmp_path):
    page = render_study(_study_file(tmp_path, {**STUDY, "trials": STUDY["trials"][2:4]}), tmp_path / "reports")
    html = page.read_text(encoding="utf-8")
    assert "need at least two complete trials; this study has 0" in html and "none complete yet" in html
    assert "fig-parallel" not in _figures(html)


def test_study_page_from_a_real_optuna_study(tmp_path):
    from browser import make_study

    path = make_study(tmp_path / "studies", "real", {})
    record = json.loads(path.read_text())
    assert [t["state"] for t in record["trials"]] == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED", "FAIL", "COMPLETE"]
    html = render_study(path, tmp_path / "reports").read_text(encoding="utf-8")
    assert "optuna fANOVA" in html and "C (log scale)" in json.dumps(_figures(html))


def test_unsafe_study_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="study name"):
        render_study(_study_file(tmp_path, {**STUDY, "study": "../evil"}), tmp_path / "reports")


# ---------------------------------------------------------------- bench report

def test_bench_report_renders_everything_and_names_what_it_left_out(tmp_path, capsys):
    from bench.cli import main

    runs = _runs(tmp_path, BOARD)
    studies = tmp_path / "studies"
    _study_file(studies, STUDY)
    args = [f"runs_dir={runs}", f"reports_dir={tmp_path / 'reports'}", f"studies_dir={studies}"]
    assert main(["report", *args]) == 0
    out = capsys.readouterr().out
    assert f"rendered {len(BOARD)} run page(s), 1 study page(s), 3 comparison page(s)" in out
    (studies / "broken.json").write_text("{")
    assert main(["report", *args]) == 1
    assert "broken.json" in capsys.readouterr().err
    assert (tmp_path / "reports" / "studies" / "k5-cnn.html").is_file()
    assert main(["report", "study_dir=x"]) == 2
    assert "did you mean 'studies_dir'" in capsys.readouterr().err


def test_study_validation_reads_as_text_not_json():
    from bench.report.study_data import _validation_text

    text = _validation_text({"kind": "cv", "test_data_used": False, "splits": [
        {"split": "fold1", "test_fold": 1, "train_folds": [2, 3], "n_train": 80, "n_valid": 10}]})
    assert text == "split fold1: test fold 1 left out, 80 training clips from folds 2, 3, 10 validation clips; test data used: no"


def test_settings_of_one_solution_differ_only_against_runs_of_that_solution():
    runs = [_result(run_id, "kaggle5", solution, {"holdout": 0.5}) for run_id, solution in
            (("a1", "audiocnn"), ("a2", "audiocnn"), ("b1", "baseline"))]
    runs[0]["config"]["solution"] = {"lr": 0.001, "epochs": 40}
    runs[1]["config"]["solution"] = {"lr": 0.003, "epochs": 40}
    runs[2]["config"]["solution"] = {"C": 1.0}
    board = R.boards([R.record(r, Path(r["run_id"])) for r in runs])[0]
    assert board.varying == ["solution.lr"]  # not epochs (same in both audiocnn runs), not C


# ---------------------------------------------------------------- confusion colours, data identity

def _luminance(colour: str) -> float:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_confusion_colours_empty_cells_lightest_and_darken_with_the_share(tmp_path):
    _, html = _render(tmp_path, classification_result())
    trace = _figures(html)["fig-confusion"]["data"][0]
    scale = trace["colorscale"]
    assert isinstance(scale, list), "a named plotly scale: plotly's 'Blues' puts 0 at its darkest"
    assert scale[0][0] == 0 and scale[-1][0] == 1
    shades = [_luminance(c) for _, c in scale]
    assert shades == sorted(shades, reverse=True) and shades[0] == _luminance("#ffffff")
    assert trace["zmin"] == 0 and trace.get("reversescale") is not True
    assert trace["text"][4] == ["0", "0", "0", "1<br>20%", "4<br>80%"]  # counts and row shares


def _on_data(run_id: str, data_id: str, root: str, synthetic: bool, score: float, **kw) -> dict:
    r = _result(run_id, "kaggle5", "audiocnn", {"holdout": score}, **kw)
    r["data"] = {**r["data"], "data_id": data_id, "root": root, "synthetic": synthetic}
    r["config"]["task"] = {**r["config"]["task"], "data_dir": None if synthetic else root}
    return r


DATA_BOARD = [
    _on_data("syn-a", "s1", "/cache/datasets/kaggle5-synth-v1-n100-t150-s0", True, 0.97),
    _on_data("syn-b", "s1", "/cache/datasets/kaggle5-synth-v1-n100-t150-s0", True, 0.90, seed=1),
    _on_data("mine-a", "u1", "/data/competition", False, 0.70),
    _on_data("mine-b", "u1", "/data/competition", False, 0.60, seed=1),
    _on_data("far-run", "u2", "/data/competition-2", False, 0.99),
]


def test_runs_on_different_data_get_their_own_board():
    boards = R.boards([R.record(r, Path(r["run_id"])) for r in DATA_BOARD])
    assert [(b.task, [r.run_id for r in b.ranked]) for b in boards] == [
        ("kaggle5", ["syn-a", "syn-b"]), ("kaggle5", ["mine-a", "mine-b"]), ("kaggle5", ["far-run"])]
    assert boards[0].synthetic and "embedded synthetic data kaggle5-synth-v1-n100-t150-s0 (data id s1)" in boards[0].data_text
    assert boards[1].data_text == "/data/competition (data id u1)" and not boards[1].synthetic


def test_index_heads_each_board_with_its_data_and_marks_synthetic_runs(tmp_path):
    runs = _runs(tmp_path, DATA_BOARD)
    html = render_index(runs, tmp_path / "reports").index.read_text(encoding="utf-8")
    sections = re.findall(r'<section id="task-\d+">(.*?)</section>', html, re.S)
    assert len(sections) == 3
    assert "/data/competition (data id u1)" in sections[1] and "mine-a" in sections[1]
    assert "syn-a" not in sections[1] and "far-run" not in sections[1]  # never ranked together
    assert "/data/competition-2 (data id u2)" in sections[2]
    synthetic_tags = lambda section: section.count('class="tag synthetic"')  # noqa: E731
    assert synthetic_tags(sections[0]) == 2 and synthetic_tags(sections[1]) == 0


def test_settings_of_the_synthetic_generator_do_not_differ_for_runs_on_user_data():
    runs = [copy.deepcopy(r) for r in DATA_BOARD[2:4]]
    runs[0]["config"]["task"]["synthetic_train_per_class"] = 10  # preset=tiny on the user's data, say
    runs[1]["config"]["task"]["synthetic_train_per_class"] = 100
    board = R.boards([R.record(r, Path(r["run_id"])) for r in runs])[0]
    assert board.varying == ["runner.seed"]
    synthetic = [copy.deepcopy(r) for r in DATA_BOARD[:2]]
    synthetic[0]["config"]["task"]["synthetic_train_per_class"] = 10
    assert "task.synthetic_train_per_class" in R.boards([R.record(r, Path(r["run_id"])) for r in synthetic])[0].varying


def test_compare_page_says_whether_a_pair_used_the_same_data(tmp_path):
    runs = _runs(tmp_path, DATA_BOARD)
    render_index(runs, tmp_path / "reports")
    html = (tmp_path / "reports" / "compare" / "kaggle5.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="compare-data">(.*?)</script>', html, re.S).group(1))
    ids = [r["id"] for r in data["runs"]]
    assert ids[:2] == ["syn-a", "syn-b"]  # opens on the best two runs of one data set
    tests = lambda a, b: dict(data["pairs"][f"{ids.index(a)}-{ids.index(b)}"]["tests"])  # noqa: E731
    assert tests("syn-a", "syn-b")["data"] == "same data (data id s1)"
    different = tests("syn-a", "mine-a")["data"]
    assert different.startswith("different data") and "u1" in different and "s1" in different
    assert "same test fold, same data" not in html
    assert "same data (data id s1)" in html  # the default pair, as written into the page


def test_equal_differences_up_to_rounding_have_no_t_test_and_the_page_says_why(tmp_path):
    a = _result("r-a", "esc50", "audiocnn", _cv(0.9, 0.8, 0.7, 0.6))
    b = _result("r-b", "esc50", "baseline", _cv(0.8, 0.7, 0.6, 0.5))
    render_index(_runs(tmp_path, [a, b]), tmp_path / "reports")
    html = (tmp_path / "reports" / "compare" / "esc50.html").read_text(encoding="utf-8")
    assert "A − B is +0.1000 on every fold" in html and "equal up to rounding" in html
    assert not re.search(r"t = -?[0-9]", html)


# ---------------------------------------------------------------- what each kind adds to a fold

def residual_result() -> dict:
    """Two folds of a two-target regression, with a gap (NaN) in one fold's values."""
    r = regression_result()
    r.update(run_id="run-deam-residuals", targets=["valence", "arousal"], n_folds=2, std=0.05)
    history = [{"epoch": 1, "train_loss": 1.0, "valid_loss": 1.1, "valid_rmse": 0.9, "valid_ccc": 0.4},
               {"epoch": 2, "train_loss": 0.8, "valid_loss": 0.9, "valid_rmse": 0.7, "valid_ccc": 0.6}]
    r["folds"] = [_fold(f"fold{k}", s, history, best_epoch=2) for k, s in ((1, 0.55), (2, 0.45))]
    r["folds"][0]["residuals"] = {"arousal": {"true": [1.0, 2.0], "pred": [1.5, 2.5]},
                                  "valence": {"true": [0.0, 0.5, 1.0], "pred": [0.25, 0.5, float("nan")]}}
    r["folds"][1]["residuals"] = {"valence": {"true": [-1.0], "pred": [-0.5]}}
    return r


def test_residuals_per_target_in_the_records_order_without_gaps():
    res = {r.target: r for r in F.residuals(residual_result())}
    assert [r.target for r in F.residuals(residual_result())] == ["valence", "arousal"]
    valence = res["valence"]
    assert [(s.fold, s.true, s.pred) for s in valence.series] == [
        ("fold1", [0.0, 0.5], [0.25, 0.5]), ("fold2", [-1.0], [-0.5])]
    assert valence.n == 3 and (valence.low, valence.high) == (-1.0, 0.5)
    assert valence.rmse == pytest.approx(((0.25 ** 2 + 0 + 0.5 ** 2) / 3) ** 0.5)
    assert valence.bias == pytest.approx(0.75 / 3)
    assert res["arousal"].rmse == pytest.approx(0.5) and len(res["arousal"].series) == 1
    assert F.residuals(classification_result()) == [] and F.residuals({"run_id": "x"}) == []


def test_regression_page_draws_predicted_against_true_with_the_identity_line(tmp_path):
    _, html = _render(tmp_path, residual_result())
    figs = _figures(html)
    assert {"fig-residuals-0", "fig-residuals-1"} <= set(figs) and 'id="residuals"' in html
    valence = figs["fig-residuals-0"]
    folds, identity = valence["data"][:2], valence["data"][2]
    assert [(t["name"], t["x"], t["y"]) for t in folds] == [("fold1", [0.0, 0.5], [0.25, 0.5]),
                                                          ("fold2", [-1.0], [-0.5])]
    assert identity["x"] == identity["y"] and identity["x"][0] < -1.0 and identity["x"][1] > 0.5
    assert valence["layout"]["xaxis"]["title"]["text"] == "true valence"
    assert valence["layout"]["yaxis"]["title"]["text"] == "predicted valence"
    title = valence["layout"]["title"]["text"]
    assert title.startswith("valence: predicted against true<br>") and "3 clips from 2 folds · RMSE 0.3227" in title
    assert "fig-per-class" not in figs and "fig-confusion" not in figs


def test_learning_curves_put_the_task_metric_after_the_loss():
    curves = F.learning_curves(residual_result())  # valid_rmse comes before valid_ccc in the history
    assert [c.quantity for c in curves] == ["loss", "ccc", "rmse"]
    assert curves[1].best_epochs == {"fold1": 2, "fold2": 2}
    assert [c.quantity for c in F.learning_curves({**residual_result(), "metric": "rmse"})] == ["loss", "rmse", "ccc"]


def generation_result() -> dict:
    r = classification_result()
    r.update(run_id="run-gan", task="esc50_gan", task_kind="generation", solution="gan",
             metric="frechet_logmel", direction="min", score=2.0, n_folds=2)
    r["folds"] = [_fold(f"fold{k}", 2.0, []) for k in (1, 2)]
    r["folds"][0]["per_class"] = {"siren": {"frechet_logmel": 3.0}, "dog_bark": {"frechet_logmel": 1.0}}
    r["folds"][1]["per_class"] = {"siren": {"frechet_logmel": 5.0}, "mystery": {"frechet_logmel": 2.0}}
    return r


def test_per_class_scores_are_the_mean_over_the_folds_that_scored_the_class(tmp_path):
    pc = F.per_class(generation_result())
    assert pc.classes == ["dog_bark", "siren", "mystery"]  # the record's class order, then the rest
    assert pc.values == {"frechet_logmel": [1.0, 4.0, 2.0]}
    assert pc.directions == {"frechet_logmel": "min"} and pc.n_folds == 2
    assert F.per_class(classification_result()) is None
    _, html = _render(tmp_path, generation_result())
    fig = _figures(html)["fig-per-class"]
    assert fig["data"][0]["x"] == pc.classes and fig["data"][0]["y"] == [1.0, 4.0, 2.0]
    assert "mean over 2 folds" in fig["layout"]["title"]["text"]
    table = html[html.index('id="per-class"'):]
    assert "frechet_logmel (lower is better)" in table and "<td>siren</td><td>4</td>" in table


def test_kind_figures_are_valid_plotly(tmp_path):
    go = pytest.importorskip("plotly.graph_objects")
    for i, result in enumerate([residual_result(), generation_result()]):
        _, html = _render(tmp_path / str(i), result)
        for fig in _figures(html).values():
            go.Figure(fig)


def test_nested_run_links_each_outer_folds_study(tmp_path):
    r = three_fold_result()
    r["tuning"] = {"tag": "tuned-nested", "nested": True, "study": "nest", "storage": "sqlite:///x.db",
                   "outer": [{"fold": k, "study": f"nest.outer{k}", "trial": 2 * k, "value": 0.8,
                              "params": {"lr": 0.001}, "record": f"studies/nest.outer{k}.json"} for k in (1, 2, 3)]}
    studies = tmp_path / "reports" / "studies"
    studies.mkdir(parents=True)
    for k in (1, 2):  # the study page of outer fold 3 was never rendered
        (studies / f"nest.outer{k}.html").write_text("")
    _, html = _render(tmp_path, r)
    assert 'href="../studies/nest.outer1.html">nest.outer1</a> (trial 2)' in html
    assert 'href="../studies/nest.outer2.html"' in html
    assert "fold 3 by nest.outer3 (trial 6)" in html and "nest.outer3.html" not in html
    # even where a page of the record's own study name exists, that study did not tune these folds
    (studies / "nest.html").write_text("")
    page = render_run(tmp_path / "runs" / r["run_id"], tmp_path / "reports")
    html = page.read_text(encoding="utf-8")
    assert 'href="../studies/nest.outer1.html"' in html and "nest.html" not in html
