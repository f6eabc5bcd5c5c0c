"""Terrain-aware path loss over a site's footprint: the radial-sweep engine and its reference.

Two implementations of the same thing, which the tests compare:

* **reference** (:func:`reference_loss_p1812`): the exact profile from the site to one point
  (bilinear DEM samples at a step of at most ``step_m``) and ITU-R P.1812-8 evaluated on it with
  :func:`~covkit.propagation.p1812.p1812_profile_terms` - O(n) per point.
* **engine** (:func:`radial_sweep_p1812`): per site, radials with an angular step such that the
  arc at the maximum radius is at most one pixel (a third of a pixel by default,
  ``EngineSettings.radial_oversampling``); every pixel takes the loss at the point of its
  nearest radial at its own distance from the site (receiver height from the terrain there, so
  the receiver and its profile are consistent; the point is at most half the arc between
  radials from the pixel centre), and that point's profile is the radial's samples up to it
  plus itself - the profiles of successive pixels along a radial are prefixes of one another,
  so every terrain term of P.1812 is updated
  incrementally: prefix sums for the smooth-Earth surface, running maxima for the
  transmitter-side slopes, and tangents from the receiver to the upper convex hull of the prefix
  (amortised O(1) insertion, O(log n) query by binary search) for the receiver-side slopes and
  obstruction terms; the smooth-profile Bullington terms have closed forms. The propagation
  terms (stage 2) are the same kernel the reference uses,
  :func:`~covkit.propagation.p1812.p1812_loss_from_constants`; the engine leaves out the
  terms Lb depends on only through the exact ducting loss (the roughness hm and, where
  J(nu_max) = 0 is known, the line-of-sight point of largest nu) and supplies them where stage
  2 asks. For a receiver on the radial
  the engine reproduces the reference to rounding error (the tests check 1e-6 dB); elsewhere
  the only difference is the sideways offset of the point from the pixel centre.

Both use the same conventions: profile heights are bare terrain (no representative clutter;
clutter and building-entry loss are applied at the receiver by the coverage layer), the
radio-climatic zone is sea at or below 0 m AMSL, coastal land up to 100 m within 50 km of the
sea when a distance-to-sea raster is given (``coast_km``; the coverage layer passes the DEM's,
:func:`~covkit.propagation.terrain.coast_distance_km`) and inland elsewhere
(:func:`~covkit.propagation.terrain.zone_at`), and within the first sample step (a profile with
no intermediate point) the loss is free space, ITU-R P.525.

Modules: :mod:`.hull` (upper convex hull kernels), :mod:`.sweep` (the radial sweep),
:mod:`.reference` (the exact reference path), :mod:`.window` (the Python layer:
:class:`EngineSettings`, :func:`site_loss_window`, :func:`reference_loss_db`); this package
re-exports their public names.
"""

from __future__ import annotations

from covkit.propagation.engine.hull import (
    hull_extreme,
    hull_push,
    hull_tangent_right,
)
from covkit.propagation.engine.reference import (
    free_space_db,
    reference_loss_p1812,
    reference_terms_p1812,
)
from covkit.propagation.engine.sweep import (
    assign_pixels_to_radials,
    radial_sweep_p1812,
    ray_profile_loss_p1812,
    sweep_radials_p1812,
)
from covkit.propagation.engine.window import (
    EngineSettings,
    LossWindow,
    distance_model_window,
    footprint_window,
    ray_layout,
    reference_loss_db,
    site_loss_window,
    site_loss_windows,
)

__all__ = [
    "hull_push",
    "hull_extreme",
    "hull_tangent_right",
    "ray_profile_loss_p1812",
    "assign_pixels_to_radials",
    "radial_sweep_p1812",
    "sweep_radials_p1812",
    "free_space_db",
    "reference_terms_p1812",
    "reference_loss_p1812",
    "distance_model_window",
    "EngineSettings",
    "LossWindow",
    "footprint_window",
    "ray_layout",
    "site_loss_window",
    "site_loss_windows",
    "reference_loss_db",
]
