"""The registry: discovery of built-ins, did-you-mean, collisions, and third-party plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bench import registry
from bench.registry import Registry, RegistryError


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


def test_plugin_from_another_installed_package(tmp_path):
    """A package installed elsewhere registers a solution through the bench.solutions entry point."""
    site = tmp_path / "site"
    pkg = site / "my_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        from bench.registry import register_solution
        from solutions.baseline import Baseline, BaselineParams

        @register_solution("plugin_baseline")
        class PluginBaseline(Baseline):
            description = "a baseline shipped by a plugin"
    '''))
    dist = site / "my_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bench.solutions]\nplugin_baseline = my_plugin\n")
    code = "from bench import registry; print(registry.solutions.get('plugin_baseline').description)"
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(site), "PATH": ""},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "a baseline shipped by a plugin"
    listing = subprocess.run([sys.executable, "-m", "bench", "list"], env={"PYTHONPATH": str(site), "PATH": "", "COLUMNS": "200"},
                             capture_output=True, text=True, check=True)
    assert "plugin_baseline" in listing.stdout


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
