"""`bench predict` on a record whose folds carry their own parameters, as nested tuning writes them."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_predict_builds_each_fold_with_its_own_parameters(tmp_path, cache_dir):
    # a run whose fold was fitted with n_mfcc=13 (the weights' shape depends on it) ...
    run_cli("run", "task=kaggle5", "solution=baseline", "preset=tiny", "progress=false", "report=false",
            "n_mfcc=13", cwd=tmp_path, cache=cache_dir)
    [run_dir] = (tmp_path / "runs").iterdir()
    path = run_dir / "result.json"
    result = json.loads(path.read_text())
    # ... recorded as nested tuning records it: the run's config has the default, the fold its tuned value
    result["config"]["solution"]["n_mfcc"] = 20
    result["folds"][0]["params"] = {"n_mfcc": 13}
    path.write_text(json.dumps(result))
    clips = sorted((Path(result["data"]["root"]) / "test").glob("*.wav"))[:3]
    proc = run_cli("predict", f"run={run_dir}", *map(str, clips), cwd=tmp_path, cache=cache_dir)
    rows = [line.split("\t") for line in proc.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == list(map(str, clips))
    with open(run_dir / "submission.csv") as fh:
        submitted = dict(line.strip().split(",") for line in list(fh)[1:])
    # the same model as the run's own submission: the fold's parameters were used, not the config's
    assert [r[1] for r in rows] == [submitted[c.name] for c in clips]

    result["folds"][0]["params"] = {"n_mfcc": "many"}
    path.write_text(json.dumps(result))
    bad = run_cli("predict", f"run={run_dir}", str(clips[0]), cwd=tmp_path, cache=cache_dir, check=False)
    assert bad.returncode == 2 and "'folds[0].params'" in bad.stderr and "Traceback" not in bad.stderr
