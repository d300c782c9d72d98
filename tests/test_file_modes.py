"""What atomic writes leave on disk: the modes a plain write would give (not mkstemp's
0600 and mkdtemp's 0700), and no temporaries of killed writers after the next run,
while a live writer's temporaries are left alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

from conftest import REPO, run_cli

from bench.core.atomic import atomic_dir, write_text


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_files_and_folders_get_the_umask_mode(tmp_path):
    for mask, file_mode, dir_mode in ((0o022, 0o644, 0o755), (0o027, 0o640, 0o750)):
        folder = tmp_path / f"m{mask:o}"
        with umask(mask):
            write_text(folder / "page.html", "<p>hi</p>")
            with atomic_dir(folder / "dataset") as tmp:
                (tmp / "train").mkdir()
        assert _mode(folder / "page.html") == file_mode
        assert _mode(folder / "dataset") == dir_mode and _mode(folder / "dataset" / "train") == dir_mode
    private = tmp_path / "private.json"
    private.write_text("{}")
    private.chmod(0o600)
    with umask(0o022):
        write_text(private, "{}\n")  # a file the user made private stays private, as `open(..., "w")` keeps it
    assert _mode(private) == 0o600


def _killed_writer(kind: str, target: Path) -> None:
    """A writer that dies inside an atomic write, leaving its temporary behind."""
    body = {"dir": "with atomic_dir(target) as tmp:\n    (tmp / 'train').mkdir()\n    os._exit(9)",
            "file": "with atomic_path(target) as tmp:\n    tmp.write_text('half a page')\n    os._exit(9)"}[kind]
    script = f"import os, sys\nfrom pathlib import Path\nfrom bench.core.atomic import atomic_dir, atomic_path\n" \
             f"target = Path(sys.argv[1])\n{body}\n"
    proc = subprocess.run([sys.executable, "-c", script, str(target)], env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 9


def test_a_run_under_umask_022_writes_a_readable_site_and_cleans_killed_writers_strays(tmp_path):
    cache, reports = tmp_path / "cache", tmp_path / "reports"
    datasets = cache / "datasets"
    reports.mkdir()
    # first a writer that stays alive (sleeping inside its atomic write) while the run goes on
    live = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from bench.core.atomic import atomic_path
        with atomic_path({str(reports / 'index.html')!r}) as tmp:
            tmp.write_text('being written')
            print('ready', flush=True)
            time.sleep(300)
    """)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert live.stdout.readline().strip() == "ready"
        _killed_writer("dir", datasets / "kaggle5-synth-v1-n10-t10-s0")
        _killed_writer("file", reports / "index.html")
        old_style = reports / ".tmp-index.html.k2j4h6g8"  # named before owners were recorded
        old_style.write_text("")
        long_ago = time.time() - 3 * 3600
        os.utime(old_style, (long_ago, long_ago))
        young_unknown = reports / ".tmp-run.html.a1b2c3d4"  # owner unknown and recent: may be writing still
        young_unknown.write_text("")
        strays = lambda folder: sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))  # noqa: E731
        before = strays(reports)
        assert len(strays(datasets)) == 1 and len(before) == 4
        live_name = next(n for n in before if f"-{live.pid}." in n)
        with umask(0o022):
            out = run_cli("run", "task=kaggle5", "solution=baseline", "preset=tiny", "progress=false",
                          cwd=tmp_path, cache=cache)
        assert strays(datasets) == []
        assert strays(reports) == sorted([live_name, young_unknown.name])
    finally:
        live.kill()
        live.wait()
    run_dir = tmp_path / out.stdout.strip().splitlines()[-1]
    dataset = datasets / "kaggle5-synth-v1-n10-t10-s0"
    assert _mode(dataset) == 0o755 and _mode(dataset / "train") == 0o755
    for path in (run_dir / "result.json", run_dir / "config.json", reports / "index.html",
                 reports / "runs" / f"{run_dir.name}.html", reports / "assets" / "plotly.min.js",
                 tmp_path / "leaderboard.csv"):
        assert _mode(path) == 0o644, f"{path} is {oct(_mode(path))}"
