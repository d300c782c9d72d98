"""Writing pages: the jinja2 environment, the figure JSON, plotly.js beside the pages, links.

Pages are static files that work offline: plotly.js is copied once beside them and
loaded by a relative path, the CSS and the little page script are inlined, and
figures travel as JSON inside the page. Every value from a record is escaped by
jinja2's autoescape; the one hand-made piece of markup (the figure JSON) is escaped
for a <script> block here.
"""

from __future__ import annotations

import json
import math
import os
import pkgutil
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Collection
from urllib.parse import quote

from bench.core.atomic import write_bytes, write_text

TEMPLATES = Path(__file__).parent / "templates"
PLOTLY_ASSET = Path("assets") / "plotly.min.js"
# Run ids, study names and task names become file names; anything else could write
# outside reports_dir.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def safe_name(name: str, what: str, source: Path) -> str:
    if not SAFE_NAME.match(name):
        raise ValueError(f"{source}: {what} {name!r} is not a safe file name (letters, digits, '.', '_', '-')")
    return name


def write_page(path: Path, template: str, *, root: str, figures: dict[str, dict], **context: Any) -> Path:
    """Render `template` to `path` (atomically), with plotly.js copied beside the pages.

    `root` is the way from the page's folder back to reports_dir ("" or "../").
    """
    from markupsafe import Markup

    reports_dir = path.parent if not root else Path(os.path.normpath(path.parent / root))
    copy_plotly(reports_dir)
    css = Markup((TEMPLATES / "style.css").read_text(encoding="utf-8"))
    html = _env().get_template(template).render(
        css=css, figures_json=Markup(script_json(figures)), root=root,
        plotly_src=root + PLOTLY_ASSET.as_posix(), **context)
    write_text(path, html)
    return path


@lru_cache(maxsize=1)
def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def script_json(obj: Any) -> str:
    """JSON that cannot end its <script> block early, whatever names it holds."""
    text = json.dumps(_clean(obj), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _clean(obj: Any) -> Any:
    # JSON.parse rejects NaN, so a non-finite number becomes a gap (null) instead.
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def copy_plotly(reports_dir: Path) -> None:
    data = pkgutil.get_data("plotly", "package_data/plotly.min.js")
    if data is None:
        raise RuntimeError("plotly is installed without package_data/plotly.min.js; reinstall plotly")
    target = reports_dir / PLOTLY_ASSET
    # A size check is enough to notice a plotly upgrade and saves rewriting 4 MB per page.
    if not target.is_file() or target.stat().st_size != len(data):
        write_bytes(target, data)


def href(target: Path, page_dir: Path, planned: Collection[Path] = ()) -> str | None:
    """A relative link from a page in `page_dir` to `target`, or None when it is not there
    and not among the pages being written (`planned`)."""
    if not target.exists() and target not in planned:
        return None
    try:
        return quote(Path(os.path.relpath(target.resolve(), page_dir.resolve())).as_posix())
    except ValueError:  # another drive on Windows: no relative path exists
        return None


def run_page(reports_dir: Path, run_id: str) -> Path:
    return reports_dir / "runs" / f"{run_id}.html"


def study_page(reports_dir: Path, study: str) -> Path:
    return reports_dir / "studies" / f"{study}.html"


def compare_page(reports_dir: Path, task: str) -> Path:
    return reports_dir / "compare" / f"{task}.html"
