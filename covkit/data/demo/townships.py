"""Townships of the demo island.

``townships.gpkg`` (layer ``townships``): about 30 townships (Voronoi cells of the towns and
of mountain seeds, clipped to the pixel-exact coastline) that tile the land exactly: no
overlaps and no gaps beyond floating-point noise (< 1 m^2), every land cell centre in exactly
one township. Columns ``township_id``, ``name``, ``county``, ``source``. There is no
``remote`` column: large mountain townships fall below one fifth of the national population
density and are classified remote by the loader's density rule.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from rasterio import features

from covkit.data.demo.grid import DEMO_CRS, DEMO_TRANSFORM, SYNTHETIC_NOTE, XC_M, YC_M
from covkit.data.demo.settlements import Place, place_names
from covkit.data.demo.terrain import SEMI_A_M, SEMI_B_M, ridge_y_m


def _land_polygon(land: np.ndarray):
    """Exact outline of the land cells as one shapely Polygon (EPSG:32710)."""
    geoms = [
        shapely.geometry.shape(g)
        for g, v in features.shapes(land.astype(np.uint8), mask=land, transform=DEMO_TRANSFORM)
        if v == 1
    ]
    poly = shapely.union_all(geoms)
    if poly.geom_type != "Polygon":  # pragma: no cover - the mask is one 4-connected piece
        raise RuntimeError("demo island outline is not a single polygon")
    return poly


def townships(
    rng: np.random.Generator,
    land: np.ndarray,
    places: list[Place],
    phase: float,
) -> gpd.GeoDataFrame:
    """Voronoi townships of cities, towns and mountain seeds, clipped to the coast."""
    island = _land_polygon(land)
    seeds = [(p.x_m, p.y_m) for p in places if p.kind in ("city", "town")]
    settings = [p.setting for p in places if p.kind in ("city", "town")]
    n_mtn = 8
    xs = XC_M + np.linspace(-0.62, 0.62, n_mtn) * SEMI_A_M + rng.uniform(-1_500, 1_500, n_mtn)
    for i, xm in enumerate(xs):
        off = 2_500.0 * (1 if i % 2 else -1)
        seeds.append((float(xm), float(ridge_y_m(xm, phase)) + off))
        settings.append("mountain")
    pts = shapely.MultiPoint(seeds)
    env = shapely.box(*island.buffer(20_000.0).bounds)
    cells = shapely.voronoi_polygons(pts, extend_to=env)
    # voronoi_polygons does not keep the input order: match each cell to its seed
    cell_list = list(cells.geoms)
    seed_pts = shapely.points(np.asarray(seeds))
    polys = []
    for sp in seed_pts:
        hit = [c for c in cell_list if c.contains(sp)]
        # keep only the polygonal part of the clip (drop stray lines and points)
        parts = [g for g in shapely.get_parts(hit[0].intersection(island)) if g.area > 0.0]
        polys.append(parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts))

    # multipart pieces (the coast cut a cell): keep the largest, give the rest to the
    # neighbour that shares the longest border
    changed = True
    for _ in range(20):  # a few rounds always suffice
        if not changed:
            break
        changed = False
        for i, g in enumerate(polys):
            if g.geom_type == "Polygon":
                continue
            parts = sorted(
                (p for p in getattr(g, "geoms", []) if p.geom_type == "Polygon"),
                key=lambda p: -p.area,
            )
            polys[i] = parts[0]
            for part in parts[1:]:
                best, best_len = None, -1.0
                for j, h in enumerate(polys):
                    if j == i:
                        continue
                    shared = part.boundary.intersection(h.boundary).length
                    if shared > best_len:
                        best, best_len = j, shared
                merged = [g for g in shapely.get_parts(polys[best].union(part)) if g.area > 0]
                polys[best] = merged[0] if len(merged) == 1 else shapely.MultiPolygon(merged)
                changed = True
    polys = [shapely.make_valid(p) for p in polys]

    # counties: angular sectors around the island centre, 5 of them
    cent = np.array([[p.centroid.x, p.centroid.y] for p in polys])
    ang = np.arctan2((cent[:, 1] - YC_M) / SEMI_B_M, (cent[:, 0] - XC_M) / SEMI_A_M)
    n_county = 5
    start = rng.uniform(-np.pi, np.pi)
    county_idx = (np.floor(((ang - start) % (2 * np.pi)) / (2 * np.pi / n_county))).astype(int)
    county_names = place_names(rng, n_county, [" County"])
    order = np.lexsort((-cent[:, 1], cent[:, 0], county_idx))
    suffixes = {
        "coast": ["", "", "ton", "field", " Bay", " Harbour"],
        "valley": ["", " Valley", "ford", "bridge"],
        "mountain": [" Heights", " Highlands", " Pass", ""],
    }
    names = [place_names(rng, 1, suffixes[settings[i]])[0] for i in order]
    while len(set(names)) < len(names):  # unique names (the bare stem may repeat)
        dup = next(k for k, nm in enumerate(names) if names.count(nm) > 1)
        names[dup] = place_names(rng, 1, suffixes[settings[order[dup]]])[0]
    rows = []
    counter: dict[int, int] = {}
    for k, i in enumerate(order):
        ci = int(county_idx[i])
        counter[ci] = counter.get(ci, 0) + 1
        rows.append(
            {
                "township_id": f"D{ci + 1:02d}{counter[ci]:02d}",
                "name": names[k],
                "county": county_names[ci],
                "source": f"synthetic: {SYNTHETIC_NOTE}",
                "geometry": polys[i],
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=DEMO_CRS)
    return gdf.sort_values("township_id", kind="stable").reset_index(drop=True)
