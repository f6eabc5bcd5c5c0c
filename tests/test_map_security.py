"""map.html runs no script taken from an input file.

Every value that reaches the map from an input (station, site and operator ids, technology,
township ids, names and counties, per-operator KPI columns, the scenario name, the model name in
the method line, operator and county keys of the summary, trail ids and names, proposed-site
candidate and township ids) is replaced by a hostile string that tries each way out of the
context it lands in: an HTML element with an ``onerror`` handler (HTML text / innerHTML), a
``${...}`` substitution and a backtick (JS template literal), quotes (JS string, attribute) and
``</script><script>`` (a script element). Each attempt calls ``__covkitPwned(tag)``; the page is
opened in headless Chromium with every tooltip and popup opened, and nothing may be recorded.
The hostile strings must still show, as text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import browser_check as bc
from helpers.run_folder import write_run_fixture

RECORDER = """
window.__pwned = [];
window.__covkitPwned = function (tag) { window.__pwned.push(String(tag)); };
"""


def hostile(tag: str) -> str:
    """A name that runs ``__covkitPwned`` from HTML, template literal, JS string or script."""
    return (f"{tag}<img src=x onerror=__covkitPwned('{tag}-html')>"
            f"`${{__covkitPwned('{tag}-tl')}}`"
            f"'-__covkitPwned('{tag}-sq')-'\"-__covkitPwned('{tag}-dq')-\""
            f"</script><script>__covkitPwned('{tag}-script')</script>")


def write_hostile_run(out: Path) -> dict[str, str]:
    """The run-folder fixture with every input-borne name replaced by a hostile one; returns
    the tag -> hostile string of each field."""
    import geopandas as gpd
    import pandas as pd

    write_run_fixture(out)
    names: dict[str, str] = {}

    def h(tag: str) -> str:
        names[tag] = hostile(tag)
        return names[tag]

    inputs = out / "inputs"
    st = pd.read_csv(inputs / "stations.csv")
    st["station_id"] = [h("station1"), h("station2"), h("station3")]
    st["site_id"] = [h("siteA"), h("siteA"), h("siteB")]
    st["operator"] = [h("opA"), h("opA"), h("opB")]
    st["tech"] = [h("tech"), h("tech"), "4G"]
    st.to_csv(inputs / "stations.csv", index=False)

    tr = gpd.read_file(inputs / "trails.gpkg")
    tr["trail_id"] = [h("trailid")]
    tr["name"] = [h("trailname")]
    tr.to_file(inputs / "trails.gpkg", layer="trails", driver="GPKG")

    tw = gpd.read_file(out / "kpi_townships.gpkg")
    tw["township_id"] = [h("twid1"), h("twid2")]
    tw["name"] = [h("twname1"), h("twname2")]
    tw["county"] = [h("county"), h("county")]
    tw = tw.rename(columns={"coverage_pct_OpA": "coverage_pct_" + h("opcol")})
    tw.to_file(out / "kpi_townships.gpkg", layer="kpi_townships", driver="GPKG")

    summary = json.loads((out / "kpi_summary.json").read_text())
    summary["scenario"] = h("scenario")
    summary["parameters"]["scenario"]["name"] = summary["scenario"]
    summary["parameters"]["propagation"]["model"] = h("model")
    summary["operators"] = {h("sumopA"): summary["operators"]["OpA"],
                            h("sumopB"): summary["operators"]["OpB"]}
    # not shown on the map, but fed in all the same
    summary["counties"] = {hostile("sumcounty"): summary["counties"]["Nantou"]}
    (out / "kpi_summary.json").write_text(json.dumps(summary, indent=2))
    after = json.loads((out / "kpi_after.json").read_text())
    after.update(scenario=summary["scenario"], operators=summary["operators"])
    (out / "kpi_after.json").write_text(json.dumps(after, indent=2))

    ps = pd.read_csv(out / "sites_proposed.csv")
    ps["candidate_id"] = [h("cand1"), h("cand2")]
    ps["township_id"] = [h("pstw1"), h("pstw2")]
    ps.to_csv(out / "sites_proposed.csv", index=False)
    return names


@pytest.mark.skipif(not bc.chromium_available(), reason="needs headless Chromium")
def test_hostile_names_run_no_script_and_show_as_text(tmp_path: Path):
    from covkit.maps import write_map

    out = tmp_path / "out"
    names = write_hostile_run(out)
    page = write_map(out, layers=("rsrp", "sinr", "coverage_probability", "covered"))
    report = bc.inspect_page(page, init_js=RECORDER, open_layers=True,
                             evaluate="{pwned: window.__pwned, title: document.title}")
    ev = report["evaluated"]
    assert isinstance(ev, dict), ev
    assert ev["pwned"] == [], f"script from input files ran: {sorted(set(ev['pwned']))}"
    # the page still works: the map, its layers and every popup / tooltip
    assert report["leaflet"] and report["map_containers"] == 1
    assert report["js_errors"] == [], report["js_errors"]
    assert report["township_paths"] == 2 and report["station_markers"] >= 2
    assert report["proposed_markers"] == 2
    opened = report["opened"]
    assert opened["fired"] >= 7, opened
    # the hostile strings are shown literally, as text
    shown = "\n".join([report["page_text"], *opened["texts"]])
    missing = [tag for tag, s in names.items() if s not in shown]
    assert not missing, f"not shown as text: {missing}"
    assert ev["title"] == names["scenario"] + ": coverage map"
