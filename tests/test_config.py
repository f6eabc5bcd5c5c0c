"""Scenario parser: defaults, paths, and one clear error per kind of bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from covkit.config import SCHEMA, load_scenario, scenario_from_dict, schema_markdown
from covkit.errors import CovkitInputError

BASE = {
    "scenario": {"name": "t", "crs": "EPSG:3826", "resolution_m": 50},
    "inputs": {"dem": "d.tif", "stations": "s.csv", "population": "p.tif",
               "townships": "t.gpkg"},
}


def with_(section: str, **kv) -> dict:
    d = {k: dict(v) for k, v in BASE.items()}
    d.setdefault(section, {}).update(kv)
    return d


def test_defaults_and_relative_paths(tmp_path):
    sc = scenario_from_dict(BASE, base_dir=tmp_path)
    assert sc.scenario.resolution_m == 50.0
    assert isinstance(sc.scenario.resolution_m, float)
    assert sc.propagation.model == "p1812"
    assert sc.propagation.time_pct == 50.0
    assert sc.coverage.sinr_threshold_db is None
    assert sc.coverage.remote_density_ratio == 0.2
    assert sc.sites.budget_sites == 20
    assert sc.inputs.dem == (tmp_path / "d.tif").resolve()
    assert sc.inputs.fibre is None
    d = sc.to_dict()
    assert d["inputs"]["dem"].endswith("d.tif")
    assert d["propagation"]["k_factor"] == pytest.approx(4 / 3)


def test_load_from_file(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[scenario]\ncrs = "EPSG:3826"\n[inputs]\ndem = "x/dem.tif"\n'
                 'stations = "s.csv"\npopulation = "p.tif"\ntownships = "t.gpkg"\n'
                 '[propagation]\nmodel = "38901-uma"\n')
    sc = load_scenario(f)
    assert sc.propagation.model == "38901-uma"
    assert sc.inputs.dem == (tmp_path / "x" / "dem.tif").resolve()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (with_("propagation", model="okumura"),
         r"propagation\.model = 'okumura' is not one of: fspl, hata"),
        (with_("propagation", frequency=3500), r"unknown key propagation\.frequency"),
        (with_("scenario", resolution_m="100"), r"scenario\.resolution_m must be an? number"),
        (with_("scenario", resolution_m=0.5), r"scenario\.resolution_m = 0\.5 is out of range"),
        (with_("propagation", location_probability=1.5),
         r"propagation\.location_probability = 1\.5 is out of range \[0\.01, 0\.99\]"),
        (with_("propagation", time_pct=70.0), r"propagation\.time_pct = 70\.0 is out of range"),
        (with_("sites", budget_sites=2.5), r"sites\.budget_sites must be an? integer"),
        (with_("sites", budget_sites=True), r"sites\.budget_sites must be an? integer, got bool"),
        (with_("coverage", cell_load=-0.1), r"coverage\.cell_load = -0\.1 is out of range"),
        (with_("scenario", crs="EPSG:4326"), r"scenario\.crs 'EPSG:4326' is not in metres"),
        (with_("scenario", crs="EPSG:999999"), r"scenario\.crs 'EPSG:999999' is not a CRS"),
        ({**BASE, "extra": {}}, r"unknown section \[extra\]"),
        ({"scenario": {"crs": "EPSG:3826"}, "inputs": {"dem": "d.tif"}},
         r"missing required key inputs\.stations"),
        (with_("scenario", bounds=[0, 0, -1, 5]), r"scenario\.bounds .* needs xmin < xmax"),
        (with_("sites", site_cost=0.0), r"sites\.site_cost = 0\.0 is out of range \(0"),
    ],
)
def test_bad_keys_name_the_key(data, match):
    with pytest.raises(CovkitInputError, match=match) as info:
        scenario_from_dict(data, file="study.toml")
    assert "file study.toml" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_toml_and_missing_file(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[scenario\nname = 1\n")
    with pytest.raises(CovkitInputError, match=r"bad\.toml: not valid TOML"):
        load_scenario(f)
    with pytest.raises(CovkitInputError, match=r"cannot read scenario file"):
        load_scenario(tmp_path / "nope.toml")


def test_schema_markdown_lists_every_key():
    md = schema_markdown()
    for sec, keys in SCHEMA.items():
        for k in keys:
            assert f"`{sec}.{k.name}`" in md


def test_readme_documents_every_key():
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text(encoding="utf-8")
    for sec, keys in SCHEMA.items():
        for k in keys:
            assert f"`{sec}.{k.name}`" in text, f"README lacks {sec}.{k.name}"


def test_readme_key_table_is_the_schema():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert schema_markdown() in readme


def test_scenario_not_utf8_and_symlink_loops_are_named(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_bytes('[scenario]\nname = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(CovkitInputError, match=r"s\.toml: not UTF-8 text \(byte 0xe9 on line "
                                               r"2\)"):
        load_scenario(toml)
    loop = tmp_path / "d.tif"
    loop.symlink_to(loop)
    with pytest.raises(CovkitInputError, match=r"column 'inputs\.dem': cannot resolve the path "
                                               r"'d\.tif'"):
        scenario_from_dict(BASE, base_dir=tmp_path)
