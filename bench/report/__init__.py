"""Static HTML reports, viewable offline: a page per run, per study and per task comparison.

    render_run(run_dir, reports_dir)                  -> reports_dir/runs/<run_id>.html
    render_study(study_json, reports_dir)             -> reports_dir/studies/<study>.html
    render_index(runs_dir, reports_dir, studies_dir)  -> reports_dir/index.html, compare/<task>.html
    render_runs(run_dirs, runs_dir, reports_dir, studies_dir) -> those run pages and the index
    render_all(runs_dir, reports_dir, studies_dir)    -> every page above

Data modules compute the numbers behind each page (figures: a run; records: the
run records per task; comparison: paired tests between a task's runs; study_data: a
study); *_plots draw them as plotly figure dicts; *_page, site and pages fill the
templates and write the files. Reads records and study files; may import `bench.core`,
`bench.data`, `bench.protocols`, `bench.train` and `bench.results`, never `bench.run` or `bench.tuning`.
"""

from bench.report.run_page import render_run
from bench.report.site import Site, render_all, render_index, render_runs
from bench.report.study_page import render_study

__all__ = ["Site", "render_all", "render_index", "render_run", "render_runs", "render_study"]
