"""Every model parameter's unit, default, allowed range and choices, stated once as data.

The scenario schema (:mod:`covkit.config`), the engine settings
(:class:`covkit.propagation.engine.EngineSettings`), the point-to-point API
(:func:`covkit.propagation.p1812.p1812_point_to_point`, :func:`covkit.path_loss`) and the CLI
(``covkit pathloss``) all read these :class:`Param` objects, so a range or a default cannot
disagree between them (``tests/test_parameters.py`` checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from covkit.errors import CovkitInputError

NUMBER = (int, float)
"""``kind`` of a numeric parameter (an int is accepted where a float is expected)."""


@dataclass(frozen=True)
class Param:
    """One parameter: its type, default, unit, allowed range and meaning.

    Attributes
    ----------
    name : str
        Name of the parameter (the scenario key within its section, or the keyword argument).
    kind : type or tuple of types
        Accepted Python type(s); :data:`NUMBER` for numbers.
    default : object
        Default value (None: no default, or optional).
    unit : str
        Unit, e.g. ``"dB"``, ``"%"``, ``"N-units/km"`` ("" when dimensionless).
    help : str
        One sentence on its meaning.
    lo, hi : float, optional
        Bounds of the allowed range (None: unbounded).
    lo_open, hi_open : bool
        Whether the bound itself is excluded.
    choices : tuple of str, optional
        Allowed values of a string parameter.
    required : bool
        Whether a scenario must give it.
    """

    name: str
    kind: type | tuple[type, ...]
    default: Any
    unit: str
    help: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] | None = None
    required: bool = False
    hi_open: bool = False

    def range_text(self) -> str:
        """The allowed values as text: ``[1, 50]``, ``(0, inf]`` or ``h | v``."""
        if self.choices:
            return " | ".join(self.choices)
        if self.lo is None and self.hi is None:
            return ""
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"{left}{lo}, {hi}{right}"

    def help_text(self) -> str:
        """Meaning, unit in brackets and range, for ``--help`` texts."""
        unit = f" [{self.unit}]" if self.unit else ""
        allowed = self.range_text()
        return f"{self.help.rstrip('.')}{unit}" + (f"; {allowed}." if allowed else ".")

    def in_range(self, value: float) -> bool:
        """Whether a finite number lies in the allowed range."""
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        if self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi):
            return False
        return True

    def check(self, value: Any, *, key: str | None = None, file: Any = None) -> Any:
        """Validate ``value``; return it normalised (float / int / str).

        Parameters
        ----------
        value : object
        key : str, optional
            Name used in the error message (default: :attr:`name`), e.g. ``propagation.dn``.
        file : path, optional
            File named in the error message.

        Raises
        ------
        CovkitInputError
            Naming the key, the value and the allowed range or choices.
        """
        qual = key or self.name
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        # bool is an int in Python; never accept it for numbers
        if isinstance(value, bool) or not isinstance(value, kinds):
            names = {str: "string", int: "integer", list: "list", dict: "table"}.get(
                self.kind, "number")
            raise CovkitInputError(
                f"{qual} must be {'an' if names[0] in 'aeiou' else 'a'} {names}, "
                f"got {type(value).__name__} {value!r}", file=file, column=qual)
        if self.choices is not None and value not in self.choices:
            raise CovkitInputError(f"{qual} = {value!r} is not one of: "
                                   f"{', '.join(self.choices)}", file=file, column=qual)
        if self.kind is NUMBER or self.kind is int:
            v = float(value)
            if not math.isfinite(v):
                raise CovkitInputError(f"{qual} must be finite, got {value!r}", file=file,
                                       column=qual)
            if not self.in_range(v):
                raise CovkitInputError(
                    f"{qual} = {value!r} is out of range {self.range_text()} {self.unit}"
                    .rstrip(), file=file, column=qual)
            return int(value) if self.kind is int else float(value)
        return value

    def check_number(self, value: Any, *, key: str | None = None) -> float:
        """Validate a numeric argument given as any real number (NumPy scalars included)."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise CovkitInputError(f"{key or self.name} must be a number, got {value!r}",
                                   column=key or self.name) from None
        return self.check(v, key=key)


MODEL_NAMES = ("fspl", "hata", "cost231", "38901-rma", "38901-uma", "38901-umi", "p1812")
"""Path-loss models by name (:func:`covkit.propagation.models.model_code`)."""

MODEL = Param("model", str, "p1812", "", "Path-loss model.", choices=MODEL_NAMES)
TIME_PCT = Param("time_pct", NUMBER, 50.0, "%", "Percentage of time (P.1812).", 1.0, 50.0)
LOCATION_PCT = Param("location_pct", NUMBER, 50.0, "%", "Percentage of locations (P.1812).",
                     1.0, 99.0)
SIGMA_L_DB = Param("sigma_l_db", NUMBER, 0.0, "dB", "Location-variability standard deviation "
                   "(P.1812 section 4.7; 0 = median).", 0.0, 30.0)
POLARIZATION = Param("polarization", str, "v", "", "Polarisation (P.1812).",
                     choices=("h", "v"))
DN = Param("dn", NUMBER, 45.0, "N-units/km", "Average radio-refractive index lapse-rate "
           "through the lowest 1 km (P.1812 DN; k50 = 157 / (157 - DN)).", 0.0, 156.0)
N0 = Param("n0", NUMBER, 325.0, "N-units", "Sea-level surface refractivity (P.1812 N0).",
           200.0, 500.0)
DCT_KM = Param("dct_km", NUMBER, 500.0, "km", "Distance from the transmitter to the coast "
               "(P.1812).", 0.0, None)
DCR_KM = Param("dcr_km", NUMBER, 500.0, "km", "Distance from the receiver to the coast "
               "(P.1812).", 0.0, None)
ENVIRONMENT = Param("environment", str, "urban", "", "Environment for Hata / COST-231 "
                    "(urban, suburban, open; COST-231: urban = medium city, metropolitan).",
                    choices=("urban", "suburban", "open", "metropolitan"))
LOS_MODE = Param("los_mode", str, "probabilistic", "", "TR 38.901 LOS handling.",
                 choices=("probabilistic", "los", "nlos"))
K_FACTOR = Param("k_factor", NUMBER, 4.0 / 3.0, "", "Effective earth-radius factor for "
                 "profile curvature (models without their own refractivity input).", 0.5, 10.0)
LOCATION_RESOLUTION_M = Param("location_resolution_m", NUMBER, 100.0, "m", "Resolution of the "
                              "location variability (P.1812 section 4.7 wa).", 1.0, 1000.0)

PARAMS: dict[str, Param] = {p.name: p for p in (
    MODEL, TIME_PCT, LOCATION_PCT, SIGMA_L_DB, POLARIZATION, DN, N0, DCT_KM, DCR_KM,
    ENVIRONMENT, LOS_MODE, K_FACTOR, LOCATION_RESOLUTION_M)}
"""The parameters shared by the scenario, the engine, the point-to-point API and the CLI."""
