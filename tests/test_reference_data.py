"""The reference data bundled in tests/data: every file documented in its SOURCE.md, small, and
(when ../shared is present) an exact copy of its original or of exactly the rows listed here."""

from __future__ import annotations

import pytest
from helpers.paths import DATA_DIR

# tests/data file -> the data rows (1-based, after the header line) copied from
# ../shared/validation/<same path>; None: the whole file. tests/data/SOURCE.md lists the same.
MANIFEST = {
    "itu-p1812/validation_profiles/b2iseac.csv": None,
    "itu-p1812/validation_profiles/b2iseac_rural_land_1km.csv": None,
    "itu-p1812/validation_profiles/rburg.csv": None,
    "itu-p1812/validation_profiles/rburg_rural_noclutter_los.csv": None,
    "itu-p1812/validation_profiles/rburg_urban_with_clutter_vertical.csv": None,
    "itu-p1812/validation_results/b2iseac_0_log.csv": None,
    "itu-p1812/validation_results/b2iseac_rural_land_1km_0_log.csv": None,
    "itu-p1812/validation_results/rburg_2_log.csv": None,
    "itu-p1812/validation_results/rburg_rural_noclutter_los_1_log.csv": None,
    "itu-p1812/validation_results/rburg_urban_with_clutter_vertical_3_log.csv": None,
    "itu-p452/profiles/test_profile_mixed_109km.csv": None,
    "itu-p452/profiles/test_profile_flat_land_5km.csv": None,
    "itu-p452/profiles/test_profile_flat_land_100km.csv": None,
    "itu-p452/profiles/test_profile_flat_land_5km_Dense_Urban.csv": None,
    "itu-p452/results/test_result_mixed_109km.csv": range(1, 36, 5),
    "itu-p452/results/test_result_flat_land_5km.csv": range(1, 36, 5),
    "itu-p452/results/test_result_flat_land_100km.csv": range(1, 36, 12),
    "itu-p452/results/test_result_flat_land_5km_Dense_Urban.csv": range(1, 36, 12),
    "ntia-p2108/TerrestrialStatisticalModelTestData.csv": None,
    "ntia-p2108/HeightGainTerminalCorrectionModelTestData.csv": None,
    "ntia-p2108/AeronauticalStatisticalModelTestData.csv": None,
    "itu-p2109-crc/p2109_validation.csv": range(1, 31_251, 97),
}
MAX_TOTAL_BYTES = 512 * 1024  # keep the clone small: the full sets stay in ../shared


def _bundled_files():
    return sorted(str(p.relative_to(DATA_DIR)) for p in DATA_DIR.rglob("*")
                  if p.is_file() and p.name != "SOURCE.md")


def test_every_bundled_file_is_in_the_manifest_and_in_source_md():
    assert _bundled_files() == sorted(MANIFEST)
    source_md = (DATA_DIR / "SOURCE.md").read_text(encoding="utf-8")
    for rel in MANIFEST:
        folder, _, rest = rel.partition("/")
        assert f"## {folder}/" in source_md, folder
        assert f"`{rest}" in source_md, rel


def test_bundled_data_stays_small():
    total = sum((DATA_DIR / rel).stat().st_size for rel in _bundled_files())
    assert 0 < total <= MAX_TOTAL_BYTES, f"tests/data holds {total} bytes"


@pytest.mark.parametrize("rel", sorted(MANIFEST))
def test_bundled_file_is_an_exact_copy_of_shared(rel, shared_dir):
    original = (shared_dir / "validation" / rel).read_bytes()
    bundled = (DATA_DIR / rel).read_bytes()
    rows = MANIFEST[rel]
    if rows is None:
        assert bundled == original
        return
    lines = original.splitlines(keepends=True)
    assert bundled.splitlines(keepends=True) == [lines[0], *(lines[r] for r in rows)]
