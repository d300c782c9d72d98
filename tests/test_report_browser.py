"""The report site in a real headless Chromium: pages load without console errors, every
figure draws, every local link resolves, nothing is fetched from the network, and the
sortable tables and the comparison picker work.

The site is made by the real CLI (tiny presets) and a real optuna study; see
tests/browser.py. Screenshots of every page are kept (the path is printed).
"""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path

import browser as B
import pytest
from browser import (
    SCORE,
    STUDY,
    build_site,
    console_entries,
    link_target,
    local_links,
    plots,
    resources,
    screenshot,
)

pytestmark = pytest.mark.slow
browser, screenshot_dir = B.browser, B.screenshot_dir  # fixtures


@pytest.fixture(scope="module")
def site(tmp_path_factory, cache_dir):
    return build_site(tmp_path_factory.mktemp("site"), cache_dir)


def _open(driver, page: Path) -> None:
    driver.get(page.resolve().as_uri())
    deadline = time.time() + 20
    while time.time() < deadline:  # plotly draws after the load event
        drawn = driver.execute_script(
            "return document.readyState === 'complete' && Array.from(document.querySelectorAll('.figure'))"
            ".every(n => n.classList.contains('js-plotly-plot') && n.querySelector('.main-svg'))")
        if drawn:
            return
        time.sleep(0.1)


def _errors(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e.get("level") in ("SEVERE", "WARNING")]


def test_bench_report_rebuilds_every_page(site):
    reports = site["reports"]
    assert "rendered 7 run page(s), 1 study page(s), 1 comparison page(s), 1 score page(s)" in site["report_stdout"]
    for run in site["runs"].values():
        assert (reports / "runs" / f"{run.name}.html").is_file()
    assert (reports / "studies" / f"{STUDY}.html").is_file() and (reports / "compare" / "esc50.html").is_file()
    assert not (reports / "compare" / "kaggle5.html").exists()  # one run: nothing to compare


def test_every_page_loads_cleanly_draws_its_figures_and_links_resolve(site, browser, screenshot_dir):
    reports = site["reports"].resolve()
    queue, seen, kinds = deque([reports / "index.html"]), set(), set()
    while queue:
        page = queue.popleft()
        if page in seen:
            continue
        seen.add(page)
        _open(browser, page)
        where = page.relative_to(reports)
        assert not _errors(console_entries(browser)), f"{where}: console errors {console_entries(browser)}"
        for url in resources(browser):
            assert url.startswith("file://"), f"{where} fetched {url}: pages must work offline"
        for fig in plots(browser):
            assert fig["plotly"] and fig["traces"] > 0 and fig["marks"] > 0, f"{where}: empty figure {fig}"
            assert fig["title"] and fig["xtitle"] and fig["ytitle"], f"{where}: figure without labels {fig}"
        for url in local_links(browser):
            target, fragment = link_target(url)
            assert target.exists(), f"{where} links to {url}, which does not exist"
            if fragment and target == page:
                assert browser.find_elements("id", fragment), f"{where}: no #{fragment} on the page"
            if target.suffix == ".html" and target.is_relative_to(reports):
                queue.append(target)
        kinds.add(where.parts[0] if len(where.parts) > 1 else "index")
        screenshot(browser, screenshot_dir / f"{'-'.join(where.with_suffix('').parts)}.png")
    assert kinds == {"index", "runs", "studies", "compare", "scores"}
    # every page of the site is reached from the index: runs, study, comparison, score, the GAN round's two scores
    assert len(seen) == 1 + 7 + 1 + 1 + 1 + 2


def test_index_marks_tuned_runs_and_sorts_by_a_column(site, browser):
    _open(browser, site["reports"] / "index.html")
    section = browser.find_element("xpath", "//section[h2[starts-with(normalize-space(.), 'esc50')]]")
    table = section.find_element("css selector", "table.runs")
    run_ids = lambda: [c.text for c in table.find_elements("css selector", "tbody td.run code")]  # noqa: E731
    tuned = {r.name for k, r in site["runs"].items() if k.startswith("trial")}
    rows = table.find_elements("css selector", "tbody tr")
    marked = {r.find_element("css selector", "td.run code").text for r in rows
              if r.find_elements("css selector", ".badge.tuned a[href$='studies/%s.html']" % STUDY)}
    assert marked == tuned
    scores = lambda: [float(c.get_attribute("data-sort")) for c in table.find_elements("css selector", "tbody td:nth-child(4)")]  # noqa: E731
    assert scores() == sorted(scores(), reverse=True)  # best first
    before = run_ids()
    heading = table.find_element("xpath", ".//th[starts-with(normalize-space(.), 'score')]")
    heading.click()
    assert scores() == sorted(scores()) and heading.get_attribute("aria-sort") == "ascending"
    heading.click()
    assert scores() == sorted(scores(), reverse=True) and sorted(run_ids()) == sorted(before)
    assert not _errors(console_entries(browser))


def test_compare_picker_swaps_the_runs(site, browser):
    from selenium.webdriver.support.ui import Select

    _open(browser, site["reports"] / "compare" / "esc50.html")
    pick_a, pick_b = Select(browser.find_element("id", "run-a")), Select(browser.find_element("id", "run-b"))
    assert (pick_a.first_selected_option.get_attribute("value"), pick_b.first_selected_option.get_attribute("value")) == ("0", "1")
    first = browser.find_element("id", "pair-tests").text
    assert "paired t-test" in first and "Wilcoxon" in first
    pick_a.select_by_value("1")
    pick_b.select_by_value("0")
    swapped = browser.find_element("id", "pair-tests").text
    t = lambda text: float(re.search(r"t = (-?[0-9.]+)", text).group(1))  # noqa: E731
    assert t(swapped) == pytest.approx(-t(first))
    names = browser.execute_script("return document.getElementById('fig-compare').data.map(t => t.name)")
    runs = browser.find_elements("css selector", "#pair-runs tbody code")
    assert names == [f"A: {runs[0].text}", f"B: {runs[1].text}"]
    assert len(browser.find_elements("css selector", "#pair-folds tbody tr")) == 5
    pick_b.select_by_value("1")
    assert "Pick two different runs" in browser.find_element("id", "pair-folds").text
    assert not _errors(console_entries(browser))


def test_index_fits_a_1400_px_window_and_marks_synthetic_data(site, browser, screenshot_dir):
    browser.set_window_size(1400, 900)
    try:
        _open(browser, site["reports"] / "index.html")
        assert browser.execute_script("return window.innerWidth") == 1400
        overflowing = browser.execute_script(
            "return Array.from(document.querySelectorAll('.scroll')).filter(e => e.scrollWidth > e.clientWidth + 1)"
            ".map(e => [e.closest('section').id, e.clientWidth, e.scrollWidth])")
        assert overflowing == [], "tables wider than the window (section, visible px, full px)"
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 1400
        heading = browser.find_element("css selector", "section .data-for").text
        assert heading.startswith("Runs on embedded synthetic data") and "data id" in heading
        marked = browser.find_elements("css selector", "table.runs td .tag.synthetic")
        assert len(marked) == len(site["runs"])  # every run of the site is on the embedded data
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1400, min(int(height), 12000))  # the whole page, still 1400 px wide
        browser.save_screenshot(str(screenshot_dir / "index-1400px.png"))
    finally:
        browser.set_window_size(1280, 900)


def test_confusion_matrix_is_lightest_where_empty_with_counts_and_row_shares(site, browser, screenshot_dir):
    _open(browser, site["reports"] / "runs" / f"{site['runs']['kaggle5'].name}.html")
    drawn = browser.execute_script("""
        var node = document.getElementById('fig-confusion'), trace = node._fullData[0];
        return {scale: trace.colorscale, zmin: trace.zmin, counts: trace.customdata,
                cells: Array.from(node.querySelectorAll('.hm text, .heatmaplayer text, text'))
                  .map(t => Array.from(t.querySelectorAll('tspan')).map(s => s.textContent).join('|') || t.textContent)};
    """)
    shades = [_luminance(colour) for _, colour in drawn["scale"]]
    assert drawn["zmin"] == 0 and shades[0] == max(shades) and shades[-1] == min(shades)
    counts = [c for row in drawn["counts"] for c in row]
    nonzero = [c for c in counts if c]
    shares = [t for t in drawn["cells"] if t.endswith("%") and "|" in t]
    assert len(shares) == len(nonzero) and sorted(int(t.split("|")[0]) for t in shares) == sorted(nonzero)
    assert sum(t == "0" for t in drawn["cells"]) >= counts.count(0)
    browser.execute_script("document.getElementById('fig-confusion').scrollIntoView()")
    browser.find_element("id", "fig-confusion").screenshot(str(screenshot_dir / "confusion-matrix.png"))


def _luminance(colour: str) -> float:
    """'#rrggbb' or plotly's 'rgb(r, g, b)'."""
    if colour.startswith("#"):
        rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    else:
        rgb = [float(x) for x in re.findall(r"[0-9.]+", colour)[:3]]
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def test_score_page_shows_each_score_between_its_floors_and_ceilings(site, browser, screenshot_dir):
    _open(browser, site["reports"] / "scores" / f"{SCORE}.html")
    ladders = browser.execute_script("""
        return Array.from(document.querySelectorAll('[id^=fig-ladder-]')).map(function (node) {
          var t = node.data[0];
          return {id: node.id, sets: t.y, values: t.x, title: node.layout.title.text};
        });
    """)
    assert [f["id"] for f in ladders] == ["fig-ladder-frechet", "fig-ladder-frechet_inf", "fig-ladder-kernel"]
    for fig in ladders:
        assert fig["sets"][:3] == ["real vs real (floor)", "vocoder floor", "generated"], fig
        assert "floor → ceiling" in fig["title"], fig  # the generated set's place between them, in words
        values = dict(zip(fig["sets"], fig["values"]))
        assert values["generated"] < min(values[c] for c in fig["sets"] if "ceiling" in c), fig
    rows = [r.text for r in browser.find_elements("css selector", "#scores tbody tr")]
    assert len(rows) == 6 and rows[0].startswith("real vs real")
    assert len(browser.find_elements("css selector", "#classes tbody tr")) == 10
    assert browser.find_element("id", "memorisation").text.startswith("Memorisation\nNot flagged")
    assert not _errors(console_entries(browser))
    screenshot(browser, screenshot_dir / "score-page.png")


def test_generation_run_page_draws_spectrograms_and_plays_its_clips(site, browser, screenshot_dir):
    _open(browser, site["reports"] / "runs" / f"{site['runs']['gan'].name}.html")
    grid = browser.execute_script("""
        var node = document.getElementById('fig-spectrograms');
        return {traces: node.data.length, heatmaps: node.querySelectorAll('.hm image, .heatmaplayer image').length,
                names: node.data.map(function (t) { return t.name; })};
    """)
    assert grid["traces"] == 20 and grid["heatmaps"] >= 20, grid  # ten classes, real beside generated
    assert "dog · real" in grid["names"] and "dog · generated" in grid["names"]
    deadline = time.time() + 20
    while time.time() < deadline:  # metadata loads after the page
        audio = browser.execute_script("""
            return Array.from(document.querySelectorAll('audio')).map(function (a) {
              return {state: a.readyState, duration: a.duration, error: a.error ? a.error.code : null}; });
        """)
        if audio and all(a["state"] >= 1 for a in audio):
            break
        time.sleep(0.2)
    assert len(audio) == 20, audio  # two clips of each of the ten classes
    for a in audio:
        assert a["error"] is None and a["state"] >= 1 and a["duration"] > 0.5, a
    rows = [r.text for r in browser.find_elements("css selector", "#generation-scores tbody tr")]
    assert len(rows) == 4 and any("kernel distance" in r for r in rows)
    assert not _errors(console_entries(browser))
    screenshot(browser, screenshot_dir / "generation-run.png")
