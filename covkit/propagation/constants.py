"""Physical and model constants shared by the propagation kernels.

Plain module-level floats, so Numba freezes them into compiled kernels. Units are in the names
or in the comment next to each constant.
"""

from __future__ import annotations

EARTH_RADIUS_KM = 6371.0
"""Mean Earth radius [km] (ITU-R P.1812-8 eq. (7a), (7b); P.2001 Attachment H)."""

EARTH_RADIUS_M = EARTH_RADIUS_KM * 1000.0
"""Mean Earth radius [m] (:data:`EARTH_RADIUS_KM` in metres; the coverage layer's k-factor
curvature of the profile, a_e = k * EARTH_RADIUS_M)."""

SPEED_OF_LIGHT_M_S = 299_792_458.0
"""Speed of light in vacuum [m/s] (exact, SI; used by ITU-R P.525 free space)."""

SPEED_OF_LIGHT_TR38901_M_S = 3.0e8
"""Speed of light [m/s] as rounded in the notes of 3GPP TR 38.901 Table 7.4.1-1 (breakpoint
distance d_BP); kept so the formulas reproduce the table."""

SPEED_OF_LIGHT_M_GHZ = 0.2998
"""Speed of light in [m * GHz]: wavelength_m = SPEED_OF_LIGHT_M_GHZ / f_ghz.

The value (2.998e8 m/s) is the one used by the ITU-R SG3 reference implementations of
P.452 / P.1812 / P.2001; keeping it makes results reproduce the ITU validation data exactly.
"""

K50_NUMERATOR_N_PER_KM = 157.0
"""Constant in the median effective Earth-radius factor k50 = 157 / (157 - DN)
(ITU-R P.1812-8 eq. (6)) [N-units/km]."""

K_BETA = 3.0
"""Effective Earth-radius factor exceeded for beta0 % of the time (ITU-R P.1812-8 eq. (7b))."""

LAND_REL_PERMITTIVITY = 22.0
"""Relative permittivity of land for spherical-Earth diffraction (P.1812-8 section 4.3.3)."""

LAND_CONDUCTIVITY_S_PER_M = 0.003
"""Conductivity of land [S/m] (P.1812-8 section 4.3.3)."""

SEA_REL_PERMITTIVITY = 80.0
"""Relative permittivity of sea water (P.1812-8 section 4.3.3)."""

SEA_CONDUCTIVITY_S_PER_M = 5.0
"""Conductivity of sea water [S/m] (P.1812-8 section 4.3.3)."""

DBD_TO_DBI = 2.15
"""Gain of a half-wave dipole over isotropic [dB] (dBi = dBd + 2.15)."""

ZONE_SEA = 1
"""Radio-climatic zone code of sea (ITU-R P.1812-8 Table 2, zone B)."""

ZONE_COASTAL_LAND = 3
"""Radio-climatic zone code of coastal land (ITU-R P.1812-8 Table 2, zone A1): land up to
100 m amsl within 50 km of the sea."""

ZONE_INLAND = 4
"""Radio-climatic zone code of inland (ITU-R P.1812-8 Table 2, zone A2): all other land."""

DEFAULT_PATH_CENTRE_LAT_DEG = 23.5
"""Path-centre latitude [deg] used by the P.1812 point-to-point API when no terminal coordinates
are given: the latitude of Taiwan (Tropic of Cancer), covkit's primary study area. It only
enters through beta0 (ITU-R P.1812-8 eqs. (2)-(5)), i.e. the ducting / anomalous-propagation
terms at small time percentages."""
