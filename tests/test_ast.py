"""ast: patch grid, positional-embedding resampling, local pretrained checkpoints, the CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from bench.core.config import ConfigError
from bench.core.contracts import AudioSpec, FitContext, TaskInfo, TaskKind
from solutions.ast import AST, ASTParams
from solutions.ast.model import patch_grid, resample_pos_embed
from solutions.ast.pretrained import load_pretrained

INFO = TaskInfo("t", TaskKind.CLASSIFICATION, AudioSpec(8000, 1.0), classes=("a", "b", "c"))


def make(**overrides) -> AST:
    return AST(ASTParams(**{**AST.presets["tiny"], **overrides}), INFO)


def test_patch_grid_of_the_paper():
    assert patch_grid(128, 1024, 10, 10) == (12, 101)  # AST on AudioSet: 1212 patches
    assert patch_grid(128, 1024, 16, 16) == (8, 64)  # no overlap
    net = make(n_mels=48, hop_length=128).build_model()  # 48 mels, 63 frames
    assert net.grid == (4, 5) and net.pos_embed.shape == (1, 2 + 20, 32)


def test_pos_embed_resampling():
    pos = torch.randn(1, 2 + 3 * 4, 8)
    assert torch.equal(resample_pos_embed(pos, (3, 4), (3, 4)), pos)
    moved = resample_pos_embed(pos, (5, 7), (3, 4))
    assert moved.shape == (1, 2 + 35, 8)
    assert torch.equal(moved[:, :2], pos[:, :2])  # class and distillation embeddings kept
    flat = torch.cat([pos[:, :2], torch.ones(1, 12, 8) * torch.arange(8.0)], dim=1)
    torch.testing.assert_close(resample_pos_embed(flat, (6, 2), (3, 4))[:, 2:], torch.ones(1, 12, 8) * torch.arange(8.0))
    with pytest.raises(ValueError, match="12 patch positions, not 5x5"):
        resample_pos_embed(pos, (3, 4), (5, 5))


def test_a_clip_of_another_length_gets_the_embedding_moved_to_its_grid():
    net = make().build_model().eval()
    assert net(torch.randn(2, 1, 32, 16)).shape == (2, 3)
    assert net(torch.randn(2, 1, 32, 57)).shape == (2, 3)


def test_loads_a_checkpoint_of_a_differently_sized_ast(tmp_path):
    source = make(n_mels=48, hop_length=256)  # a 4x2 patch grid; the target's is 2x1
    source.save(tmp_path)
    old = source.model[1]
    net = make().build_model()
    head = {k: v.clone() for k, v in net.mlp_head.state_dict().items()}
    notes = load_pretrained(net, tmp_path / "weights.safetensors")
    assert notes == ["pos_embed resampled from a 4x2 to a 2x1 patch grid"]
    for key, value in old.blocks.state_dict().items():
        assert torch.equal(net.blocks.state_dict()[key], value), key
    assert torch.equal(net.cls_token, old.cls_token) and torch.equal(net.dist_token, old.dist_token)
    assert torch.equal(net.pos_embed, resample_pos_embed(old.pos_embed, (2, 1), (4, 2)))
    assert all(torch.equal(net.mlp_head.state_dict()[k], v) for k, v in head.items())  # head stays fresh


def test_loads_an_image_deit_checkpoint_in_the_original_ast_layout(tmp_path):
    theirs = make().build_model().state_dict()
    state = {f"module.v.{k}": v for k, v in theirs.items()
             if k not in ("patch_grid", "dist_token", "pos_embed") and not k.startswith("mlp_head")}
    kernel = torch.randn(32, 3, 16, 16)
    state["module.v.patch_embed.proj.weight"] = kernel
    state["module.v.pos_embed"] = torch.randn(1, 1 + 3 * 3, 32)  # ViT: class token only, square 3x3 grid
    state["module.v.head.weight"] = torch.randn(1000, 32)
    path = tmp_path / "deit.pth"
    torch.save({"model": state}, path)
    net = make().build_model()
    notes = load_pretrained(net, path)
    assert len(notes) == 3 and "3x3 to a 2x1" in notes[1]
    assert torch.equal(net.patch_embed.proj.weight, kernel.mean(1, keepdim=True))
    assert torch.equal(net.dist_token, net.cls_token)
    assert torch.equal(net.pos_embed[:, 0], net.pos_embed[:, 1])


def test_a_checkpoint_that_does_not_fit_is_refused_naming_the_file_and_keys(tmp_path):
    wide = tmp_path / "wide.safetensors"
    save_file(make(embed_dim=48).build_model().state_dict(), str(wide))
    with pytest.raises(ConfigError, match=r"wide\.safetensors.*blocks\.0\.attn\.qkv\.weight: checkpoint \(144, 48\), network \(96, 32\)"):
        load_pretrained(make().build_model(), wide)
    deep = tmp_path / "deep.safetensors"
    save_file(make(depth=3).build_model().state_dict(), str(deep))
    with pytest.raises(ConfigError, match=r"deep\.safetensors.*unexpected keys blocks\.2\."):
        load_pretrained(make().build_model(), deep)
    for bad, reason in ((tmp_path / "none.pth", "file not found"), (tmp_path / "w.npz", "expected a")):
        with pytest.raises(ConfigError, match=f"{bad.name}.*{reason}|{reason}.*{bad.name}"):
            load_pretrained(make().build_model(), bad)


def test_fit_says_whether_it_started_from_pretrained_weights(tmp_path, caplog):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 1, 32, 16)).astype(np.float32), np.arange(8) % 3
    ctx = FitContext(workdir=tmp_path / "a", progress=False, log=logging.getLogger("bench.test"))
    scratch = make(epochs=1)
    with caplog.at_level(logging.INFO, logger="bench.test"):
        notes = scratch.fit(x, y, None, None, ctx).notes
    assert "training starts from random weights" in caplog.text and notes == {"init": "random-init", "tags": ["random-init"]}
    scratch.save(tmp_path / "w")
    weights = tmp_path / "w" / "weights.safetensors"
    tuned = make(epochs=1, pretrained=weights)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bench.test"):
        notes = tuned.fit(x, y, None, None, FitContext(workdir=tmp_path / "b", seed=1, progress=False, log=ctx.log)).notes
    assert "loaded pretrained weights" in caplog.text and notes == {"init": f"pretrained:{weights}", "tags": ["pretrained"]}
    # another seed, yet one epoch later the backbone is next to the checkpoint's: it started there
    start = scratch.model[1].blocks.state_dict()
    moved = [float((v - start[k]).abs().max()) for k, v in tuned.model[1].blocks.state_dict().items()]
    assert 0 < max(moved) < 0.01


def test_settings_that_cannot_work_are_refused():
    with pytest.raises(ConfigError, match="embed_dim=30 is not a multiple of heads=4"):
        make(embed_dim=30, heads=4)
    with pytest.raises(ConfigError, match="fewer than one 16-frame patch; lower hop_length"):
        make(hop_length=1024)


@pytest.mark.slow
def test_cli_run_on_one_esc50_fold(cli, tmp_path):
    proc = cli("run", "task=esc50", "solution=ast", "preset=tiny", "folds=1", "progress=false", "report=false")
    run_dir = tmp_path / Path(proc.stdout.strip().splitlines()[-1])
    result = json.loads((run_dir / "result.json").read_text())
    assert result["solution"] == "ast" and result["n_folds"] == 1 and result["partial"]
    assert result["config"]["solution"]["depth"] == 2 and result["tags"] == ["random-init"]
    fold = result["folds"][0]
    assert fold["scored_on"] == "test" and len(fold["history"]) == 3
    assert all(np.isfinite(row["train_loss"]) for row in fold["history"])
    confusion = np.asarray(fold["confusion"])
    assert confusion.sum() == fold["n_test"] > 0 and confusion.shape == (len(result["classes"]),) * 2
    assert result["score"] == fold["score"] == pytest.approx(np.trace(confusion) / confusion.sum())
    assert "no pretrained= file given: training starts from random weights" in (run_dir / "run.log").read_text()
    assert (run_dir / "folds" / fold["name"] / "model" / "weights.safetensors").exists()
