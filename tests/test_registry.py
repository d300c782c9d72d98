"""The registry: discovery of built-ins, did-you-mean, collisions, and third-party plugins."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from bench.core import registry
from bench.core.registry import Registry, RegistryError


def test_builtins_are_discovered():
    assert "kaggle5" in registry.tasks.names()
    assert {"audiocnn", "baseline"} <= set(registry.solutions.names())


def test_misspelt_name_gets_a_suggestion():
    with pytest.raises(RegistryError, match="unknown solution 'audiocn' \\(did you mean 'audiocnn'\\?\\)"):
        registry.solutions.get("audiocn")


def test_collisions_are_refused():
    reg = Registry("thing", "tasks", "bench.none")

    class One: ...

    class Two: ...

    reg.add("x", One)
    reg.add("x", One)  # the same class again (a re-import) is fine
    with pytest.raises(RegistryError, match="registered twice"):
        reg.add("x", Two)
    with pytest.raises(RegistryError, match="lower-case"):
        reg.add("Bad-Name", Two)


# a cross-validated regression task as a plugin writes it: a generator, a reader, its kind and metrics
PLUGIN_TASK = '''
    import csv
    from dataclasses import dataclass

    import numpy as np

    from bench.core.atomic import atomic_dir
    from bench.core.contracts import Clip, MetricSpec, TaskData, TaskKind
    from bench.core.registry import register_task
    from bench.protocols.crossval import CrossValConfig, CrossValTask


    @dataclass
    class LoudnessConfig(CrossValConfig):
        sample_rate: int = 8000
        clip_seconds: float = 0.5
        valid_fraction: float = 0.3


    @register_task("plugin_loudness")
    class Loudness(CrossValTask):
        kind = TaskKind.REGRESSION
        description = "loudness of a tone, three folds of source recordings (a plugin's task)"
        metric = MetricSpec("ccc", "max", ("rmse",))
        Config = LoudnessConfig
        n_folds = 3
        presets = {"tiny": {}}

        def read(self, root):
            with open(root / "clips.csv", newline="") as fh:
                return TaskData(root, [Clip(root / r["file"], target=(float(r["loudness"]),), group=r["source"],
                                            fold=int(r["fold"])) for r in csv.DictReader(fh)], targets=("loudness",))

        def synthesize(self, root):
            import soundfile as sf

            t = np.arange(4000) / 8000
            with atomic_dir(root) as tmp, open(tmp / "clips.csv", "w", newline="") as fh:
                fh.write("file,fold,source,loudness\\n")
                for i in range(36):
                    loud = 0.02 + 0.02 * i
                    sf.write(tmp / f"{i}.wav", (loud * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000)
                    fh.write(f"{i}.wav,{1 + i // 2 % 3},src{i // 2},{loud}\\n")

        def synthetic_name(self):
            return "plugin-loudness-v1"
'''


def _install_plugin(tmp_path, task: bool = False):
    """A package installed elsewhere that registers a solution (and, with `task`, a task) through entry points."""
    site = tmp_path / "site"
    pkg = site / "my_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        from bench.core.registry import register_solution
        from solutions.baseline import Baseline, BaselineParams

        @register_solution("plugin_baseline")
        class PluginBaseline(Baseline):
            description = "a baseline shipped by a plugin"
    '''))
    dist = site / "my_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 0.1\n")
    entry_points = "[bench.solutions]\nplugin_baseline = my_plugin\n"
    if task:
        (pkg / "loudness.py").write_text(textwrap.dedent(PLUGIN_TASK))
        entry_points += "[bench.tasks]\nplugin_loudness = my_plugin.loudness\n"
    (dist / "entry_points.txt").write_text(entry_points)
    return site


def test_plugin_from_another_installed_package(tmp_path):
    site = _install_plugin(tmp_path)
    code = "from bench.core import registry; print(registry.solutions.get('plugin_baseline').description)"
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(site), "PATH": ""},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "a baseline shipped by a plugin"
    listing = subprocess.run([sys.executable, "-m", "bench", "list"], env={"PYTHONPATH": str(site), "PATH": "", "COLUMNS": "200"},
                             capture_output=True, text=True, check=True)
    assert "plugin_baseline" in listing.stdout


@pytest.mark.slow
def test_plugin_proves_conformance_in_three_lines(tmp_path, cache_dir):
    """The plugin's own test file, as its README would show it, run by pytest outside this repository."""
    site = _install_plugin(tmp_path, task=True)
    tests = tmp_path / "plugin_tests"
    tests.mkdir()
    (tests / "test_conformance.py").write_text(
        "from bench.testing import SolutionConformance, TaskConformance\n"
        "class TestPluginBaseline(SolutionConformance):\n"
        "    solution = \"plugin_baseline\"\n"
        "class TestPluginTask(TaskConformance):\n"
        "    task = \"plugin_loudness\"\n"
        "    solutions = (\"plugin_baseline\",)\n")
    base = tmp_path / "pytest-tmp"
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={base}",
                          "test_conformance.py"],
                         cwd=tests, env={"PYTHONPATH": str(site), "PATH": "", "BENCH_CACHE_DIR": str(cache_dir)},
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "7 passed" in out.stdout, out.stdout  # four checks of the solution, three of the task
    # the tiny runs went through the real pipeline: the solution once on every task of a kind it
    # claims (the plugin's own included), the task once with the solution it names
    ran = [json.loads(p.read_text()) for p in base.glob("**/runs/*/result.json")]
    kinds = registry.solutions.get("baseline").kinds
    builtin = [t for t, cls in registry.tasks.items() if cls.kind in kinds]
    assert sorted(r["task"] for r in ran) == sorted([*builtin, "plugin_loudness", "plugin_loudness"])
    assert {r["solution"] for r in ran} == {"plugin_baseline"}
    assert all(r["metric"] == "ccc" for r in ran if r["task"] == "plugin_loudness")


def test_broken_plugin_does_not_hide_others(tmp_path):
    site = tmp_path / "site"
    (site / "broken_plugin").mkdir(parents=True)
    (site / "broken_plugin" / "__init__.py").write_text("raise ImportError('needs a missing library')\n")
    dist = site / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bench.solutions]\nbroken = broken_plugin\n")
    out = subprocess.run([sys.executable, "-m", "bench", "list"], env={"PYTHONPATH": str(site), "PATH": "", "COLUMNS": "200"},
                         capture_output=True, text=True)
    assert out.returncode == 0
    assert "audiocnn" in out.stdout and "broken_plugin failed to load" in out.stdout
