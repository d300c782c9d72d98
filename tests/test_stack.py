"""The installed torch stack loads, runs a transform, and is the one pyproject pins; `bench env` reports it."""

from __future__ import annotations

import json
import math
import re
import tomllib
from importlib import metadata

import pytest
import torch
from conftest import REPO

TORCH_STACK = ("torch", "torchaudio", "torchvision")


def _requirements() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


def _pins() -> dict[str, str]:
    pins = {}
    for req in _requirements():
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][0-9A-Za-z.]*)", req.replace(" ", ""))
        if m:
            pins[m.group(1)] = m.group(2)
    return pins


def test_torchaudio_imports_and_transforms():
    # torchaudio 2.11.1 beside torch 2.11.0 fails right here with an undefined symbol
    import torchaudio

    sr_in, sr_out, hz = 8000, 22050, 1000.0
    t = torch.arange(sr_in) / sr_in
    wave = torchaudio.functional.resample(torch.sin(2 * math.pi * hz * t), sr_in, sr_out)
    assert wave.numel() == sr_out
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=sr_out, n_fft=1024, hop_length=512, n_mels=64)(wave)
    assert mel.shape == (64, sr_out // 512 + 1)
    spectrum = torch.fft.rfft(wave[2000:-2000]).abs()
    peak_hz = spectrum.argmax().item() * sr_out / (wave.numel() - 4000)
    assert abs(peak_hz - hz) < 5


def test_torch_stack_pinned_exactly_and_installed_as_pinned():
    pins = _pins()
    for name in TORCH_STACK:
        assert name in pins, f"pyproject.toml must pin {name} with == (a wildcard let torchaudio 2.11.1 in)"
        installed = metadata.version(name).split("+")[0]
        assert installed == pins[name], f"{name} {installed} is installed, pyproject pins {pins[name]}"


def test_constraints_file_agrees_with_pyproject():
    locked = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            locked[name.lower()] = version
    for name, version in _pins().items():
        assert locked.get(name.lower()) == version, f"constraints.txt locks {name} at {locked.get(name.lower())}, pyproject pins {version}"
    assert "scipy" in locked  # imported by bench.results.compare, declared since


def test_bench_env_reports_stack_and_cache(cli, cache_dir):
    proc = cli("env", "--json")
    env = json.loads(proc.stdout)["rows"]
    assert env["torch"].startswith(metadata.version("torch"))
    assert env["torchaudio"].startswith(metadata.version("torchaudio"))
    assert env["cache folder"].startswith(str(cache_dir))
    assert {"devices", "chromium", "postgresql", "torch threads"} <= set(env)


def test_bench_env_reports_broken_torchaudio_instead_of_crashing(cli, tmp_path):
    # a torchaudio that fails at import as an ABI-mismatched build does
    fake = tmp_path / "shadow" / "torchaudio"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise OSError('libtorchaudio.so: undefined symbol: torch_exception_get_what_without_backtrace')\n")
    proc = cli("env", check=False, env_extra={"PYTHONPATH": str(fake.parent)})
    assert proc.returncode == 1, proc.stderr
    assert "IMPORT FAILED: libtorchaudio.so: undefined symbol" in proc.stdout
    assert "`import torchaudio` fails" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("bad", [["--yaml"], ["x=1"]])
def test_bench_env_rejects_unknown_arguments(cli, bad):
    proc = cli("env", *bad, check=False)
    assert proc.returncode == 2 and "usage: bench env" in proc.stderr
