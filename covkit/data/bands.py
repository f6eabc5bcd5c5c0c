"""The path-loss model of each sector: ``propagation.bands`` (frequency range -> model) with
``propagation.model`` for the frequencies no band names.

:func:`sector_models` resolves and checks them when the stations are loaded, so ``covkit
scenario check`` refuses exactly the sectors a run would: a carrier outside the frequency
validity of its model (P.1812 stops at 6 GHz, Okumura-Hata covers 150-1500 MHz, ...; the
ranges the models declare in :data:`covkit.propagation.models.MODELS`) is an error naming
the stations row, the model and its range.
"""

from __future__ import annotations

import numpy as np

from covkit.config import PropagationSection
from covkit.errors import CovkitInputError
from covkit.propagation.models import MODELS


def sector_models(stations, propagation: PropagationSection, scenario_file=None,
                  ) -> np.ndarray:
    """Per stations row, the name of its path-loss model (object array).

    Parameters
    ----------
    stations : covkit.data.loaders.Stations
    propagation : PropagationSection
        The scenario's ``[propagation]`` (``model`` and ``bands``).
    scenario_file : path, optional
        The scenario file, named by an error on a ``[propagation]`` key.

    Raises
    ------
    CovkitInputError
        Naming the stations file, column ``freq_mhz`` and the 1-based row of the first sector
        whose frequency lies outside its model's validity; for a terrain model (P.1812) also
        an antenna or receiver height it refuses (column ``height_m`` /
        ``propagation.receiver_height_m``).
    """
    freq = stations.table["freq_mhz"].to_numpy(dtype=np.float64)
    models = np.array([propagation.model_for(f) for f in freq], dtype=object)
    for name in dict.fromkeys(models.tolist()):
        lo, hi = MODELS[name].validity["freq_mhz"]
        bad = (models == name) & ((freq < lo) | (freq > hi))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            via = ("propagation.model; no propagation.bands entry covers it"
                   if name == propagation.model and not _in_band(freq[i], propagation)
                   else "propagation.bands")
            raise CovkitInputError(
                f"station {stations.table['station_id'].iloc[i]!r}: {freq[i]:g} MHz is outside "
                f"{lo:g}-{hi:g} MHz, the frequency range of model {name!r} ({via}); add a "
                "[[propagation.bands]] entry with a model valid there (e.g. 38901-uma above "
                "6000 MHz)", file=stations.source, column="freq_mhz", row=i + 1)
        if MODELS[name].needs_terrain:  # the engine refuses terrain-model heights outside
            _check_heights(stations, propagation, name, models == name, scenario_file)
    return models


def _check_heights(stations, propagation: PropagationSection, name: str,
                   rows: np.ndarray, scenario_file) -> None:
    """Antenna heights a terrain model refuses (P.1812: 1-3000 m), as the run would."""
    info = MODELS[name]
    lo, hi = info.validity["rx_height_agl_m"]
    rx = float(propagation.receiver_height_m)
    if not lo <= rx <= hi:
        raise CovkitInputError(
            f"propagation.receiver_height_m = {rx:g} m is outside {lo:g}-{hi:g} m, the "
            f"receiver heights of model {name!r}", file=scenario_file,
            column="propagation.receiver_height_m")
    lo, hi = info.validity["tx_height_agl_m"]
    h = stations.table["height_m"].to_numpy(dtype=np.float64)
    bad = rows & ((h < lo) | (h > hi))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CovkitInputError(
            f"station {stations.table['station_id'].iloc[i]!r}: height {h[i]:g} m is outside "
            f"{lo:g}-{hi:g} m, the antenna heights of model {name!r}", file=stations.source,
            column="height_m", row=i + 1)


def _in_band(freq_mhz: float, propagation: PropagationSection) -> bool:
    return any(b["min_mhz"] <= freq_mhz < b["max_mhz"] for b in propagation.bands)


def models_by_band(propagation: PropagationSection, table) -> list[dict]:
    """The ``models_by_band`` block of ``kpi_summary.json``: each band (and the default model)
    with its range, model and the number of sectors using it (``table``: stations table with a
    ``model`` column)."""
    freq = table["freq_mhz"].to_numpy(dtype=np.float64)
    out = []
    covered = np.zeros(freq.size, dtype=bool)
    for b in propagation.bands:
        rows = (freq >= b["min_mhz"]) & (freq < b["max_mhz"])
        covered |= rows
        out.append({"min_mhz": b["min_mhz"], "max_mhz": b["max_mhz"], "model": b["model"],
                    "sectors": int(rows.sum())})
    out.append({"min_mhz": None, "max_mhz": None, "model": propagation.model,
                "default": True, "sectors": int((~covered).sum())})
    return out
