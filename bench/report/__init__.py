"""Static HTML reports: one page per run and a leaderboard index, viewable offline.

    render_run(run_dir, reports_dir)  -> reports_dir/runs/<run_id>.html
    render_index(rows, reports_dir)   -> reports_dir/index.html

`figures` computes the numbers behind each figure; `render` draws them and fills the
templates.
"""

from bench.report.render import render_index, render_run

__all__ = ["render_index", "render_run"]
