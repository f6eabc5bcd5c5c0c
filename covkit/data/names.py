"""Display spelling of place names (township and county names in every output).

Taiwan's official spelling of 臺 (as in 臺北市, 臺東縣) is the traditional form; the boundary
files of the Ministry of the Interior spell it 台 (台北市) while the household-registration
tables use 臺, so one study would show the same county under two names. With the scenario key
``outputs.names = "taiwan"`` the loaders fold 台 to 臺 in the display ``name`` and ``county``
columns (only this character; nothing else changes) and keep the file's own spelling in
``name_source`` and ``county_source``. Codes are never changed, and joins use codes, never names.
"""

from __future__ import annotations

import numpy as np

NAME_SPELLINGS = ("as_given", "taiwan")
"""Choices of ``outputs.names``."""
TAIWAN_FOLD = str.maketrans("台", "臺")
"""台 (U+53F0) -> 臺 (U+81FA): the one character folded for Taiwan's official spelling."""


def display_name(text: str, spelling: str = "as_given") -> str:
    """A place name as outputs show it: as given, or (``"taiwan"``) with 台 folded to 臺.

    Examples
    --------
    >>> display_name("台北市", "taiwan"), display_name("台北市")
    ('臺北市', '台北市')
    """
    if spelling not in NAME_SPELLINGS:
        raise ValueError(f"name spelling {spelling!r}: choose from {', '.join(NAME_SPELLINGS)}")
    return text.translate(TAIWAN_FOLD) if spelling == "taiwan" else text


def display_names(values, spelling: str = "as_given") -> np.ndarray:
    """:func:`display_name` of each value (as text) of a column."""
    return np.array([display_name(str(v), spelling) for v in values], dtype=object)
