"""report.html and report.md show every value taken from the inputs as text, never as markup.

Hostile strings go through every field of a run folder that reaches the report: the scenario
name (summary and parameters), township ids / names / counties, operator names (summary keys and
per-operator township columns), candidate and township ids of the proposed sites, warnings,
method definitions, parameter keys and values, and the folder name. Then

- report.html is opened in headless Chromium, as written and with its Content-Security-Policy
  removed (so that the escaping alone is tested): no script runs (a payload that runs marks
  ``<body data-pwned>``), the body holds only the report's own elements, and every hostile
  string is in the page's text;
- report.md is rendered with markdown-it (CommonMark with raw HTML allowed, plus tables) and the
  result is checked the same way, in Python and in Chromium.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from helpers.browser_check import CHROMIUM, FLAGS, chromium_available
from helpers.run_folder import write_run_fixture

MARK = "document.body.setAttribute('data-pwned','{}')"


def hostile(tag: str) -> str:
    """One line that is markup in HTML, in an HTML attribute, in a JS template literal and in
    Markdown; ``tag`` names the field, so a failure says which one."""
    m = MARK.format(tag)
    return (f"{tag}<script>{m}</script><img src=x onerror=\"{m}\">\"'><svg onload=\"{m}\">"
            f"[link](javascript:{m}) ![i](x.png) <http://evil.invalid/> *em* _u_ `code` "
            f"~~del~~ | pipe | &amp; &lt;b&gt; $x^2$ $\\notacommand{{$ ${{{m}}} \\*")


MULTILINE = "T-ml\n# heading\n<script>" + MARK.format("ml") + "</script>\n- item"
"""A township name with line breaks: a new Markdown block (heading, HTML block, list) if kept."""

FOLDER = "run <b onmouseover=x>&amp; [d](e) *f*"
"""The run folder's name (shown in the report's meta line)."""
FIELDS = ("scenario", "op", "county", "tid", "tname", "cand", "ctid", "warn", "mkey", "mval",
          "pkey", "pval")


def _hostile_run(tmp_path: Path) -> Path:
    out = write_run_fixture(tmp_path / FOLDER)
    summary = json.loads((out / "kpi_summary.json").read_text())
    summary["scenario"] = hostile("scenario")
    summary["parameters"]["scenario"]["name"] = hostile("scenario")
    summary["parameters"]["propagation"][hostile("pkey")] = hostile("pval")
    summary["operators"] = {hostile("op"): summary["operators"]["OpA"],
                            "OpB": summary["operators"]["OpB"]}
    summary["counties"] = {hostile("county"): summary["counties"]["Nantou"]}
    summary["warnings"] = [hostile("warn")]
    summary["method"] = {hostile("mkey"): hostile("mval")}
    for name in ("kpi_summary.json", "kpi_after.json"):
        (out / name).write_text(json.dumps(summary))
    tw = pd.read_csv(out / "kpi_townships.csv", dtype={"township_id": str})
    tw["township_id"] = [hostile("tid"), "T02"]
    tw["name"] = [hostile("tname"), MULTILINE]
    tw["county"] = hostile("county")
    tw = tw.rename(columns={"coverage_pct_OpA": "coverage_pct_" + hostile("op")})
    tw.to_csv(out / "kpi_townships.csv", index=False)
    sites = pd.read_csv(out / "sites_proposed.csv", dtype={"candidate_id": str})
    sites["candidate_id"] = [hostile("cand"), "C03"]
    sites["township_id"] = [hostile("ctid"), "T02"]
    sites.to_csv(out / "sites_proposed.csv", index=False)
    return out


class _Page(HTMLParser):
    """Tags, attributes and text of a page's body (style and script content not counted as
    text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._in_body = False
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self._in_body = True
            self.body_attrs = dict(attrs)
            return
        if self._in_body:
            self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if self._in_body and not self._skip:
            self.text.append(data)


def _parse(page: str) -> _Page:
    p = _Page()
    p.body_attrs = {}
    p.feed(page)
    p.close()
    return p


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _dom(page: Path) -> str:
    """The DOM of ``page`` after Chromium loaded it and ran whatever scripts it lets run
    (``--dump-dom``; no network: every host name fails to resolve)."""
    with tempfile.TemporaryDirectory(prefix="covkit-chromium-") as profile:
        proc = subprocess.run(
            [CHROMIUM, *FLAGS, "--host-resolver-rules=MAP * ~NOTFOUND",
             f"--user-data-dir={profile}", "--virtual-time-budget=3000", "--dump-dom",
             page.resolve().as_uri()],
            capture_output=True, text=True, timeout=1800, check=False)
    assert "<body" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def _expected_strings() -> list[str]:
    return [hostile(f) for f in FIELDS] + [MULTILINE, FOLDER]


def _check_page(parsed: _Page, allowed: set[str], image_ok, where: str) -> None:
    assert "data-pwned" not in parsed.body_attrs, f"{where}: a script ran: {parsed.body_attrs}"
    bad = sorted({t for t, _ in parsed.tags if t not in allowed})
    assert not bad, f"{where}: markup from the inputs: {bad}"
    handlers = [(t, k) for t, attrs in parsed.tags for k in attrs if k.lower().startswith("on")]
    assert not handlers, f"{where}: event handler attributes: {handlers}"
    divs = [a for t, a in parsed.tags if t == "div"]
    assert all(a == {"class": "tbl"} for a in divs), f"{where}: foreign div: {divs}"
    srcs = [a.get("src", "") for t, a in parsed.tags if t == "img"]
    assert len(srcs) >= 3 and all(image_ok(s) for s in srcs), f"{where}: images {srcs}"
    text = _norm(" ".join(parsed.text))
    for s in _expected_strings():
        assert _norm(s) in text, f"{where}: not shown as text: {s!r}"


def _embedded(src: str) -> bool:
    return src.startswith("data:image/png;base64,")


def _figure_file(src: str) -> bool:
    from covkit.runfolder import REPORT_FILES

    return src in REPORT_FILES and src.endswith(".png")


MD_TAGS = {"h1", "h2", "p", "em", "table", "thead", "tbody", "tr", "th", "td", "img"}
"""What report.md renders to (the meta line is emphasised)."""
HTML_TAGS = (MD_TAGS - {"em"}) | {"div"}
"""The elements of report.html's body (tables sit in ``<div class="tbl">``)."""


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    from covkit.report import write_report

    out = _hostile_run(tmp_path_factory.mktemp("hostile"))
    html_path, md_path = write_report(out)
    return out, html_path, md_path


def test_report_html_source_escapes_every_input(hostile_report):
    _, html_path, _ = hostile_report
    page = html_path.read_text(encoding="utf-8")
    parsed = _parse(page)
    _check_page(parsed, HTML_TAGS, _embedded, "report.html source")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "<" not in title


def test_report_md_renders_inputs_as_text(hostile_report):
    from markdown_it import MarkdownIt

    _, _, md_path = hostile_report
    md = md_path.read_text(encoding="utf-8")
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    parsed = _parse("<body>" + rendered + "</body>")
    _check_page(parsed, MD_TAGS, _figure_file, "report.md rendered")
    # one h1 and the report's own headings only: no heading, list or HTML block from a value
    assert [t for t, _ in parsed.tags].count("h1") == 1
    # every table keeps its column count (no cell split by a '|' from a value)
    for block in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.M):
        counts = {len(re.split(r"(?<!\\)\|", line)) for line in block.strip().splitlines()}
        assert len(counts) == 1, block


@pytest.mark.skipif(not chromium_available(), reason="Chromium not installed")
@pytest.mark.parametrize("csp", [True, False], ids=["as-written", "without-csp"])
def test_report_html_runs_no_script_in_chromium(hostile_report, tmp_path, csp):
    _, html_path, _ = hostile_report
    page = html_path.read_text(encoding="utf-8")
    if not csp:
        page, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
        assert n == 1
    copy = tmp_path / "report.html"
    copy.write_text(page, encoding="utf-8")
    dom = _dom(copy)
    assert not re.search(r"<body[^>]*data-pwned", dom), "a script from the inputs ran"
    _check_page(_parse(dom), HTML_TAGS, _embedded, f"report.html in Chromium (csp={csp})")


@pytest.mark.skipif(not chromium_available(), reason="Chromium not installed")
def test_report_md_rendered_runs_no_script_in_chromium(hostile_report, tmp_path):
    from markdown_it import MarkdownIt

    out, _, md_path = hostile_report
    rendered = MarkdownIt("commonmark").enable("table").render(md_path.read_text("utf-8"))
    page = out / "report_md_rendered.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{rendered}"
                    "</body></html>", encoding="utf-8")
    dom = _dom(page)
    assert not re.search(r"<body[^>]*data-pwned", dom), "a script from report.md ran"
    _check_page(_parse(dom), MD_TAGS, _figure_file, "report.md rendered, in Chromium")
