"""Registry of the path-loss model names used in the scenario file, and the per-pixel dispatch.

================  ====  =======  ===========================================================
name              code  terrain  formula
================  ====  =======  ===========================================================
``fspl``          0     no       ITU-R P.525-4 free space, slant distance
``hata``          1     no       Okumura-Hata (Hata 1980)
``cost231``       2     no       COST-231 Hata
``38901-rma``     3     no       3GPP TR 38.901 Table 7.4.1-1 RMa
``38901-uma``     4     no       3GPP TR 38.901 Table 7.4.1-1 UMa
``38901-umi``     5     no       3GPP TR 38.901 Table 7.4.1-1 UMi-Street Canyon
``p1812``         6     yes      ITU-R P.1812 (terrain profile; :mod:`covkit.propagation.p1812`)
================  ====  =======  ===========================================================

:func:`loss_db_by_code` is the one ``@njit`` entry point the radial engine calls per pixel for
the non-terrain models; it only dispatches to the model kernels. :func:`path_loss_db` is the
validated Python API (scalars or arrays).

Geometry used by the dispatch: ``distance_m`` is the horizontal (ground) distance; heights
are antenna heights above ground. Hata/COST-231 use the ground distance, TR 38.901 d2D (and
d3D from the heights), free space the flat-earth slant distance
``sqrt(d^2 + (h_tx - h_rx)^2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from covkit._jit import njit
from covkit.errors import CovkitInputError
from covkit.propagation.arrays import check_range, finish, prepare
from covkit.propagation.empirical import (
    COST231_ENVIRONMENTS,
    COST231_VALIDITY,
    ENV_URBAN,
    ENVIRONMENT_CODES,
    HATA_VALIDITY,
    cost231_loss_db,
    environment_code,
    fspl_loss_db,
    hata_loss_db,
)
from covkit.propagation.tr38901 import (
    LOS_MODE_CODES,
    LOS_MODE_PROBABILISTIC,
    RMA_DEFAULT_BUILDING_HEIGHT_M,
    RMA_DEFAULT_STREET_WIDTH_M,
    SCENARIO_RMA,
    SCENARIO_UMA,
    SCENARIO_UMI,
    TR38901_VALIDITY,
    los_mode_code,
    tr38901_loss_db,
    validate_tr38901,
)

MODEL_FSPL = 0
MODEL_HATA = 1
MODEL_COST231 = 2
MODEL_38901_RMA = 3
MODEL_38901_UMA = 4
MODEL_38901_UMI = 5
MODEL_P1812 = 6

MODEL_CODES: dict[str, int] = {
    "fspl": MODEL_FSPL,
    "hata": MODEL_HATA,
    "cost231": MODEL_COST231,
    "38901-rma": MODEL_38901_RMA,
    "38901-uma": MODEL_38901_UMA,
    "38901-umi": MODEL_38901_UMI,
    "p1812": MODEL_P1812,
}
"""Scenario model name -> int code for kernels."""


@dataclass(frozen=True)
class ModelInfo:
    """What the scenario layer needs to know about a path-loss model.

    Attributes
    ----------
    name : str
        Scenario name.
    code : int
        Kernel int code.
    needs_terrain : bool
        True if the model needs a terrain profile (cannot go through :func:`path_loss_db`).
    validity : dict[str, tuple[float, float]]
        Inclusive validity range per parameter (``distance_m``, ``freq_mhz``, ``tx_height_agl_m``,
        ``rx_height_agl_m``).
    environments : tuple[str, ...]
        Accepted ``environment`` names (empty: the option does not apply).
    reference : str
        Source document.
    notes : str
        Extra limits not expressible as ranges.
    """

    name: str
    code: int
    needs_terrain: bool
    validity: dict[str, tuple[float, float]] = field(hash=False)
    environments: tuple[str, ...]
    reference: str
    notes: str = ""


def _tr_validity(scenario):
    v = TR38901_VALIDITY[scenario]
    return {k: v[k] for k in ("distance_m", "freq_mhz", "tx_height_agl_m", "rx_height_agl_m")}


MODELS: dict[str, ModelInfo] = {
    "fspl": ModelInfo(
        "fspl", MODEL_FSPL, False,
        {"distance_m": (0.0, math.inf), "freq_mhz": (0.0, math.inf),
         "tx_height_agl_m": (0.0, math.inf), "rx_height_agl_m": (0.0, math.inf)},
        (), "ITU-R P.525-4 eq. (6)", "any distance and frequency > 0"),
    "hata": ModelInfo(
        "hata", MODEL_HATA, False, dict(HATA_VALIDITY), tuple(ENVIRONMENT_CODES),
        "Hata (1980), IEEE Trans. Veh. Technol. VT-29(3)"),
    "cost231": ModelInfo(
        "cost231", MODEL_COST231, False, dict(COST231_VALIDITY), COST231_ENVIRONMENTS,
        "COST 231 Final Report (1999), section 4.4.1"),
    "38901-rma": ModelInfo(
        "38901-rma", MODEL_38901_RMA, False, _tr_validity(SCENARIO_RMA), (),
        "3GPP TR 38.901 V17.0.0 Table 7.4.1-1",
        "d2D <= 10 km for LOS, <= 5 km for NLOS and probabilistic; W = 20 m, h = 5 m"),
    "38901-uma": ModelInfo(
        "38901-uma", MODEL_38901_UMA, False, _tr_validity(SCENARIO_UMA), (),
        "3GPP TR 38.901 V17.0.0 Table 7.4.1-1", "specified for hBS = 25 m only"),
    "38901-umi": ModelInfo(
        "38901-umi", MODEL_38901_UMI, False, _tr_validity(SCENARIO_UMI), (),
        "3GPP TR 38.901 V17.0.0 Table 7.4.1-1", "specified for hBS = 10 m only"),
    "p1812": ModelInfo(
        "p1812", MODEL_P1812, True,
        {"distance_m": (250.0, 3_000_000.0), "freq_mhz": (30.0, 6_000.0),
         "tx_height_agl_m": (1.0, 3_000.0), "rx_height_agl_m": (1.0, 3_000.0)},
        (), "ITU-R P.1812-8",
        "time percentage 1-50 %, location percentage 1-99 %; needs a terrain profile"),
}
"""Model registry: name -> :class:`ModelInfo` (validity ranges as data)."""


def model_code(name: str) -> int:
    """Return the int code of a model name; raise listing the valid names otherwise.

    Raises
    ------
    CovkitInputError
        Unknown name (also a ValueError).
    """
    key = str(name).strip().lower()
    if key not in MODEL_CODES:
        raise CovkitInputError(
            f"unknown propagation model {name!r}; valid choices: {', '.join(MODEL_CODES)}",
            column="model")
    return MODEL_CODES[key]


def model_info(name: str) -> ModelInfo:
    """Return the :class:`ModelInfo` of a model name (error lists the valid names)."""
    model_code(name)
    return MODELS[str(name).strip().lower()]


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------
@njit
def loss_db_by_code(code, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, env_code,
                    los_mode_code):
    """Basic path loss of a non-terrain model selected by int code [dB].

    Parameters
    ----------
    code : int
        Model code (:data:`MODEL_CODES`).
    distance_m : float
        Horizontal distance [m] (> 0).
    freq_mhz : float
        Frequency [MHz].
    tx_height_agl_m, rx_height_agl_m : float
        Antenna heights above ground [m].
    env_code : int
        Hata/COST-231 environment code (:data:`ENVIRONMENT_CODES`); ignored by other models.
    los_mode_code : int
        TR 38.901 LOS mode (0 LOS, 1 NLOS, 2 probabilistic); ignored by other models.

    Returns
    -------
    float
        Loss [dB]; NaN for ``p1812`` (terrain model: the engine calls its kernels) and for
        unknown codes. TR 38.901 RMa uses W = 20 m, h = 5 m.
    """
    if code == MODEL_FSPL:
        dh = tx_height_agl_m - rx_height_agl_m
        return fspl_loss_db(math.sqrt(distance_m * distance_m + dh * dh), freq_mhz)
    if code == MODEL_HATA:
        return hata_loss_db(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, env_code)
    if code == MODEL_COST231:
        return cost231_loss_db(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, env_code)
    if code == MODEL_38901_RMA or code == MODEL_38901_UMA or code == MODEL_38901_UMI:
        return tr38901_loss_db(code - MODEL_38901_RMA, distance_m, freq_mhz, tx_height_agl_m,
                               rx_height_agl_m, los_mode_code, RMA_DEFAULT_STREET_WIDTH_M,
                               RMA_DEFAULT_BUILDING_HEIGHT_M)
    return math.nan


@njit
def loss_db_by_code_array(code, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, env_code,
                          los_mode_code, out):
    """Element-wise :func:`loss_db_by_code` over 1-D arrays (scalar codes) [dB]."""
    for i in range(out.size):
        out[i] = loss_db_by_code(code, distance_m[i], freq_mhz[i], tx_height_agl_m[i],
                                 rx_height_agl_m[i], env_code, los_mode_code)
    return out


# --------------------------------------------------------------------------------------------
# Python API
# --------------------------------------------------------------------------------------------
def path_loss_db(model, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, *,
                 environment="urban", los_mode="probabilistic", extrapolate=False):
    """Validated basic path loss of a non-terrain model; scalars or arrays.

    Parameters
    ----------
    model : str
        ``fspl``, ``hata``, ``cost231``, ``38901-rma``, ``38901-uma``, ``38901-umi``
        (``p1812`` needs a terrain profile and is rejected here).
    distance_m : float or array_like
        Horizontal distance [m], > 0.
    freq_mhz : float or array_like
        Frequency [MHz], > 0.
    tx_height_agl_m, rx_height_agl_m : float or array_like
        Antenna heights above ground [m], > 0.
    environment : str
        Hata / COST-231 environment (see :mod:`covkit.propagation.empirical`); ignored (not
        validated) by the other models.
    los_mode : {"los", "nlos", "probabilistic"}
        TR 38.901 LOS mode; ``probabilistic`` (default) is the expected received power over
        the LOS state (linear-power combination). Ignored by the other models.
    extrapolate : bool
        If True, evaluate outside the models' validity ranges instead of raising (inputs must
        still be finite and > 0).

    Returns
    -------
    float or numpy.ndarray
        Loss [dB] with the broadcast shape of the inputs.

    Raises
    ------
    CovkitInputError
        Unknown model / environment / LOS mode (listing the choices), non-positive input, or
        a value outside the model's validity range (naming the parameter) unless
        ``extrapolate``.
    """
    code = model_code(model)
    info = MODELS[str(model).strip().lower()]
    if info.needs_terrain:
        raise CovkitInputError(
            f"model {info.name!r} needs a terrain profile: use the radial engine or "
            "covkit.propagation.p1812, not path_loss_db", column="model")
    names = ("distance_m", "freq_mhz", "tx_height_agl_m", "rx_height_agl_m")
    shape, flat = prepare(names, (distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m))
    env = ENV_URBAN
    lm = LOS_MODE_PROBABILISTIC
    if code in (MODEL_HATA, MODEL_COST231):
        env = environment_code(environment, info.environments)
        for n, a in zip(names, flat, strict=True):
            lo, hi = info.validity[n]
            check_range(info.name, n, a, lo, hi, extrapolate)
    elif code in (MODEL_38901_RMA, MODEL_38901_UMA, MODEL_38901_UMI):
        lm = los_mode_code(los_mode)
        validate_tr38901(code - MODEL_38901_RMA, lm, dict(zip(names, flat, strict=True)),
                         extrapolate)
    d, f, htx, hrx = flat
    out = loss_db_by_code_array(code, d, f, htx, hrx, env, lm, np.empty(d.size))
    return finish(shape, out)


__all__ = [
    "LOS_MODE_CODES",
    "MODELS",
    "MODEL_CODES",
    "ModelInfo",
    "loss_db_by_code",
    "loss_db_by_code_array",
    "model_code",
    "model_info",
    "path_loss_db",
]
