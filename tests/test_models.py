"""Model registry and the per-pixel dispatch kernel."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from covkit.errors import CovkitInputError
from covkit.propagation import empirical as em
from covkit.propagation import models as mo
from covkit.propagation import tr38901 as tr


def test_codes_are_stable():
    assert mo.MODEL_CODES == {"fspl": 0, "hata": 1, "cost231": 2, "38901-rma": 3,
                              "38901-uma": 4, "38901-umi": 5, "p1812": 6}
    assert mo.LOS_MODE_CODES == {"los": 0, "nlos": 1, "probabilistic": 2}
    assert set(mo.MODELS) == set(mo.MODEL_CODES)
    for name, info in mo.MODELS.items():
        assert info.code == mo.MODEL_CODES[name]
        assert set(info.validity) == {"distance_m", "freq_mhz", "tx_height_agl_m",
                                      "rx_height_agl_m"}
        for lo, hi in info.validity.values():
            assert lo <= hi
    assert mo.MODELS["p1812"].needs_terrain
    assert not any(i.needs_terrain for n, i in mo.MODELS.items() if n != "p1812")


def test_unknown_model_lists_choices():
    with pytest.raises(CovkitInputError, match="unknown propagation model 'okumura'.*fspl, "
                       "hata, cost231, 38901-rma, 38901-uma, 38901-umi, p1812"):
        mo.model_code("okumura")
    with pytest.raises(ValueError):
        mo.path_loss_db("longley-rice", 1000.0, 900.0, 30.0, 1.5)
    assert mo.model_code(" Hata ") == 1
    assert mo.model_info("38901-umi").validity["tx_height_agl_m"] == (10.0, 10.0)


def test_p1812_not_through_path_loss_db():
    with pytest.raises(CovkitInputError, match="p1812.*needs a terrain profile"):
        mo.path_loss_db("p1812", 1000.0, 900.0, 30.0, 1.5)
    assert math.isnan(mo.loss_db_by_code(mo.MODEL_P1812, 1000.0, 900.0, 30.0, 1.5, 0, 2))
    assert math.isnan(mo.loss_db_by_code(99, 1000.0, 900.0, 30.0, 1.5, 0, 2))


def test_dispatch_equals_model_functions():
    d = np.array([1000.0, 3000.0, 4500.0])
    assert mo.path_loss_db("hata", d, 900.0, 30.0, 1.5, environment="suburban") == (
        pytest.approx(em.hata(d, 900.0, 30.0, 1.5, environment="suburban")))
    assert mo.path_loss_db("cost231", d, 1800.0, 30.0, 1.5, environment="metropolitan") == (
        pytest.approx(em.cost231(d, 1800.0, 30.0, 1.5, environment="metropolitan")))
    for name, sc, hbs in (("38901-rma", "rma", 35.0), ("38901-uma", "uma", 25.0),
                          ("38901-umi", "umi", 10.0)):
        for mode in ("los", "nlos", "probabilistic"):
            got = mo.path_loss_db(name, d, 3500.0, hbs, 1.5, los_mode=mode)
            ref = tr.tr38901_path_loss(sc, d, 3500.0, hbs, 1.5, los_mode=mode).loss_db
            assert got == pytest.approx(ref)
    # free space on the slant distance: d = 1000 m, heights 30 / 1.5 m -> 1000.406 m
    slant = math.sqrt(1000.0**2 + 28.5**2)
    lam = 299_792_458.0 / 900e6
    assert mo.path_loss_db("fspl", 1000.0, 900.0, 30.0, 1.5) == pytest.approx(
        20 * math.log10(4 * math.pi * slant / lam))


def test_validation_through_registry():
    with pytest.raises(CovkitInputError, match="hata: distance_m=500"):
        mo.path_loss_db("hata", 500.0, 900.0, 30.0, 1.5)
    assert math.isfinite(mo.path_loss_db("hata", 500.0, 900.0, 30.0, 1.5, extrapolate=True))
    with pytest.raises(CovkitInputError, match="38901-uma: tx_height_agl_m=30"):
        mo.path_loss_db("38901-uma", 500.0, 3500.0, 30.0, 1.5)
    with pytest.raises(CovkitInputError, match="38901-rma: distance_m=7000"):
        mo.path_loss_db("38901-rma", 7000.0, 3500.0, 35.0, 1.5, los_mode="nlos")
    assert math.isfinite(mo.path_loss_db("38901-rma", 7000.0, 3500.0, 35.0, 1.5,
                                         los_mode="los"))
    with pytest.raises(CovkitInputError, match="unknown los_mode 'maybe'"):
        mo.path_loss_db("38901-umi", 100.0, 3500.0, 10.0, 1.5, los_mode="maybe")
    with pytest.raises(CovkitInputError, match="unknown environment 'open'"):
        mo.path_loss_db("cost231", 1000.0, 1800.0, 30.0, 1.5, environment="open")
    with pytest.raises(CovkitInputError, match="rx_height_agl_m must be > 0"):
        mo.path_loss_db("fspl", 1000.0, 900.0, 30.0, 0.0)
    # environment / los_mode are ignored by models they do not apply to
    assert mo.path_loss_db("fspl", 1000.0, 900.0, 30.0, 1.5, environment="x", los_mode="y") > 0


@pytest.mark.parametrize("code", [0, 1, 2, 3, 4, 5])
def test_kernel_compiled_equals_py_func(code):
    hbs = {3: 35.0, 4: 25.0, 5: 10.0}.get(code, 40.0)
    f = {2: 1800.0}.get(code, 900.0)
    for d in (1200.0, 4500.0):
        for env in (0, 1, 2):
            for los in (0, 1, 2):
                args = (code, d, f, hbs, 1.5, env, los)
                assert mo.loss_db_by_code(*args) == pytest.approx(
                    mo.loss_db_by_code.py_func(*args), abs=1e-10)
    d = np.array([1200.0, 4500.0])
    ones = np.ones(2)
    a = mo.loss_db_by_code_array(code, d, f * ones, hbs * ones, 1.5 * ones, 0, 2, np.empty(2))
    b = mo.loss_db_by_code_array.py_func(code, d, f * ones, hbs * ones, 1.5 * ones, 0, 2,
                                         np.empty(2))
    assert a == pytest.approx(b)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(["fspl", "hata", "cost231", "38901-rma", "38901-uma",
                             "38901-umi"]),
       u1=st.floats(0.0, 1.0), u2=st.floats(0.0, 1.0), uf=st.floats(0.0, 1.0),
       uh=st.floats(0.0, 1.0), mode=st.sampled_from(["los", "nlos", "probabilistic"]))
def test_registry_models_finite_and_non_decreasing_in_validity_box(name, u1, u2, uf, uh, mode):
    info = mo.MODELS[name]
    v = dict(info.validity)
    if name == "fspl":
        v = {"distance_m": (1.0, 1e5), "freq_mhz": (30.0, 1e5), "tx_height_agl_m": (1.0, 300.0),
             "rx_height_agl_m": (1.0, 10.0)}
    if name == "38901-rma":
        v["distance_m"] = (10.0, 5000.0)

    def pick(key, u):
        lo, hi = v[key]
        return lo + u * (hi - lo)

    d1, d2 = sorted((pick("distance_m", u1), pick("distance_m", u2)))
    f = pick("freq_mhz", uf)
    hb = pick("tx_height_agl_m", 0.5)
    hm = pick("rx_height_agl_m", uh)
    a = mo.path_loss_db(name, d1, f, hb, hm, los_mode=mode)
    b = mo.path_loss_db(name, d2, f, hb, hm, los_mode=mode)
    assert math.isfinite(a) and math.isfinite(b)
    assert b >= a - 1e-9
