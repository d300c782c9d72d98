"""Atomic writes: a writer killed mid-save leaves the previous file intact and loadable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import torch

from bench.train.checkpoint import load_state, load_weights, save_state, save_weights


def test_writer_killed_halfway_leaves_previous_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_state(path, {"epoch": 1, "w": torch.arange(4.0)})
    script = textwrap.dedent(f'''
        import os, torch
        from bench.core.atomic import atomic_path
        with atomic_path({str(path)!r}) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(b"half a checkpoint")
                fh.flush()
                os._exit(9)  # dies before the rename, as a killed process would
    ''')
    proc = subprocess.run([sys.executable, "-c", script])
    assert proc.returncode == 9
    state = load_state(path)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.arange(4.0))
    strays = [p.name for p in tmp_path.iterdir() if p.name != "checkpoint.pt"]
    assert len(strays) == 1 and strays[0].startswith(".tmp-checkpoint.pt")
    # a later save still works and replaces the file
    save_state(path, {"epoch": 2})
    assert load_state(path)["epoch"] == 2


def test_damaged_state_raises_with_the_path(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"not a checkpoint")
    try:
        load_state(path)
    except RuntimeError as exc:
        assert str(path) in str(exc) and "delete the file" in str(exc)
    else:
        raise AssertionError("a damaged checkpoint was accepted")


def test_pickled_code_is_refused_by_weights_only(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"f": subprocess.Popen}, path)  # a class reference: not plain weights
    try:
        load_state(path)
    except RuntimeError as exc:
        assert "cannot restore" in str(exc)
    else:
        raise AssertionError("weights_only load accepted a pickled class")


def test_safetensors_roundtrip(tmp_path):
    save_weights(tmp_path / "w.safetensors", {"a": torch.ones(2, 3)})
    assert torch.equal(load_weights(tmp_path / "w.safetensors")["a"], torch.ones(2, 3))
