"""A path-loss model per frequency band (``[[propagation.bands]]``): validation of the key,
the sectors checked against their band's model at load time (so ``covkit scenario check``
refuses what ``covkit run`` would), and each site-frequency group computed with its band's
model: a two-band run equals, operator by operator, the single-model runs of its one-band
sub-networks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers.scenario import X0, Y0, lonlat, station_rows, write_csv, write_small_scenario

import covkit
from covkit.cli import main
from covkit.config import Scenario
from covkit.coverage import radio as R
from covkit.coverage.layers import compute_layers
from covkit.coverage.sites import with_overrides
from covkit.errors import CovkitInputError
from covkit.runfolder import method_text

BANDS_TOML = """
[[propagation.bands]]
max_mhz = 6000
model = "p1812"

[[propagation.bands]]
min_mhz = 6000
model = "38901-uma"
"""


def mmwave_rows() -> list[dict]:
    """Operator OpM: one 28 GHz site (n257, 100 MHz at 120 kHz, 25 m: TR 38.901 UMa's hBS)."""
    lon, lat = lonlat(X0 + 2600.0, Y0 - 1200.0)
    return [{"station_id": f"M{k + 1}", "site_id": "M", "operator": "OpM", "lon": lon,
             "lat": lat, "height_m": 25.0, "freq_mhz": 28000.0, "eirp_dbm": 62.0,
             "azimuth_deg": 120.0 * k + 30.0, "tilt_deg": 6.0, "beamwidth_deg": 65.0,
             "tech": "5G", "bandwidth_mhz": 100.0, "scs_khz": 120.0} for k in range(3)]


def sub_3500() -> list[dict]:
    """The 3.5 GHz site of the small scenario (operator OpA)."""
    return [r for r in station_rows() if r["freq_mhz"] == 3500.0]


def _scenario(folder, rows, model="p1812", extra=""):
    toml = write_small_scenario(folder, model=model, extra_toml=extra)
    write_csv(folder / "stations.csv", rows)
    return toml


def _bands(*bands):
    return Scenario.from_dict({"scenario": {"crs": "EPSG:3826"},
                               "propagation": {"bands": list(bands)}})


# ------------------------------------------------------------------------------------------
# the key


def test_bands_resolve_half_open_ranges_and_default():
    sc = _bands({"max_mhz": 6000, "model": "p1812"}, {"min_mhz": 6000, "model": "38901-uma"})
    p = sc.propagation
    assert p.bands == ({"min_mhz": 30.0, "max_mhz": 6000.0, "model": "p1812"},
                       {"min_mhz": 6000.0, "max_mhz": 100000.0, "model": "38901-uma"})
    assert p.model_for(5999.9) == "p1812"
    assert p.model_for(6000.0) == "38901-uma"
    assert p.model_for(28000.0) == "38901-uma"
    gap = _bands({"min_mhz": 3300, "max_mhz": 3800, "model": "38901-uma"}).propagation
    assert gap.model_for(3800.0) == "p1812"  # the default model outside every band
    assert gap.model_for(3300.0) == "38901-uma"
    assert gap.models() == ("p1812", "38901-uma")
    # replace() round-trips the bands (they are written into kpi_summary.json parameters)
    again = sc.replace(propagation={"k_factor": 1.2})
    assert again.propagation.bands == p.bands
    assert json.loads(json.dumps(sc.to_dict()))["propagation"]["bands"][1]["model"] == \
        "38901-uma"


@pytest.mark.parametrize("bands,match", [
    ([{"max_mhz": 6000, "model": "p1812"}, {"min_mhz": 5000, "model": "38901-uma"}],
     r"propagation\.bands\[2\] \[5000, 100000\) MHz overlaps propagation\.bands\[1\]"),
    ([{"min_mhz": 3500, "max_mhz": 3500, "model": "p1812"}],
     r"propagation\.bands\[1\] is empty: min_mhz = 3500 must be below max_mhz = 3500"),
    ([{"max_mhz": 6000, "model": "itm"}],
     r"propagation\.bands\[1\]\.model = 'itm' is not one of: fspl, hata"),
    ([{"min_mhz": 3000, "model": "p1812"}],
     r"propagation\.bands\[1\]: model 'p1812' is valid for 30-6000 MHz .* but the band is "
     r"\[3000, 100000\) MHz"),
    ([{"min_mhz": 700, "max_mhz": 2000, "model": "hata"}],
     r"propagation\.bands\[1\]: model 'hata' is valid for 150-1500 MHz"),
    ([{"max_mhz": 6000}], r"propagation\.bands\[1\] has no model"),
    ([{"max_mhz": 6000, "model": "p1812", "tech": "5G"}],
     r"unknown key propagation\.bands\[1\]\.tech"),
    ([{"max_mhz": 200000, "model": "fspl"}], r"propagation\.bands\[1\]\.max_mhz = 200000"),
    (["p1812"], r"propagation\.bands\[1\] must be a table"),
])
def test_bad_bands_name_the_key(bands, match):
    with pytest.raises(CovkitInputError, match=match) as info:
        _bands(*bands)
    assert info.value.column.startswith("propagation.bands")


def test_bands_from_toml_file(tmp_path):
    toml = _scenario(tmp_path, sub_3500(), extra=BANDS_TOML)
    sc = covkit.load_scenario(toml)
    assert [b["model"] for b in sc.propagation.bands] == ["p1812", "38901-uma"]
    bad = _scenario(tmp_path / "bad", sub_3500(),
                    extra=BANDS_TOML.replace("min_mhz = 6000", "min_mhz = 5000"))
    with pytest.raises(CovkitInputError, match=r"bands\[2\].*overlaps") as info:
        covkit.load_scenario(bad)
    assert str(info.value.file) == str(bad)


# ------------------------------------------------------------------------------------------
# sectors against their band's model


def test_28ghz_sector_with_only_p1812_is_refused_by_scenario_check(tmp_path, capsys):
    toml = _scenario(tmp_path, sub_3500() + mmwave_rows(), model="p1812")
    with pytest.raises(CovkitInputError, match=r"station 'M1': 28000 MHz is outside 30-6000 "
                       r"MHz, the frequency range of model 'p1812' \(propagation\.model; no "
                       r"propagation\.bands entry covers it\)") as info:
        covkit.api.check_inputs(toml)
    assert (info.value.row, info.value.column) == (4, "freq_mhz")
    assert str(info.value.file).endswith("stations.csv")
    with pytest.raises(SystemExit) as code:
        main(["scenario", "check", str(toml)])
    assert code.value.code == 2
    err = capsys.readouterr().err
    assert "row 4" in err and "'M1'" in err and "30-6000 MHz" in err and "p1812" in err
    # a band naming p1812 only below 6 GHz leaves 28 GHz to the default model: same refusal
    toml2 = _scenario(tmp_path / "b", sub_3500() + mmwave_rows(), model="p1812",
                      extra="[[propagation.bands]]\nmax_mhz = 6000\nmodel = \"p1812\"\n")
    with pytest.raises(CovkitInputError, match=r"'M1': 28000 MHz is outside 30-6000 MHz"):
        covkit.api.check_inputs(toml2)
    # a band's own model outside its validity cannot happen (the key is refused), but a
    # Hata default meets 3.5 GHz sectors: refused naming the row
    toml3 = _scenario(tmp_path / "c", sub_3500(), model="hata")
    with pytest.raises(CovkitInputError, match=r"station 'S1': 3500 MHz is outside 150-1500 "
                       r"MHz, the frequency range of model 'hata'") as info:
        covkit.load_inputs(toml3)
    assert info.value.row == 1


def test_heights_p1812_refuses_are_refused_at_load(tmp_path):
    low = sub_3500()
    for row in low:
        row["height_m"] = 0.5
    with pytest.raises(CovkitInputError, match=r"station 'S1': height 0\.5 m is outside 1-3000 "
                       r"m, the antenna heights of model 'p1812'") as info:
        covkit.api.check_inputs(_scenario(tmp_path, low))
    assert (info.value.row, info.value.column) == (1, "height_m")
    # the same sector on a 38901-uma band is extrapolated with a warning, not refused
    covkit.api.check_inputs(_scenario(tmp_path / "uma", low, extra=(
        "[[propagation.bands]]\nmin_mhz = 3000\nmax_mhz = 4000\nmodel = \"38901-uma\"\n")))
    toml = _scenario(tmp_path / "rx", sub_3500(),
                     extra="receiver_height_m = 0.8\n")
    with pytest.raises(CovkitInputError, match=r"propagation\.receiver_height_m = 0\.8 m is "
                       r"outside 1-3000 m") as info:
        covkit.load_inputs(toml)
    assert info.value.column == "propagation.receiver_height_m"


def test_proposed_sites_frequency_is_checked_against_its_band(tmp_path):
    sc = covkit.load_scenario(_scenario(tmp_path, sub_3500(), extra="[sites]\nfreq_mhz = "
                                        "28000\n"))
    with pytest.raises(CovkitInputError, match=r"sites\.freq_mhz = 28000 MHz is outside "
                       r"30-6000 MHz, the frequency range of model 'p1812'"):
        covkit.propose_sites(sc, budget_sites=1)
    banded = sc.replace(propagation={"bands": [{"min_mhz": 6000, "model": "38901-uma"}]})
    assert with_overrides(banded, 2).sites.budget_sites == 2


# ------------------------------------------------------------------------------------------
# each group with its band's model


@pytest.fixture(scope="module")
def two_band(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bands")
    both = covkit.load_inputs(_scenario(folder / "both", sub_3500() + mmwave_rows(),
                                        extra=BANDS_TOML))
    low = covkit.load_inputs(_scenario(folder / "low", sub_3500(), model="p1812"))
    high = covkit.load_inputs(_scenario(folder / "high", mmwave_rows(), model="38901-uma"))
    return folder, both, low, high


def test_each_band_equals_its_single_model_run(two_band):
    _, both, low, high = two_band
    assert both.stations.table["model"].tolist() == ["p1812"] * 3 + ["38901-uma"] * 3
    radio = compute_layers(both, operator_grids=True)[0]
    assert radio.operators == ["OpA", "OpM"]
    r_low, r_high = compute_layers(low)[0], compute_layers(high)[0]
    for op, sub in (("OpA", r_low), ("OpM", r_high)):
        got = radio.op_best_dbm[radio.operators.index(op)].astype(np.float64)
        want = sub.best_dbm.astype(np.float64)
        assert np.isfinite(want).sum() > 500
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = np.isfinite(want)
        assert np.max(np.abs(got[ok] - want[ok])) <= 1e-9
    # and the two models really differ: P.1812 on the 28 GHz site would be refused, and
    # 38901-uma on the 3.5 GHz site gives other figures than P.1812
    uma_low = covkit.load_inputs(low.scenario.replace(propagation={"model": "38901-uma"}))
    other = compute_layers(uma_low)[0].best_dbm
    ok = np.isfinite(other) & np.isfinite(r_low.best_dbm)
    assert np.max(np.abs(other[ok] - r_low.best_dbm[ok])) > 1.0


def test_run_records_the_model_of_each_sector(two_band, tmp_path):
    _, both, _, _ = two_band
    result = covkit.run(both, out_dir=tmp_path)
    legend = pd.read_csv(tmp_path / "best_server.csv")
    assert legend.set_index("station_id").loc[["S1", "M2"], "model"].tolist() == \
        ["p1812", "38901-uma"]
    summary = json.loads((tmp_path / "kpi_summary.json").read_text())
    assert summary["models_by_band"] == [
        {"min_mhz": 30.0, "max_mhz": 6000.0, "model": "p1812", "sectors": 3},
        {"min_mhz": 6000.0, "max_mhz": 100000.0, "model": "38901-uma", "sectors": 3},
        {"min_mhz": None, "max_mhz": None, "model": "p1812", "default": True, "sectors": 0}]
    assert summary["operators"]["OpM"]["population_covered"] > 0
    assert result.summary["models_by_band"] == summary["models_by_band"]
    assert "with propagation models p1812 for 30-6,000 MHz, 38901-uma for 6,000-100,000 MHz, " \
        "p1812 elsewhere" in method_text(summary)


def test_fr2_resource_blocks():
    """TS 38.101-2 Table 5.3.2-1 from 24.25 GHz; FR1 below (and without a frequency)."""
    assert R.n_rb("5G", 100, 120, 28000.0) == 66
    assert R.n_rb("5G", 400, 120, 28000.0) == 264
    assert R.n_rb("5G", 100, 60, 28000.0) == 132
    assert R.n_rb("5G", 100, 60, 3500.0) == 135
    with pytest.raises(CovkitInputError, match="TS 38.101-2"):
        R.n_rb("5G", 100, 30, 28000.0)
