"""Each shared parameter's range, default and choices are stated once (covkit.parameters) and
the scenario schema, the engine settings, the point-to-point API and the CLI agree with it."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import numpy as np
import pytest

import covkit
from covkit import parameters as P
from covkit.cli import pathloss as cli_pathloss
from covkit.config import SCHEMA
from covkit.errors import CovkitInputError
from covkit.propagation.engine import EngineSettings
from covkit.propagation.p1812 import p1812_point_to_point

ENGINE = ("model", "time_pct", "location_pct", "sigma_l_db", "polarization", "dn", "n0",
          "dct_km", "dcr_km", "environment", "los_mode")
POINT_TO_POINT = ("time_pct", "location_pct", "polarization", "dn", "n0", "dct_km", "dcr_km",
                  "location_resolution_m")
SCENARIO = ("model", "time_pct", "dn", "n0", "polarization", "environment", "los_mode",
            "k_factor")
CLI = ("model", "time_pct", "location_pct", "polarization", "dn", "n0", "dct_km", "dcr_km",
       "environment", "los_mode")


def _defaults(func):
    return {k: v.default for k, v in inspect.signature(func).parameters.items()}


def test_scenario_schema_uses_the_parameters():
    keys = {k.name: k for k in SCHEMA["propagation"]}
    for name in SCENARIO:
        assert keys[name] is P.PARAMS[name], name


def test_engine_settings_defaults_are_the_parameters():
    fields = {f.name: f.default for f in dataclasses.fields(EngineSettings)}
    for name in ENGINE:
        assert fields[name] == P.PARAMS[name].default, name


def test_point_to_point_and_path_loss_defaults_are_the_parameters():
    p2p = _defaults(p1812_point_to_point)
    api = _defaults(covkit.path_loss)
    for name in POINT_TO_POINT:
        assert p2p[name] == P.PARAMS[name].default, name
    for name in CLI:
        assert api[name] == P.PARAMS[name].default, name


def test_cli_options_defaults_and_help_are_the_parameters():
    sig = inspect.signature(cli_pathloss.pathloss).parameters
    hints = typing.get_type_hints(cli_pathloss.pathloss, include_extras=True)
    for name in CLI:
        param = P.PARAMS[name]
        assert sig[name].default == param.default, name
        info = hints[name].__metadata__[0]
        assert info.help == param.help_text(), name


@pytest.mark.parametrize("name", ["dn", "n0", "time_pct", "location_pct"])
def test_bounds_accepted_and_beyond_refused_everywhere(name):
    param = P.PARAMS[name]
    flat = {"distance_km": np.linspace(0.0, 10.0, 101), "height_m": np.full(101, 50.0)}
    args = (flat["distance_km"], flat["height_m"], 900.0, 30.0, 1.5)
    beyond = param.hi + 1.0
    for ok in (param.lo, param.hi):
        EngineSettings(**{name: ok})
        assert np.isfinite(p1812_point_to_point(*args, **{name: ok})["Lb"])
        param.check(ok)
    with pytest.raises(CovkitInputError, match=rf"{name} = .* is out of range"):
        EngineSettings(**{name: beyond})
    with pytest.raises(CovkitInputError, match=rf"{name}.* out of range"):
        p1812_point_to_point(*args, **{name: beyond})
    sc = covkit.Scenario.from_dict({"scenario": {"crs": "EPSG:3826"}})
    if name in {k.name for k in SCHEMA["propagation"]}:
        with pytest.raises(CovkitInputError, match=rf"propagation.{name} = .* out of range"):
            sc.replace(propagation={name: beyond})


def test_polarisation_default_is_one_everywhere():
    assert P.POLARIZATION.default == "v"
    assert EngineSettings().polarization == "v"
    assert _defaults(p1812_point_to_point)["polarization"] == "v"
    sc = covkit.Scenario.from_dict({"scenario": {"crs": "EPSG:3826"}})
    assert sc.propagation.polarization == "v"


def test_param_check_messages():
    with pytest.raises(CovkitInputError, match=r"x.dn must be a number, got str 'a'"):
        P.DN.check("a", key="x.dn")
    with pytest.raises(CovkitInputError, match=r"polarization = 'c' is not one of: h, v"):
        P.POLARIZATION.check("c")
    assert P.DN.range_text() == "[0, 156]"
    assert P.DCT_KM.range_text() == "[0, inf]"
    assert P.DN.help_text().endswith("[N-units/km]; [0, 156].")
