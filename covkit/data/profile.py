"""Terrain profiles for single links: read and validated with the standard library and NumPy
only, so a one-link command loads neither pandas nor the geospatial stack."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from covkit.errors import CovkitInputError

PROFILE_COLUMNS = ("distance_km", "height_m", "clutter_height_m", "zone")
"""Columns of a profile: the first two required."""
ZONES = (1, 3, 4)
"""Radio-climatic zones of P.1812: 1 sea, 3 coastal land, 4 inland."""


def _column(rows: list[dict], col: str, path, *, lo=None, hi=None, what: str) -> np.ndarray:
    out = np.empty(len(rows))
    for i, row in enumerate(rows):
        raw = row.get(col)
        text = raw.strip() if isinstance(raw, str) else ("" if raw is None else raw)
        try:
            v = float(text)
        except ValueError:
            if not text:
                raise CovkitInputError(f"{what} is missing, NaN or infinite", file=path,
                                       column=col, row=i + 1) from None
            raise CovkitInputError(f"{what} {text!r} is not a number", file=path, column=col,
                                   row=i + 1) from None
        if not math.isfinite(v):
            raise CovkitInputError(f"{what} is missing, NaN or infinite", file=path,
                                   column=col, row=i + 1)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            raise CovkitInputError(f"{what} {v:g} is out of range {rng}", file=path, column=col,
                                   row=i + 1)
        out[i] = v
    return out


def check_profile(columns: dict, path="profile") -> dict:
    """Validate profile columns (arrays or lists) and return the arrays ``distance_km``,
    ``height_m``, ``clutter_height_m`` (or None), ``zone`` (int, or None).

    Distances start at 0 (the transmitter) and increase strictly; at least 3 points.
    """
    rows_n = {len(v) for v in columns.values() if v is not None}
    for key in ("distance_km", "height_m"):
        if key not in columns or columns[key] is None:
            raise CovkitInputError(f"profile needs a {key} column", file=path, column=key)
    n = len(columns["distance_km"])
    if len(rows_n) > 1:
        raise CovkitInputError("profile columns differ in length", file=path)
    if n < 3:
        raise CovkitInputError(f"profile has {n} points; at least 3 are needed", file=path)
    rows = [{k: v[i] for k, v in columns.items() if v is not None} for i in range(n)]
    return _checked(rows, columns, path)


def _checked(rows: list[dict], names, path) -> dict:
    d = _column(rows, "distance_km", path, lo=0.0, what="distance [km]")
    h = _column(rows, "height_m", path, lo=-500.0, hi=9000.0, what="height [m]")
    if d[0] != 0.0:
        raise CovkitInputError(f"the first distance must be 0 (the transmitter), got {d[0]:g}",
                               file=path, column="distance_km", row=1)
    bad = np.flatnonzero(np.diff(d) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise CovkitInputError(f"distances must increase strictly ({d[i - 1]:g} then {d[i]:g})",
                               file=path, column="distance_km", row=i + 1)
    out = {"distance_km": d, "height_m": h, "clutter_height_m": None, "zone": None}
    if "clutter_height_m" in names:
        out["clutter_height_m"] = _column(rows, "clutter_height_m", path, lo=0.0, hi=500.0,
                                          what="clutter height [m]")
    if "zone" in names:
        z = _column(rows, "zone", path, lo=1.0, hi=4.0, what="zone")
        bad = ~np.isin(z, ZONES)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CovkitInputError(f"zone {z[i]:g} must be 1 (sea), 3 (coastal land) or 4 "
                                   "(inland)", file=path, column="zone", row=i + 1)
        out["zone"] = z.astype(np.int64)
    return out


def read_profile_csv(path: Path | str) -> dict:
    """A terrain profile CSV: ``distance_km, height_m`` and optional ``clutter_height_m, zone``
    (zone 1 sea, 3 coastal land, 4 inland). Distances must start at 0 and increase strictly.

    Raises
    ------
    CovkitInputError
        Naming the file, the column and the 1-based data row.
    """
    path = Path(path)
    if not path.is_file():
        raise CovkitInputError("profile file does not exist" if not path.exists() else
                               "profile path is not a file", file=path)
    if path.suffix.lower() not in (".csv", ".txt"):
        raise CovkitInputError(f"unsupported profile file type '{path.suffix}' (use .csv)",
                               file=path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, skipinitialspace=True)
            rows = [r for r in reader if any((v or "").strip() for v in r.values())]
            names = [c.strip() for c in (reader.fieldnames or [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CovkitInputError(f"cannot read profile file: {exc}", file=path) from None
    rows = [{(k or "").strip(): v for k, v in r.items()} for r in rows]
    for key in ("distance_km", "height_m"):
        if key not in names:
            raise CovkitInputError(
                f"profile table is missing required column '{key}' (required: distance_km, "
                f"height_m; found: {', '.join(names)})", file=path, column=key)
    if len(rows) < 3:
        raise CovkitInputError(f"profile has {len(rows)} points; at least 3 are needed",
                               file=path)
    return _checked(rows, names, path)
