"""Calibration of the predictions to measurements (``covkit calibrate``).

The correction model, the one a calibrated run applies to every predicted RSRP (the engine's
raster and the exact point prediction alike)::

    calibrated = predicted + offset[class] + slope * log10(max(d, 10 m) / 1 km)

with ``class`` the terrain class of the cell (:func:`covkit.data.measurements.terrain_class`,
the rule verification uses: ``sea``, ``flat``, ``hilly``, ``mountain``) and ``d`` the distance
from the sector's site [m]. Its scenario keys are ``calibration.offset_<class>_db`` and
``calibration.distance_slope_db_per_decade``; the fitted location variability goes to
``propagation.shadow_sigma_db``.

Fit (:func:`fit_calibration`): ordinary least squares of ``err = measured - predicted`` (the
exact point prediction of :func:`covkit.coverage.verify.verify_points`; the opposite sign of
verification's error, because a correction is added to the prediction) on one indicator
column per fitted class and, optionally, the distance term ``log10(max(d, 10) / 1000)``; no
separate intercept (the class offsets are the intercepts). Classes with fewer than
``min_points_per_class`` usable points are not fitted: their offset stays 0 (the previous
value, see below), their points take no part in the fit or the cross-validation, and
:attr:`Calibration.notes` says so.

Location variability: ``sigma_db`` is the standard deviation of the residuals after the fit
(``sqrt(sum r^2 / (n - p))``, ``p`` fitted parameters). The residual holds the shadowing *and*
the measurement noise (and GPS error, and whatever the model misses), so by default
(``noise_db = 0``) ``sigma_db`` estimates ``sqrt(shadowing^2 + noise^2)``: what a map
compared with such tests sees. Given the measurement noise of the instrument (``noise_db``,
independent of place), ``sigma_db = sqrt(max(s^2 - noise_db^2, 0))``: the shadowing alone,
the location variability ``propagation.shadow_sigma_db`` stands for.

Standard errors: the residuals are spatially correlated (shadowing decorrelates over tens to
hundreds of metres), so the textbook OLS errors are too small. They are the delete-one-block
jackknife over the spatial blocks of the cross-validation (``sqrt((G - 1) / G * sum (t_g -
t_mean)^2)`` over the ``G`` blocks; a replicate that loses every point of a class leaves that
class's offset out), which holds for any correlation shorter than a block.

Spatial-block cross-validation (:func:`spatial_blocks`, :func:`assign_folds`): square blocks of
``block_km`` in the working CRS (edges on multiples of the block size), assigned to ``folds``
folds by a seeded permutation of the blocks (balanced in blocks, not in points); each fold is
held out in turn, the model fitted on the others, and the error before (the prediction as
run) and after the fitted correction is taken on the held-out points. Points of one block are
never split between fit and test, so the correlated shadowing of a test point is not in the
fit. The default 2 km is well beyond the shadowing decorrelation distance (Gudmundson 1991:
tens to a few hundred metres) and the 1 km window of the terrain-class relief, and small
enough to give tens of blocks on a town-sized drive test. The tables give, per fold and over
all held-out points, n, RMSE and mean error before and after, in verification's sign
(``predicted - measured``).

Previous calibration: when the scenario's ``[calibration]`` already holds non-zero values
(read with ``getattr(scenario, "calibration", None)``, so this works before the keys exist),
its predictions already include them; the fit is then of the remaining error and
:meth:`Calibration.to_scenario_keys` writes old + new for the offsets and the slope. The sigma
is not additive: the fitted sigma replaces ``propagation.shadow_sigma_db``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from covkit.config import PATH_INPUTS, SCHEMA
from covkit.data.measurements import CLASS_NAMES
from covkit.errors import CovkitInputError
from covkit.outputs import RunCommit
from covkit.scenario_text import dumps, merged, set_keys

DEFAULT_BLOCK_KM = 2.0
"""Side of the square cross-validation blocks [km] (see the module docstring)."""

DEFAULT_FOLDS = 5
"""Cross-validation folds."""

DEFAULT_MIN_POINTS = 50
"""Fewest usable points a terrain class needs for its offset to be fitted."""

DISTANCE_FLOOR_M = 10.0
"""Distances below this count as this [m] in the distance term."""

DISTANCE_REF_M = 1000.0
"""Reference distance of the distance term [m] (the term is 0 there)."""

CALIBRATION_SECTION = "calibration"
SLOPE_KEY = "distance_slope_db_per_decade"
SIGMA_SECTION, SIGMA_KEY = "propagation", "shadow_sigma_db"

CALIBRATION_SUMMARY = "calibration_summary.json"
CALIBRATION_CV_CSV = "calibration_cv.csv"
CALIBRATED_SCENARIO = "scenario_calibrated.toml"
CALIBRATION_FILES = (CALIBRATION_SUMMARY, CALIBRATION_CV_CSV, CALIBRATED_SCENARIO)
"""The files :meth:`Calibration.write` puts in a folder (one set, written atomically)."""

SIGN = ("fit: err = measured - predicted [dB], the correction added to the predictions; "
        "cross-validation errors: predicted - measured [dB], as covkit verify")


def offset_key(cls: str) -> str:
    """The ``[calibration]`` key of a terrain class's offset: ``offset_<class>_db``."""
    return f"offset_{cls}_db"


def distance_term(distance_m) -> np.ndarray:
    """``log10(max(d, 10 m) / 1 km)`` of distances [m] (the regressor of the slope)."""
    d = np.asarray(distance_m, dtype=np.float64)
    return np.log10(np.maximum(d, DISTANCE_FLOOR_M) / DISTANCE_REF_M)


def spatial_blocks(x_m, y_m, block_km: float = DEFAULT_BLOCK_KM) -> np.ndarray:
    """Block index of each point: square blocks of ``block_km`` [km] with edges on multiples
    of the block size in the working CRS, numbered 0, 1, ... in the order of (column, row)."""
    if not (math.isfinite(block_km) and block_km > 0):
        raise CovkitInputError(f"block size {block_km!r} km must be a number > 0",
                               column="block_km")
    size = block_km * 1000.0
    bx = np.floor(np.asarray(x_m, dtype=np.float64) / size).astype(np.int64)
    by = np.floor(np.asarray(y_m, dtype=np.float64) / size).astype(np.int64)
    _, idx = np.unique(np.column_stack([bx, by]), axis=0, return_inverse=True)
    return idx.reshape(-1).astype(np.int64)


def assign_folds(blocks, folds: int = DEFAULT_FOLDS, seed: int = 0) -> np.ndarray:
    """Fold (0 .. folds - 1) of each point from its block: the blocks in a seeded random order
    (``numpy.random.default_rng(seed).permutation``), dealt to the folds in turn; fewer
    blocks than folds gives one fold per block."""
    if int(folds) < 2:
        raise CovkitInputError(f"folds = {folds!r} must be at least 2", column="folds")
    blocks = np.asarray(blocks, dtype=np.int64)
    n = int(blocks.max()) + 1 if blocks.size else 0
    order = np.random.default_rng(int(seed)).permutation(n)
    fold_of_block = np.empty(n, dtype=np.int64)
    fold_of_block[order] = np.arange(n) % int(folds)
    return fold_of_block[blocks]


def previous_calibration(scenario) -> tuple[dict[str, float], float]:
    """The offsets per class and the slope the scenario's ``[calibration]`` already holds
    (zeros when it has none, or no such section yet)."""
    cal = getattr(scenario, CALIBRATION_SECTION, None) if scenario is not None else None

    def get(name):
        v = getattr(cal, name, None) if cal is not None else None
        return float(v) if v is not None else 0.0

    return {c: get(offset_key(c)) for c in CLASS_NAMES}, get(SLOPE_KEY)


def _design(cls: np.ndarray, xd: np.ndarray, classes, fit_slope: bool) -> np.ndarray:
    cols = [(cls == c).astype(np.float64) for c in classes]
    if fit_slope:
        cols.append(xd)
    return np.column_stack(cols) if cols else np.zeros((cls.size, 0))


def _solve(err, cls, xd, classes, fit_slope):
    """Least-squares offsets (dict, NaN for a class without points here) and slope."""
    here = [c for c in classes if (cls == c).any()]
    a = _design(cls, xd, here, fit_slope)
    if a.shape[1] == 0 or a.shape[0] < a.shape[1]:
        return dict.fromkeys(classes, math.nan), math.nan, np.full(err.size, math.nan)
    beta, *_ = np.linalg.lstsq(a, err, rcond=None)
    offsets = dict.fromkeys(classes, math.nan)
    offsets.update({c: float(b) for c, b in zip(here, beta, strict=False)})
    slope = float(beta[-1]) if fit_slope else 0.0
    return offsets, slope, err - a @ beta


def _correction(cls, xd, offsets, slope):
    off = np.array([offsets.get(c, 0.0) for c in cls], dtype=np.float64)
    return np.nan_to_num(off) + (slope if math.isfinite(slope) else 0.0) * xd


def _residual_sigma(resid: np.ndarray, p: int, noise_db: float) -> tuple[float, float]:
    n = resid.size
    if n <= p:
        return math.nan, math.nan
    s = math.sqrt(float(resid @ resid) / (n - p))
    return s, math.sqrt(max(s * s - noise_db * noise_db, 0.0))


def block_jackknife(a: np.ndarray, y: np.ndarray, blocks: np.ndarray, *, n_classes: int,
                    fit_slope: bool, noise_db: float = 0.0) -> np.ndarray:
    """The delete-one-block replicates of the fit: row ``g`` holds the class offsets, the
    slope (0 when not fitted) and the sigma fitted without block ``g``; NaN for a class
    that has no point left.

    From per-block sums of the normal equations (``A_g'A_g``, ``A_g'y``, ``y_g'y_g``), so the
    cost is one small ``p x p`` solve per block: ``b = M^-1 v`` with ``M = A'A - A_g'A_g``,
    ``v = A'y - A_g'y``, and the residual sum of squares ``y'y - y_g'y_g - b'v``.

    Parameters
    ----------
    a : (n, p) array
        Design matrix: ``n_classes`` class indicator columns, then the distance term when
        ``fit_slope``.
    y : (n,) array
        measured - predicted [dB].
    blocks : (n,) int array
        Block index 0 .. G - 1 of each row.
    """
    n, p = a.shape
    g_count = int(blocks.max()) + 1 if blocks.size else 0
    ata_g = np.empty((g_count, p, p))
    for i in range(p):
        for j in range(i, p):
            ata_g[:, i, j] = ata_g[:, j, i] = np.bincount(blocks, weights=a[:, i] * a[:, j],
                                                          minlength=g_count)
    aty_g = np.column_stack([np.bincount(blocks, weights=a[:, i] * y, minlength=g_count)
                             for i in range(p)]).reshape(g_count, p)
    yty_g = np.bincount(blocks, weights=y * y, minlength=g_count)
    n_g = np.bincount(blocks, minlength=g_count)
    ata, aty, yty = ata_g.sum(axis=0), aty_g.sum(axis=0), float(yty_g.sum())
    out = np.full((g_count, n_classes + 2), np.nan)
    for g in range(g_count):
        m = ata - ata_g[g]
        v = aty - aty_g[g]
        active = np.flatnonzero(np.diag(m) > 0.0)
        if active.size == 0:
            continue
        b, *_ = np.linalg.lstsq(m[np.ix_(active, active)], v[active], rcond=None)
        beta = np.full(p, np.nan)
        beta[active] = b
        out[g, :n_classes] = beta[:n_classes]
        out[g, n_classes] = beta[n_classes] if fit_slope else 0.0
        dof = n - int(n_g[g]) - active.size
        if dof > 0:
            rss = max(yty - float(yty_g[g]) - float(b @ v[active]), 0.0)
            out[g, n_classes + 1] = math.sqrt(max(rss / dof - noise_db * noise_db, 0.0))
    return out


def _rmse(e) -> float:
    return float(np.sqrt(np.mean(e * e))) if e.size else math.nan


def _mean(e) -> float:
    return float(np.mean(e)) if e.size else math.nan


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration (:func:`fit_calibration`).

    Attributes
    ----------
    offsets_db : dict
        Fitted offset per terrain class [dB] (of the remaining error, when the scenario was
        calibrated already); 0 for classes not fitted.
    offsets_se_db : dict
        Their standard errors [dB] (block jackknife; NaN for classes not fitted).
    slope_db_per_decade, slope_se_db_per_decade : float
        Fitted distance slope [dB per decade of distance] and its standard error (0 and NaN
        when not fitted).
    sigma_db, sigma_se_db : float
        Location variability [dB] (residual standard deviation, less ``noise_db`` in
        quadrature) and its standard error.
    residual_std_db : float
        Standard deviation of the residuals after the fit [dB] (noise included).
    noise_db : float
        Measurement noise taken out of ``sigma_db`` [dB].
    n_per_class : dict
        Usable points per terrain class (fitted or not).
    classes_fitted : tuple of str
    fit_slope : bool
    n_points : int
        Points in the fit.
    n_blocks, block_km, folds, seed
        The spatial blocks and the cross-validation's folds (those used: at most one per
        block) and seed.
    cv : DataFrame
        Per held-out fold (``fold`` 0 ..) and over all (``fold = "all"``): ``n_points``,
        ``n_blocks``, ``rmse_before_db``, ``rmse_after_db``, ``mean_error_before_db``,
        ``mean_error_after_db`` (predicted - measured), and the offsets and slope fitted
        without that fold.
    previous_offsets_db, previous_slope_db_per_decade
        The scenario's ``[calibration]`` values before this fit.
    previous_sigma_db : float or None
        The scenario's ``propagation.shadow_sigma_db`` before.
    notes : tuple of str
        What was left out and why.
    scenario : Scenario or None
        The calibrated scenario (for :meth:`write`).
    info : dict
        Provenance: scenario name, measurements file, counts of points left out.
    """

    offsets_db: dict
    offsets_se_db: dict
    slope_db_per_decade: float
    slope_se_db_per_decade: float
    sigma_db: float
    sigma_se_db: float
    residual_std_db: float
    noise_db: float
    n_per_class: dict
    classes_fitted: tuple
    fit_slope: bool
    n_points: int
    n_blocks: int
    block_km: float
    folds: int
    seed: int
    cv: pd.DataFrame = field(repr=False, compare=False)
    previous_offsets_db: dict = field(default_factory=dict)
    previous_slope_db_per_decade: float = 0.0
    previous_sigma_db: float | None = None
    notes: tuple = ()
    scenario: object = field(default=None, repr=False, compare=False)
    info: dict = field(default_factory=dict, compare=False)

    @property
    def cv_overall(self) -> dict:
        """The ``fold = "all"`` row of :attr:`cv` (all held-out points), or {}."""
        rows = self.cv[self.cv["fold"].astype(str) == "all"]
        return rows.iloc[0].to_dict() if len(rows) else {}

    def to_scenario_keys(self) -> dict[str, dict[str, float]]:
        """``{"calibration": {offset_<class>_db: old + new, ..., distance_slope_db_per_decade:
        old + new}, "propagation": {"shadow_sigma_db": sigma}}``, rounded to 0.001 dB; the
        sigma clipped to the key's range. ``scenario.replace(**keys)`` applies them."""
        cal = {offset_key(c): round(self.previous_offsets_db.get(c, 0.0)
                                    + self.offsets_db.get(c, 0.0), 3) for c in CLASS_NAMES}
        cal[SLOPE_KEY] = round(self.previous_slope_db_per_decade + self.slope_db_per_decade, 3)
        key = next(k for k in SCHEMA[SIGMA_SECTION] if k.name == SIGMA_KEY)
        sigma = float(np.clip(self.sigma_db, key.lo, key.hi))
        return {CALIBRATION_SECTION: cal, SIGMA_SECTION: {SIGMA_KEY: round(sigma, 3)}}

    def summary(self) -> dict:
        """The ``calibration_summary.json`` figures."""
        overall = self.cv_overall
        folds = self.cv[self.cv["fold"].astype(str) != "all"]
        return {
            **self.info,
            "sign_convention": SIGN,
            "model": "calibrated = predicted + offset[terrain class] + slope * "
                     "log10(max(d, 10 m) / 1 km), d = distance from the sector's site",
            "n_points": self.n_points,
            "n_per_class": self.n_per_class,
            "classes_fitted": list(self.classes_fitted),
            "offsets_db": self.offsets_db,
            "offsets_se_db": self.offsets_se_db,
            "fit_slope": self.fit_slope,
            "distance_slope_db_per_decade": self.slope_db_per_decade,
            "distance_slope_se_db_per_decade": self.slope_se_db_per_decade,
            "sigma_db": self.sigma_db,
            "sigma_se_db": self.sigma_se_db,
            "residual_std_db": self.residual_std_db,
            "noise_db": self.noise_db,
            "sigma_estimates": ("the location variability without measurement noise: "
                                "sqrt(residual_std_db^2 - noise_db^2)" if self.noise_db > 0
                                else "the residual standard deviation after the fit: "
                                     "shadowing and measurement noise together"),
            "standard_errors": "delete-one-block jackknife over the spatial blocks",
            "previous_calibration": {
                **{offset_key(c): v for c, v in self.previous_offsets_db.items()},
                SLOPE_KEY: self.previous_slope_db_per_decade,
                f"{SIGMA_SECTION}.{SIGMA_KEY}": self.previous_sigma_db},
            "scenario_keys": self.to_scenario_keys(),
            "block_km": self.block_km,
            "folds": self.folds,
            "seed": self.seed,
            "n_blocks": self.n_blocks,
            "cv_rmse_before_db": overall.get("rmse_before_db", math.nan),
            "cv_rmse_after_db": overall.get("rmse_after_db", math.nan),
            "cv_mean_error_before_db": overall.get("mean_error_before_db", math.nan),
            "cv_mean_error_after_db": overall.get("mean_error_after_db", math.nan),
            "cv_folds": folds.to_dict(orient="records"),
            "notes": list(self.notes),
        }

    def scenario_text(self) -> str:
        """The text of ``scenario_calibrated.toml``: the scenario file's text with the
        :meth:`to_scenario_keys` values set (:func:`covkit.scenario_text.set_keys`) and its
        input paths made absolute, so the file works from any folder. A scenario without a
        file is written whole from its values (:meth:`Scenario.to_dict`; in-memory inputs
        cannot be named in a file and are missing from it)."""
        sc = self.scenario
        if sc is None:
            raise ValueError("this calibration has no scenario to write (fit_calibration("
                             "..., scenario=...))")
        keys = self.to_scenario_keys()
        path = getattr(sc, "path", None)
        if path is not None and Path(path).is_file():
            text = Path(path).read_text(encoding="utf-8")
            inputs = tomllib.loads(text).get("inputs", {})
            base = Path(path).resolve().parent

            def absolute(v):
                p = Path(v)
                return str(p if p.is_absolute() else (base / p).resolve())

            paths = {k: ([absolute(e) for e in v] if isinstance(v, list) else absolute(v))
                     for k, v in inputs.items() if k in PATH_INPUTS and v is not None}
            return set_keys(text, {**({"inputs": paths} if paths else {}), **keys})
        data = {}
        for sec, values in sc.to_dict().items():
            data[sec] = {k: (list(v) if isinstance(v, tuple) else v)
                         for k, v in values.items() if v is not None}
        return dumps(merged(data, keys))

    def write(self, out_dir: Path | str | RunCommit) -> list[Path]:
        """Write :data:`CALIBRATION_FILES` into ``out_dir`` as one set (or stage them into a
        :class:`~covkit.outputs.RunCommit`); returns them."""
        if isinstance(out_dir, RunCommit):
            return self._stage(out_dir)
        with RunCommit(out_dir, replaces=CALIBRATION_FILES) as out:
            files = self._stage(out)
        return files

    def _stage(self, out: RunCommit) -> list[Path]:
        files = [out.csv(CALIBRATION_CV_CSV, self.cv),
                 out.bytes(CALIBRATED_SCENARIO, self.scenario_text().encode("utf-8"))]
        names = [f.name for f in files] + [CALIBRATION_SUMMARY]
        files.append(out.json(CALIBRATION_SUMMARY, {**self.summary(), "outputs": names}))
        return files


def check_options(*, classes=CLASS_NAMES, min_points_per_class: int = DEFAULT_MIN_POINTS,
                  noise_db: float = 0.0, block_km: float = DEFAULT_BLOCK_KM,
                  folds: int = DEFAULT_FOLDS) -> None:
    """Refuse bad options of :func:`fit_calibration` (before a coverage run is spent on
    them).

    Raises
    ------
    CovkitInputError
        Naming the option and its valid range.
    """
    unknown = [c for c in classes if c not in CLASS_NAMES]
    if unknown:
        raise CovkitInputError(f"terrain class {unknown[0]!r} is not one of "
                               f"{', '.join(CLASS_NAMES)}", column="classes")
    if int(min_points_per_class) < 1:
        raise CovkitInputError(f"min_points_per_class = {min_points_per_class!r} must be >= 1",
                               column="min_points_per_class")
    if not (math.isfinite(noise_db) and noise_db >= 0):
        raise CovkitInputError(f"noise_db = {noise_db!r} must be a number >= 0",
                               column="noise_db")
    if not (math.isfinite(block_km) and block_km > 0):
        raise CovkitInputError(f"block size {block_km!r} km must be a number > 0",
                               column="block_km")
    if int(folds) < 2:
        raise CovkitInputError(f"folds = {folds!r} must be at least 2", column="folds")


def _fit_columns(points: pd.DataFrame):
    for col in ("rsrp_dbm", "rsrp_point_dbm", "terrain_class", "distance_m", "x_m", "y_m"):
        if col not in points.columns:
            raise CovkitInputError(f"calibration needs the column {col!r} of verify_points "
                                   "(measured rsrp_dbm, the exact prediction, terrain class, "
                                   "distance and place)", column=col)
    meas = points["rsrp_dbm"].to_numpy(dtype=np.float64)
    pred = points["rsrp_point_dbm"].to_numpy(dtype=np.float64)
    dist = points["distance_m"].to_numpy(dtype=np.float64)
    cls = points["terrain_class"].astype(object).to_numpy()
    x = points["x_m"].to_numpy(dtype=np.float64)
    y = points["y_m"].to_numpy(dtype=np.float64)
    return meas, pred, dist, cls, x, y


def fit_calibration(points: pd.DataFrame, *, classes=CLASS_NAMES, fit_slope: bool = True,
                    min_points_per_class: int = DEFAULT_MIN_POINTS, noise_db: float = 0.0,
                    block_km: float = DEFAULT_BLOCK_KM, folds: int = DEFAULT_FOLDS,
                    seed: int = 0, scenario=None) -> Calibration:
    """Fit the calibration of the module docstring to a verification's per-point table.

    Parameters
    ----------
    points : DataFrame
        :func:`covkit.coverage.verify.verify_points`: ``rsrp_dbm`` (measured),
        ``rsrp_point_dbm`` (exact prediction), ``terrain_class``, ``distance_m`` (to the
        serving site), ``x_m``, ``y_m``. Rows without a measured RSRP, a prediction or a
        distance are left out (counted in ``info``).
    classes : iterable of str
        Terrain classes to fit (default all: sea, flat, hilly, mountain); points of other
        classes are left out.
    fit_slope : bool
        Also fit the distance slope (else it is 0).
    min_points_per_class : int
        Fewest usable points for a class's offset to be fitted (>= 1).
    noise_db : float
        Known measurement noise standard deviation [dB] (>= 0), taken out of the sigma in
        quadrature; 0: the sigma includes the noise.
    block_km : float
        Side of the cross-validation blocks [km] (> 0).
    folds : int
        Cross-validation folds (>= 2).
    seed : int
        Seed of the blocks' assignment to folds.
    scenario : Scenario, optional
        The scenario the predictions come from: its ``[calibration]`` values (if any) are
        added to the fitted ones, and :meth:`Calibration.write` writes it calibrated.

    Raises
    ------
    CovkitInputError
        A missing column, bad options, or no class with enough points.
    """
    check_options(classes=classes, min_points_per_class=min_points_per_class,
                  noise_db=noise_db, block_km=block_km, folds=folds)
    meas, pred, dist, cls, x, y = _fit_columns(points)
    usable = np.isfinite(meas) & np.isfinite(pred) & np.isfinite(dist) & np.isfinite(x) & \
        np.isfinite(y)
    n_per_class = {c: int((usable & (cls == c)).sum()) for c in CLASS_NAMES}
    fitted = tuple(c for c in classes if n_per_class[c] >= int(min_points_per_class))
    notes = []
    for c in classes:
        if 0 < n_per_class[c] < int(min_points_per_class):
            notes.append(f"terrain class {c}: {n_per_class[c]} points, fewer than "
                         f"{int(min_points_per_class)}: offset not fitted (kept at 0), its "
                         "points left out of the fit and the cross-validation")
    left_out = [c for c in CLASS_NAMES if c not in classes and n_per_class[c]]
    if left_out:
        notes.append(f"terrain classes {', '.join(left_out)} not asked for: their points are "
                     "left out")
    if not fitted:
        raise CovkitInputError(
            f"no terrain class has {int(min_points_per_class)} usable points to fit "
            f"(usable points per class: {n_per_class}); give more measurements with rsrp_dbm "
            "where the operator is predicted, or lower the minimum", column="rsrp_dbm")
    keep = usable & np.isin(cls, fitted)
    p = len(fitted) + int(fit_slope)
    if int(keep.sum()) <= p:
        raise CovkitInputError(f"{int(keep.sum())} usable points cannot fit {p} parameters "
                               "(offsets and slope) and a sigma", column="rsrp_dbm")
    err = (meas - pred)[keep]
    c_k, xd, xk, yk = cls[keep], distance_term(dist[keep]), x[keep], y[keep]
    offsets, slope, resid = _solve(err, c_k, xd, fitted, fit_slope)
    resid_std, sigma = _residual_sigma(resid, p, float(noise_db))

    blocks = spatial_blocks(xk, yk, block_km)
    n_blocks = int(blocks.max()) + 1
    reps = block_jackknife(_design(c_k, xd, fitted, fit_slope), err, blocks,
                           n_classes=len(fitted), fit_slope=fit_slope,
                           noise_db=float(noise_db))

    def jack(col):
        v = reps[:, col]
        v = v[np.isfinite(v)]
        g = v.size
        return float(np.sqrt((g - 1) / g * np.sum((v - v.mean()) ** 2))) if g > 1 else math.nan

    se = [jack(i) for i in range(reps.shape[1])]
    if n_blocks < 2:
        notes.append(f"all points lie in one {block_km:g} km block: no standard errors or "
                     "cross-validation (lower the block size)")

    # spatial-block cross-validation
    k = min(int(folds), n_blocks)
    rows = []
    all_before, all_after = [], []
    if n_blocks >= 2:
        if k < int(folds):
            notes.append(f"{n_blocks} blocks: {k} folds instead of {int(folds)}")
        fold = assign_folds(blocks, k, seed)
        for f in range(k):
            test = fold == f
            o, s, _ = _solve(err[~test], c_k[~test], xd[~test], fitted, fit_slope)
            before = -err[test]
            after = -(err[test] - _correction(c_k[test], xd[test], o, s))
            all_before.append(before)
            all_after.append(after)
            rows.append({"fold": str(f), "n_points": int(test.sum()),
                         "n_blocks": int(np.unique(blocks[test]).size),
                         "rmse_before_db": _rmse(before), "rmse_after_db": _rmse(after),
                         "mean_error_before_db": _mean(before),
                         "mean_error_after_db": _mean(after),
                         **{offset_key(c): o.get(c, math.nan) for c in fitted},
                         SLOPE_KEY: s})
        b, a = np.concatenate(all_before), np.concatenate(all_after)
        rows.append({"fold": "all", "n_points": int(b.size), "n_blocks": n_blocks,
                     "rmse_before_db": _rmse(b), "rmse_after_db": _rmse(a),
                     "mean_error_before_db": _mean(b), "mean_error_after_db": _mean(a),
                     **{offset_key(c): offsets[c] for c in fitted}, SLOPE_KEY: slope})
    cv = pd.DataFrame(rows, columns=["fold", "n_points", "n_blocks", "rmse_before_db",
                                     "rmse_after_db", "mean_error_before_db",
                                     "mean_error_after_db", *[offset_key(c) for c in fitted],
                                     SLOPE_KEY])
    prev_off, prev_slope = previous_calibration(scenario)
    prev_sigma = getattr(getattr(scenario, SIGMA_SECTION, None), SIGMA_KEY, None)
    prev_sigma = None if prev_sigma is None else float(prev_sigma)
    if any(prev_off.values()) or prev_slope:
        notes.append("the scenario was calibrated already: fitted the remaining error; the "
                     "written values are the previous ones plus the fitted ones")
    sc_name = getattr(getattr(scenario, "scenario", None), "name", None)
    info = {"scenario": sc_name,
            "scenario_file": None if getattr(scenario, "path", None) is None
            else str(scenario.path),
            "measurements": points.attrs.get("source"),
            "n_test_points": int(len(points)),
            "n_without_measured_rsrp": int((~np.isfinite(meas)).sum()),
            "n_without_prediction": int((np.isfinite(meas) & ~np.isfinite(pred)).sum()),
            "n_left_out_by_class": int((usable & ~keep).sum()),
            "warnings": list(points.attrs.get("warnings", []))}
    return Calibration(
        offsets_db={c: float(offsets[c]) if c in fitted else 0.0 for c in CLASS_NAMES},
        offsets_se_db={c: se[fitted.index(c)] if c in fitted else math.nan
                       for c in CLASS_NAMES},
        slope_db_per_decade=float(slope) if fit_slope else 0.0,
        slope_se_db_per_decade=se[len(fitted)] if fit_slope else math.nan,
        sigma_db=sigma, sigma_se_db=se[len(fitted) + 1], residual_std_db=resid_std,
        noise_db=float(noise_db), n_per_class=n_per_class, classes_fitted=fitted,
        fit_slope=bool(fit_slope), n_points=int(keep.sum()), n_blocks=n_blocks,
        block_km=float(block_km), folds=k if n_blocks >= 2 else int(folds), seed=int(seed),
        cv=cv,
        previous_offsets_db=prev_off, previous_slope_db_per_decade=prev_slope,
        previous_sigma_db=prev_sigma, notes=tuple(notes), scenario=scenario, info=info)
