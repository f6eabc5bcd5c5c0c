"""Open a map page in headless Chromium and report what rendered (used by tests/test_maps.py).

No WebDriver and no DevTools client: a copy of the page gets two small scripts, one at the top
of ``<head>`` that records failed resource loads and JavaScript errors, one at the end that,
after the page has settled, writes a JSON report into a ``<pre id="covkit-check">`` element.
Chromium runs with ``--dump-dom`` under a virtual-time budget and the report is parsed from the
dumped DOM.

The page's folder is served by a loopback HTTP server for the inspection run, because Chromium
records no resource-timing entries for ``file://`` pages: over HTTP the report lists every
resource the page fetched (``performance`` resource timing), every ``src``/``href`` in the DOM,
every failed load, and the console messages Chromium logs (``Failed to load resource: ...``), so a
test can assert that nothing was requested from another host. Host names other than the loopback
server do not resolve (``--host-resolver-rules``), so a faulty page cannot reach the internet
during the test either. A second run takes a screenshot of the unmodified page via ``file://``.

Run by hand: ``python tests/helpers/browser_check.py OUT/map.html [screenshot.png]``.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("COVKIT_CHROMIUM", "/usr/bin/chromium")
#: Wall-clock limit of one Chromium run: only stops a hung browser. The page's own settling
#: time is virtual (``--virtual-time-budget``), so a busy machine does not change the report.
HANG_TIMEOUT_S = 30 * 60.0
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-extensions",
         "--disable-sync", "--disable-default-apps", "--mute-audio", "--hide-scrollbars")

_HEAD_SCRIPT = """<script>
window.__covkitErrors = [];
window.__covkitFailed = [];
/*INIT*/
window.addEventListener('error', function (e) {
  var t = e.target || {};
  if (t !== window && (t.src || t.href)) { window.__covkitFailed.push(t.src || t.href); }
  else { window.__covkitErrors.push(String(e.message || e)); }
}, true);
</script>
"""

_REPORT_SCRIPT = """<script>
window.__covkitOpenAll = function () {
  // Put every Leaflet layer the page defines on its map (hidden overlays, markers inside a
  // cluster), then fire 'mouseover' and 'click' on each (propagating to the groups, as a
  // pointer would), so that every tooltip and popup is opened once; collect their texts.
  var texts = [], maps = [], tops = [], all = [], seen = new Set();
  if (!window.L) { return {texts: texts, fired: 0}; }
  for (var k in window) {
    try {
      var v = window[k];
      if (v instanceof L.Map) { maps.push(v); } else if (v instanceof L.Layer) { tops.push(v); }
    } catch (err) { /* getter errors */ }
  }
  var map = maps[0];
  if (!map) { return {texts: texts, fired: 0}; }
  var walk = function (l) {
    if (seen.has(l)) { return; }
    seen.add(l); all.push(l);
    if (l.getLayers) { l.getLayers().forEach(walk); }
  };
  tops.forEach(walk);
  tops.forEach(function (l) {
    try {
      if (!l._map && !(l instanceof L.Popup) && !(l instanceof L.Tooltip)) { map.addLayer(l); }
    }
    catch (err) { window.__covkitErrors.push('add layer: ' + err); }
  });
  var grab = function () {
    document.querySelectorAll('.leaflet-popup-content, .leaflet-tooltip').forEach(
      function (e) { texts.push(e.innerText); });
  };
  var fired = 0;
  all.forEach(function (l) {
    if (l.getLayers || l instanceof L.Popup || l instanceof L.Tooltip || !l._map) { return; }
    try {
      var ll = l.getLatLng ? l.getLatLng() : (l.getBounds ? l.getBounds().getCenter()
                                                            : map.getCenter());
      l.fire('mouseover', {latlng: ll}, true);
      grab();
      l.fire('click', {latlng: ll, containerPoint: map.latLngToContainerPoint(ll)}, true);
      grab();
      fired += 1;
    } catch (err) { window.__covkitErrors.push('open: ' + err); }
  });
  return {texts: texts, fired: fired};
};
window.addEventListener('load', function () {
  setTimeout(function () {
    var opened = /*OPEN*/null;
    setTimeout(function () { window.__covkitReport(opened); }, /*DELAY*/0);
  }, 1500);
});
window.__covkitReport = function (opened) {
  {
    var q = function (s) { return document.querySelectorAll(s); };
    var urls = [];
    var links = [];
    q('[src],[href]').forEach(function (el) {
      var u = el.getAttribute('src') || el.getAttribute('href');
      if (!u) { return; }
      if (el.tagName === 'A') { links.push(u); } else { urls.push(u); }
    });
    var maps = [];
    for (var k in window) {
      try { if (window.L && window[k] instanceof window.L.Map) { maps.push(k); } }
      catch (err) { /* cross-origin or getter errors */ }
    }
    var imgs = Array.prototype.map.call(q('img.leaflet-image-layer'), function (im) {
      var r = im.getBoundingClientRect();
      return {complete: im.complete, natural_width: im.naturalWidth,
              width: r.width, height: r.height, left: r.left, top: r.top,
              visible: getComputedStyle(im).display !== 'none'};
    });
    var report = {
      leaflet: typeof window.L !== 'undefined',
      leaflet_version: window.L ? window.L.version : null,
      map_variables: maps,
      map_containers: q('.leaflet-container').length,
      overlay_images: imgs,
      township_paths: q('path.covkit-township').length,
      trail_paths: q('path.covkit-trail').length,
      station_markers: q('path.covkit-station').length,
      cluster_icons: q('.marker-cluster').length,
      proposed_markers: q('.covkit-proposed').length,
      layer_control: q('.leaflet-control-layers').length,
      layer_names: Array.prototype.map.call(q('.leaflet-control-layers-overlays label'),
                                            function (l) { return l.textContent.trim(); }),
      legends: q('.legend').length,
      legend_svgs: q('.legend svg, svg.legend, #legend svg').length,
      title_block: q('#covkit-title').length,
      resources: performance.getEntriesByType('resource').map(function (e) { return e.name; }),
      dom_urls: urls,
      anchor_links: links,
      failed_loads: window.__covkitFailed,
      js_errors: window.__covkitErrors,
      location: String(window.location.href),
      page_title: document.title,
      page_text: document.body.innerText,
      opened: opened,
      evaluated: /*EVAL*/null
    };
    var pre = document.createElement('pre');
    pre.id = 'covkit-check';
    pre.style.display = 'none';
    pre.textContent = JSON.stringify(report);
    document.body.appendChild(pre);
  }
};
</script>
"""


def chromium_available() -> bool:
    """True when the Chromium binary exists and is executable."""
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def _run(args: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="covkit-chromium-") as profile:
        cmd = [CHROMIUM, *FLAGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                              check=False)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@contextmanager
def _serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (random port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _console(stderr: str) -> list[str]:
    """The page's console messages from Chromium's log (``INFO:CONSOLE`` lines)."""
    return [line.split("] ", 1)[-1] for line in stderr.splitlines() if ":CONSOLE" in line]


def inspect_page(page: Path, *, budget_ms: int = 8000,
                 timeout_s: float = HANG_TIMEOUT_S, init_js: str = "",
                 open_layers: bool = False, actions_js: str = "",
                 evaluate: str | None = None) -> dict:
    """Load ``page`` (via a temporary instrumented copy beside it) and return the JSON report.

    The copy sits in the same folder so that relative links (``lib/...``) resolve exactly as
    for the original; it is deleted afterwards.

    Parameters
    ----------
    init_js : str
        JavaScript run at the top of ``<head>``, before the page's own scripts (e.g. a function
        that records calls, for injection tests).
    open_layers : bool
        After load, open every tooltip and popup: each Leaflet layer the page defines is put on
        its map and gets a 'mouseover' and a 'click'; ``report["opened"]`` lists the texts of
        the tooltips and popups then open (``texts``) and how many layers were fired.
    actions_js : str
        JavaScript run once the page has settled (before the layers are opened), e.g. a click
        on the map; ``window.__covkitMap`` is then the page's Leaflet map. The report waits
        1.5 s (virtual time) more for what the actions start.
    evaluate : str, optional
        A JavaScript expression evaluated last (after the layers were opened and the page
        settled again); its JSON value is ``report["evaluated"]``.
    """
    page = Path(page).resolve()
    text = page.read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", text, re.IGNORECASE)
    if head is None:
        raise RuntimeError(f"{page}: no <head> element")
    if "</script" in (init_js + actions_js + (evaluate or "")).lower():
        raise ValueError("init_js / actions_js / evaluate must not contain </script")
    actions = ""
    if actions_js:
        actions = ("(function () { for (var k in window) { try { if (window[k] instanceof L.Map)"
                   " { window.__covkitMap = window[k]; } } catch (err) { /* getter */ } }"
                   " try { " + actions_js + "; } catch (err) {"
                   " window.__covkitErrors.push('actions: ' + err); } })(), ")
    head_script = _HEAD_SCRIPT.replace("/*INIT*/", init_js)
    report_script = _REPORT_SCRIPT.replace(
        "/*OPEN*/null",
        "(" + actions + ("window.__covkitOpenAll()" if open_layers else "null") + ")").replace(
        "/*DELAY*/0", "1500" if open_layers or actions_js else "0").replace(
        "/*EVAL*/null", "(function () { try { return (" + evaluate + "); } "
        "catch (err) { return 'evaluate failed: ' + err; } })()" if evaluate else "null")
    text = text[:head.end()] + "\n" + head_script + text[head.end():]
    end = text.lower().rfind("</html>")
    text = (text[:end] + report_script + text[end:]) if end >= 0 else text + report_script
    fd, tmp = tempfile.mkstemp(dir=page.parent, prefix=".check-", suffix=".html")
    os.close(fd)
    copy = Path(tmp)
    try:
        copy.write_text(text, encoding="utf-8")
        with _serve(page.parent) as base:
            proc = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", base + copy.name],
                        timeout_s)
    finally:
        copy.unlink(missing_ok=True)
    m = re.search(r'<pre id="covkit-check"[^>]*>(.*?)</pre>', proc.stdout, re.DOTALL)
    if m is None:
        raise RuntimeError(
            f"no report in Chromium's DOM dump (exit code {proc.returncode}); console:\n"
            + "\n".join(_console(proc.stderr)) + "\nstderr tail:\n" + proc.stderr[-2000:])
    report = json.loads(html.unescape(m.group(1)))
    report["console"] = _console(proc.stderr)
    report["origin"] = base.rstrip("/")
    return report


def screenshot(page: Path, png: Path, *, size: tuple[int, int] = (1280, 900),
               budget_ms: int = 5000, timeout_s: float = HANG_TIMEOUT_S) -> Path:
    """Save a screenshot of ``page`` to ``png`` (folders created)."""
    page = Path(page).resolve()
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    proc = _run([f"--virtual-time-budget={budget_ms}", f"--window-size={size[0]},{size[1]}",
                 f"--screenshot={png}", page.as_uri()], timeout_s)
    if not png.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot (exit code {proc.returncode}); "
                           f"stderr tail:\n{proc.stderr[-2000:]}")
    return png


def external_urls(report: dict) -> list[str]:
    """Every URL in the report that points outside the page's own loopback server: absolute
    URLs other than ``file:``/``data:``/``blob:`` and the served origin, protocol-relative URLs,
    and URLs named in console messages."""
    origin = report.get("origin", "").lower()
    urls = [*report.get("resources", []), *report.get("dom_urls", []),
            *report.get("failed_loads", [])]
    for line in report.get("console", []):
        urls += re.findall(r"(?:https?:)?//[^\s\"')]+", line)
    out = []
    for u in urls:
        low = u.strip().lower()
        if low.startswith(("file:", "data:", "blob:", "about:", "javascript:", "#")):
            continue
        if origin and (low == origin or low.startswith(origin + "/")):
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*:", low) or low.startswith("//"):
            out.append(u)
    return out


if __name__ == "__main__":  # pragma: no cover - manual use
    if len(sys.argv) < 2:
        sys.exit("usage: python tests/helpers/browser_check.py MAP.html [SCREENSHOT.png]")
    if not shutil.which(CHROMIUM) and not chromium_available():
        sys.exit(f"{CHROMIUM} not found")
    rep = inspect_page(Path(sys.argv[1]))
    print(json.dumps(rep, indent=2))
    if len(sys.argv) > 2:
        print(screenshot(Path(sys.argv[1]), Path(sys.argv[2])))
