"""A headless Chromium for the report tests, and a small real report site to point it at.

The browser is Debian's chromium and chromedriver, named by path so that Selenium
never asks selenium-manager to download a driver (there is no network). Without
them the browser tests skip, saying why; with BENCH_REQUIRE_SYSTEM_TOOLS=1 (set by
.ci/run) they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from conftest import run_cli, system_tool_missing

CHROMIUM = os.environ.get("BENCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("BENCH_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
STUDY = "esc50-baseline-C"
SCORE = "esc50-folds12-logmel"


@pytest.fixture(scope="module")
def browser():
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).is_file():
            system_tool_missing(f"{path} not found: install Debian's {package} to run the browser tests")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        system_tool_missing("selenium is not installed: pip install -e '.[test]'")
    os.environ["SE_OFFLINE"] = "true"  # selenium-manager, should anything call it, must not download
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory, request) -> Path:
    """Screenshots go under the test's temporary folder, and are copied to a folder named in the output."""
    own = tmp_path_factory.mktemp("screenshots")
    keep = Path(os.environ.get("BENCH_TEST_ARTIFACTS") or tempfile.gettempdir()) / "bench-report-screenshots"
    yield own
    shutil.rmtree(keep, ignore_errors=True)
    shutil.copytree(own, keep)
    line = f"report screenshots: {keep} ({len(list(keep.glob('*.png')))} pages; also in {own})"
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():  # shown whether or not the tests pass
            reporter.write_line("\n" + line)
    else:
        print(line)


# ---------------------------------------------------------------- a real site

def build_site(root: Path, cache: Path) -> dict[str, Any]:
    """Runs made by the real CLI (tiny presets), a real optuna study, and `bench report`.

    kaggle5 gets one run; esc50 gets two full 5-fold cross-validations with different
    seeds (the comparison view), one partial cross-validation, and two runs that
    stand for the trials of a tuning study (marked as `bench tune` marks its runs);
    esc50_gan one round of cgan (its page links a score page per embedding).
    """
    def bench(*args: str) -> Path:
        out = run_cli(*args, "preset=tiny", "progress=false", cwd=root, cache=cache)
        return root / out.stdout.strip().splitlines()[-1]

    runs = {
        "kaggle5": bench("run", "task=kaggle5", "solution=baseline"),
        "esc50-seed0": bench("run", "task=esc50", "solution=baseline", "folds=1,2,3,4,5"),
        "esc50-seed1": bench("run", "task=esc50", "solution=baseline", "folds=1,2,3,4,5", "seed=1"),
        "esc50-partial": bench("run", "task=esc50", "solution=baseline", "seed=2"),
        "trial-0": bench("run", "task=esc50", "solution=baseline", "folds=1,2,3,4,5", "C=0.01"),
        "trial-2": bench("run", "task=esc50", "solution=baseline", "folds=1,2,3,4,5", "C=10.0"),
        "gan": bench("run", "task=esc50_gan", "solution=cgan"),
    }
    for number in (0, 2):  # what `bench tune` keeps in the record of a run it made
        path = runs[f"trial-{number}"] / "result.json"
        result = json.loads(path.read_text())
        path.write_text(json.dumps({**result, "tuning": {"study": STUDY, "trial": number}}))
    study = make_study(root / "studies", STUDY, {0: runs["trial-0"], 2: runs["trial-2"]})
    # an audio score with every control and per-class scores (real clips of two folds stand in for generated ones)
    run_cli("score-audio", "real=task:esc50:4,5", "generated=task:esc50:1,2", "per_class=true", "bootstrap=10",
            "train=task:esc50:3", f"name={SCORE}", cwd=root, cache=cache)
    out = run_cli("report", cwd=root, cache=cache)
    return {"root": root, "runs": runs, "study": study, "report_stdout": out.stdout,
            "reports": root / "reports"}


def make_study(folder: Path, name: str, run_of_trial: dict[int, Path]) -> Path:
    """A real optuna study in a SQLite file, written out as studies/<name>.json.

    Six trials: four COMPLETE (two with a run folder), one PRUNED and one FAIL, each
    reporting intermediate values; the JSON has the fields `bench tune` writes.
    """
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from optuna.trial import TrialState

    folder.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{folder / 'optuna.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    space = {"C": FloatDistribution(1e-3, 1e2, log=True), "n_mfcc": IntDistribution(8, 40),
             "class_weight": CategoricalDistribution(["none", "balanced"])}
    plan = [  # params, intermediate values, final state
        ({"C": 0.01, "n_mfcc": 20, "class_weight": "none"}, [0.30, 0.35], TrialState.COMPLETE),
        ({"C": 0.5, "n_mfcc": 13, "class_weight": "balanced"}, [0.40, 0.46], TrialState.COMPLETE),
        ({"C": 10.0, "n_mfcc": 20, "class_weight": "none"}, [0.45, 0.52], TrialState.COMPLETE),
        ({"C": 0.002, "n_mfcc": 8, "class_weight": "none"}, [0.10], TrialState.PRUNED),
        ({"C": 3.0, "n_mfcc": 32, "class_weight": "balanced"}, [], TrialState.FAIL),
        ({"C": 50.0, "n_mfcc": 40, "class_weight": "balanced"}, [0.42, 0.44], TrialState.COMPLETE),
    ]
    for number, (params, steps, state) in enumerate(plan):
        study.enqueue_trial(params)
        trial = study.ask(space)
        for step, value in enumerate(steps):
            trial.report(value, step)
        if state is TrialState.COMPLETE:
            run = run_of_trial.get(number)
            value = json.loads((run / "result.json").read_text())["score"] if run else steps[-1] + 0.01
            study.tell(trial, value)
        else:
            study.tell(trial, state=state)
    best = study.best_trial.number
    record = {
        "study": name, "storage": storage, "task": "esc50", "solution": "baseline", "metric": "accuracy",
        "direction": "max", "fixed": {"preset": "tiny", "folds": [1, 2, 3, 4, 5]},
        "space": {"C": "float 0.001 to 100, log", "n_mfcc": "int 8 to 40",
                  "class_weight": "one of none, balanced"},
        "protocol": "each trial is scored on the validation split of the training folds; the test folds are "
                    "not seen until the tuned run",
        "best_run": _rel(run_of_trial.get(best), folder.parent),
        "trials": [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
                    "run_dir": _rel(run_of_trial.get(t.number), folder.parent),
                    "intermediate": {str(k): v for k, v in t.intermediate_values.items()}}
                   for t in study.trials],
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record, indent=1))
    return path


def _rel(path: Path | None, root: Path) -> str | None:
    return os.path.relpath(path, root) if path else None


# ---------------------------------------------------------------- what a page shows

def console_entries(driver) -> list[dict]:
    return driver.get_log("browser")


def plots(driver) -> list[dict]:
    """Each figure slot on the page: is it a plotly graph, with traces and drawn SVG marks?"""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('.figure')).map(function (node) {
          var marks = Array.from(node.querySelectorAll('.cartesianlayer .trace path, .cartesianlayer .trace image, .cartesianlayer .hm image'))
            .filter(function (el) {
              if (el.tagName.toLowerCase() === 'image') return true;
              var d = el.getAttribute('d') || '';
              return d.length > 4 && d !== 'M0,0Z';
            });
          var traces = (node.data || []).filter(function (t) {
            return ['x', 'y', 'z'].some(function (k) { return Array.isArray(t[k]) && t[k].length > 0; });
          });
          var title = node.querySelector('.gtitle');
          return {id: node.id, plotly: node.classList.contains('js-plotly-plot'), traces: traces.length,
                  marks: marks.length, title: title ? title.textContent : '',
                  xtitle: (node.querySelector('.xtitle') || {}).textContent || '',
                  ytitle: (node.querySelector('.ytitle') || {}).textContent || ''};
        });
    """)


def local_links(driver) -> list[str]:
    """Every link on the page that is not to another site, as the browser resolved it."""
    hrefs = driver.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    return [h for h in hrefs if urlparse(h).scheme == "file"]


def link_target(url: str) -> tuple[Path, str]:
    parsed = urlparse(url)
    return Path(unquote(parsed.path)), parsed.fragment


def resources(driver) -> list[str]:
    """Every URL the page loaded (scripts, styles, images)."""
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])")


def screenshot(driver, path: Path) -> Path:
    """The whole page, not only the first screenful."""
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    driver.set_window_size(1280, min(max(int(height), 900), 12000))
    time.sleep(0.3)  # plotly's responsive figures redraw on resize
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    return path
